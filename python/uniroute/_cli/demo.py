"""``uniroute demo``: fit a router on a data set, add its LLMs from probe answers, sweep lam."""
from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from uniroute._cli.checks import at_least, output_file
from uniroute._cli.data import load_data, need_embeddings
from uniroute._cli.errors import UsageError


def add_parser(sub: Any) -> None:
    p = sub.add_parser("demo", help="route a bundled real data set across a lam sweep",
                       description="Fit a router on 60% of the prompts, add every LLM from "
                                   "its answers on 10%, and show quality and cost on the "
                                   "remaining 30% for a sweep of lam.")
    p.add_argument("--dataset", default="routerbench_partial",
                   help="bundled name or data file (default: routerbench_partial)")
    p.add_argument("--n-clusters", type=at_least(1), default=8, help="K (default 8)")
    p.add_argument("--seed", type=at_least(0), default=0)
    p.add_argument("--points", type=at_least(1), default=10, help="lam values to show")
    p.add_argument("--save", default=None, metavar="FILE",
                   help="write the fitted router to this file")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from uniroute import UniRouter

    output_file("--save", args.save)
    data = load_data(args.dataset)
    need_embeddings(data, args.dataset)
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(data.n_prompts)
    n_train, n_val = int(0.6 * data.n_prompts), int(0.1 * data.n_prompts)
    if args.n_clusters > n_train:
        raise UsageError(f"--n-clusters {args.n_clusters} exceeds the {n_train} training "
                         "prompts; choose fewer clusters")
    train, val, test = np.split(order, [n_train, n_train + n_val])
    router = UniRouter(n_clusters=args.n_clusters, random_state=args.seed,
                       encoder=data.encoder).fit(data.embeddings[train])
    val_cost = data.model_cost(val)
    for m, name in enumerate(data.models):
        router.add_model(name, val_cost[m], data.embeddings[val], data.quality[val, m])
    quality = np.nan_to_num(data.quality[test], nan=0.0)
    cost = data.cost[test] if data.cost.ndim == 2 else np.broadcast_to(data.cost, quality.shape)
    cost = np.nan_to_num(cost, nan=0.0)
    rows = np.arange(test.size)
    print(f"{data.name}: {data.n_prompts} prompts, {data.n_models} LLMs; K = {args.n_clusters}; "
          f"train/probe/test = {train.size}/{val.size}/{test.size} prompts")
    best = int(np.argmax(quality.mean(0)))
    print(f"best single LLM on test: {data.models[best]} quality {quality[:, best].mean():.4f} "
          f"mean cost {cost[:, best].mean():.3g}")
    print(f"{'lam':>10} {'quality':>8} {'mean cost':>10}  most used LLM")
    for lam in lam_grid(router, args.points):
        idx = router.route_indices(data.embeddings[test], lam=float(lam))
        top = np.bincount(idx, minlength=data.n_models).argmax()
        share = np.mean(idx == top)
        print(f"{lam:10.3g} {quality[rows, idx].mean():8.4f} {cost[rows, idx].mean():10.3g}  "
              f"{data.models[top]} ({share:.0%})")
    if args.save:
        router.save(args.save)
        print(f"router saved to {args.save}")
    return 0


def lam_grid(router: Any, points: int) -> list[float]:
    """lam values between the breakpoints of the router's exact lam-path."""
    path = router.route_path()
    breaks = np.unique(path.lam_hi[np.isfinite(path.lam_hi)])
    if breaks.size == 0:
        return [0.0]
    mids = np.concatenate([[0.0], np.sqrt(breaks[:-1] * breaks[1:]), [2 * breaks[-1]]])
    pick = np.unique(np.linspace(0, mids.size - 1, min(points, mids.size)).round().astype(int))
    return [float(v) for v in mids[pick]]
