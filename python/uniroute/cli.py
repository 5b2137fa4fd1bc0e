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


def _n_val(text: str) -> int | None:
    if text.lower() in ("all", "default"):
        return None
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number or 'all', got {text!r}")
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1 validation prompt, got {value}")
    return value


def _evaluate(args: argparse.Namespace) -> int:
    """Run the paper's protocol on a data set; print the table, write JSON / a plot."""
    import logging
    import time

    from uniroute import datasets
    from uniroute.evaluation import available_routers, evaluate, report

    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    data = datasets.load(args.data)
    if data.embeddings is None:
        print(f"data set {data.name!r} has no embeddings: add an 'embeddings' array "
              "(see uniroute.datasets) to evaluate routers on it", file=sys.stderr)
        return 2
    routers = args.routers or available_routers()
    distinct = np.unique(data.embeddings, axis=0).shape[0]
    if distinct < 0.5 * data.n_prompts:
        print(f"warning: only {distinct} distinct embeddings for {data.n_prompts} prompts",
              file=sys.stderr)
    summaries, runs = [], []
    for n_val in args.n_val or [None]:
        start = time.perf_counter()
        run = evaluate(data, trials=args.trials, seed=args.seed, routers=routers, n_val=n_val,
                       n_test_models=args.test_llms, min_coverage=args.min_coverage,
                       n_jobs=args.jobs, progress=not args.quiet)
        summary = report.summarize(run)
        summaries.append(summary)
        runs.append(run)
        print(report.format_table(summary))
        print(f"run time: {time.perf_counter() - start:.1f} s ({args.jobs} process(es))\n")
    if len(runs) > 1:
        print(_sweep_table(summaries))
    if args.json:
        report.write_json(summaries, args.json)
        print(f"per-trial results written to {args.json}")
    if args.plot:
        report.plot(runs[-1], args.plot)
        print(f"mean deferral curves drawn in {args.plot}")
    return 0


def _select_k(args: argparse.Namespace) -> int:
    """Print the K-selection table with the Proposition 2 diagnostic."""
    import time

    from uniroute import datasets
    from uniroute.evaluation.k_table import format_k_table, k_selection_table
    from uniroute.evaluation.selection import DEFAULT_K_GRID

    data = datasets.load(args.data)
    start = time.perf_counter()
    table = k_selection_table(data, trials=args.trials, seed=args.seed, n_val=args.n_val,
                              grid=tuple(args.grid or DEFAULT_K_GRID),
                              min_coverage=args.min_coverage, n_jobs=args.jobs)
    print(f"{data.name}: K sweep of Appendix F.1 over {args.trials} trials (seed {args.seed})")
    print(format_k_table(table))
    print(f"run time: {time.perf_counter() - start:.1f} s ({args.jobs} process(es))")
    return 0


def _sweep_table(summaries: list[dict]) -> str:
    """Area (mean ± band) per method against the validation size."""
    from uniroute.evaluation.report import NAMES

    methods = list(summaries[0]["methods"])
    lines = ["Area against N_val:", "N_val   " + "  ".join(f"{NAMES.get(m, m):>22}"
                                                          for m in methods)]
    for s in summaries:
        cells = []
        for m in methods:
            a = s["methods"][m]["area"]
            star = "*" if (a.get("sign_test_p_vs_knn") or 1.0) < 0.01 else " "
            cells.append(f"{a['mean']:.4f} ± {a['band']:.4f}{star}".rjust(22))
        lines.append(f"{s['n_val']:<6}  " + "  ".join(cells))
    return "\n".join(lines)


def _trial_arguments(p: argparse.ArgumentParser, trials: int) -> None:
    """The arguments 'evaluate' and 'select-k' share (the same seeded trials)."""
    p.add_argument("data", help="bundled name (uniroute.datasets.list_bundled()) or a "
                                "file/folder in a supported format")
    p.add_argument("--trials", type=int, default=trials)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--min-coverage", type=float, default=0.9,
                   help="drop LLMs labelled on fewer prompts than this share (default 0.9)")
    p.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")


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
    ev = sub.add_parser(
        "evaluate", help="run the paper's evaluation protocol (every router, every metric)",
        description="Seeded trials of the paper's protocol: LLMs split 2/3 training, 1/3 "
                    "unseen test; prompts 60/10/30 train/validation/test. Prints the table "
                    "(Area, Area(50%%), QNC, peak, AIQ; mean ± 2 s.e.; * = p < 0.01 sign test "
                    "against K-NN).")
    _trial_arguments(ev, trials=100)
    ev.add_argument("--n-val", type=_n_val, nargs="+", default=None, metavar="V",
                    help="validation (probe) prompts per trial; several values sweep it; "
                         "'all' = the default, 10%% of the prompts")
    ev.add_argument("--routers", nargs="+", default=None, metavar="NAME",
                    help="routers to compare (default: the default table; also "
                         "uniroute_backoff, uniroute_shrinkage, uniroute_shrinkage_ll, "
                         "uniroute_soft_probes: see uniroute.evaluation.estimators)")
    ev.add_argument("--test-llms", type=int, default=None,
                    help="LLMs in the test pool (default a third; 2 adds APGR and CPT)")
    ev.add_argument("--json", default=None, metavar="FILE", help="write per-trial results")
    ev.add_argument("--plot", default=None, metavar="FILE.png",
                    help="draw the mean deferral curves (needs matplotlib)")
    ev.add_argument("--quiet", action="store_true", help="no progress bar")
    ev.set_defaults(func=_evaluate)
    sk = sub.add_parser(
        "select-k", help="why a K is chosen: the K sweep with the Proposition 2 diagnostic",
        description="Per candidate K, averaged over the same seeded trials as 'evaluate': "
                    "the validation Area Appendix F.1 maximises, the within-cluster "
                    "heterogeneity, probes per cluster and their standard error (training "
                    "LLMs only), how often K was chosen, and the test Area at that K (a "
                    "diagnostic, never used to choose).")
    _trial_arguments(sk, trials=20)
    sk.add_argument("--n-val", type=_n_val, default=None, metavar="V",
                    help="validation (probe) prompts per trial (default 10%% of the prompts)")
    sk.add_argument("--grid", type=int, nargs="+", default=None, metavar="K",
                    help="candidate K values (default 5 ... 300, capped by the data)")
    sk.set_defaults(func=_select_k)
    from uniroute.serve.cli import add_parser as _add_serve  # issue 14: `uniroute serve`

    _add_serve(sub)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
