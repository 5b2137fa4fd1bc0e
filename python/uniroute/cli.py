"""The ``uniroute`` command."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import numpy as np


def _demo(args: argparse.Namespace) -> int:
    """Fit a router on a data set, add its LLMs from probe answers, sweep lam."""
    from uniroute import UniRouter, datasets

    data = datasets.load(args.dataset)
    if data.embeddings is None:
        print(f"data set {data.name!r} has no embeddings", file=sys.stderr)
        return 2
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(data.n_prompts)
    n_train, n_val = int(0.6 * data.n_prompts), int(0.1 * data.n_prompts)
    train, val, test = np.split(order, [n_train, n_train + n_val])
    router = UniRouter(n_clusters=args.n_clusters, random_state=args.seed,
                       encoder=data.encoder).fit(data.embeddings[train])
    val_cost = data.model_cost(val)
    for m, name in enumerate(data.models):
        router.add_model(name, val_cost[m], data.embeddings[val], data.quality[val, m])
    quality = np.nan_to_num(data.quality[test], nan=0.0)
    cost = data.cost[test] if data.cost.ndim == 2 else np.broadcast_to(data.cost, quality.shape)
    rows = np.arange(test.size)
    print(f"{data.name}: {data.n_prompts} prompts, {data.n_models} LLMs; K = {args.n_clusters}; "
          f"train/probe/test = {train.size}/{val.size}/{test.size} prompts")
    best = int(np.argmax(quality.mean(0)))
    print(f"best single LLM on test: {data.models[best]} quality {quality[:, best].mean():.4f} "
          f"mean cost {cost[:, best].mean():.3g}")
    print(f"{'lam':>10} {'quality':>8} {'mean cost':>10}  most used LLM")
    for lam in _lam_grid(router, args.points):
        idx = router.route_indices(data.embeddings[test], lam=float(lam))
        top = np.bincount(idx, minlength=data.n_models).argmax()
        share = np.mean(idx == top)
        print(f"{lam:10.3g} {quality[rows, idx].mean():8.4f} {cost[rows, idx].mean():10.3g}  "
              f"{data.models[top]} ({share:.0%})")
    if args.save:
        router.save(args.save)
        print(f"router saved to {args.save}")
    return 0


def _lam_grid(router: object, points: int) -> list[float]:
    """lam values between the breakpoints of the router's exact lam-path."""
    path = router.route_path()  # type: ignore[attr-defined]
    breaks = np.unique(path.lam_hi[np.isfinite(path.lam_hi)])
    if breaks.size == 0:
        return [0.0]
    mids = np.concatenate([[0.0], np.sqrt(breaks[:-1] * breaks[1:]), [2 * breaks[-1]]])
    pick = np.unique(np.linspace(0, mids.size - 1, min(points, mids.size)).round().astype(int))
    return [float(v) for v in mids[pick]]


def main(argv: Sequence[str] | None = None) -> int:
    from uniroute import __version__

    parser = argparse.ArgumentParser(prog="uniroute", description=__doc__)
    parser.add_argument("--version", action="version", version=f"uniroute {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="route a bundled real data set across a lam sweep")
    demo.add_argument("--dataset", default="routerbench_partial",
                      help="bundled name or .npz path (default: routerbench_partial)")
    demo.add_argument("--n-clusters", type=int, default=8)
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--points", type=int, default=10, help="lam values to show")
    demo.add_argument("--save", default=None, help="write the fitted router to this file")
    demo.set_defaults(func=_demo)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
