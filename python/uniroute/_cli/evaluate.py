"""``uniroute evaluate``: the paper's protocol on a data set; the table, JSON, a plot."""
from __future__ import annotations

import argparse
import logging
import sys
import time
from typing import Any

import numpy as np

from uniroute._cli.checks import at_least, n_val, output_file, plot_file
from uniroute._cli.data import load_data, need_embeddings
from uniroute._cli.errors import UsageError
from uniroute._cli.trials import add_trial_arguments, check_split

DESCRIPTION = (
    "Seeded trials of the paper's protocol: LLMs split 2/3 training, 1/3 unseen test; "
    "prompts 60/10/30 train/validation/test. Prints the table (mean over trials ± 2 "
    "standard errors; * = p < 0.01 in a paired sign test against K-NN) with a legend "
    "defining each metric and its direction.")


def add_parser(sub: Any) -> None:
    p = sub.add_parser("evaluate", description=DESCRIPTION,
                       help="run the paper's evaluation protocol (every router, every metric)")
    add_trial_arguments(p, trials=100)
    p.add_argument("--n-val", type=n_val, nargs="+", default=None, metavar="V",
                   help="validation (probe) prompts per trial; several values sweep it; "
                        "'all' = the default, 10%% of the prompts")
    p.add_argument("--routers", nargs="+", default=None, metavar="NAME",
                   help="routers to compare (default: the default table; also "
                        "uniroute_backoff, uniroute_shrinkage, uniroute_shrinkage_ll, "
                        "uniroute_soft_probes)")
    p.add_argument("--test-llms", type=at_least(1), default=None, metavar="N",
                   help="LLMs in the test pool (default a third); 2 also shows RouteLLM's "
                        "APGR and CPT for a two-LLM pool of unequal price")
    p.add_argument("--json", default=None, metavar="FILE", help="write per-trial results")
    p.add_argument("--plot", default=None, metavar="FILE.png",
                   help="draw the mean deferral curves (needs matplotlib)")
    p.add_argument("--wide", action="store_true",
                   help="show every column (peak, AIQ, QNC W-L); the default fits 100 columns")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def check_routers(names: list[str] | None) -> list[str]:
    """The routers to run; an unknown name is a usage error listing the known ones."""
    from uniroute.evaluation import available_routers
    from uniroute.evaluation.routers import router_factory

    for name in names or []:
        try:
            router_factory(name)
        except ValueError:
            known = ", ".join(available_routers(include_extra=True))
            raise UsageError(f"--routers: unknown router {name!r}; known: {known}") from None
    return list(names or available_routers())


def run(args: argparse.Namespace) -> int:
    from uniroute.evaluation import evaluate, report
    from uniroute.evaluation.runner import EvaluationInterrupted

    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    output_file("--json", args.json)
    plot_file("--plot", args.plot)
    routers = check_routers(args.routers)
    data = load_data(args.data)
    need_embeddings(data, args.data)
    n_vals = args.n_val or [None]
    check_split(data, args.min_coverage, n_vals, args.test_llms)
    distinct = np.unique(data.embeddings, axis=0).shape[0]
    if distinct < 0.5 * data.n_prompts:
        print(f"warning: only {distinct} distinct embeddings for {data.n_prompts} prompts",
              file=sys.stderr)
    pairs = args.test_llms == 2
    summaries, runs = [], []
    for v in n_vals:
        start = time.perf_counter()
        try:
            run = evaluate(data, trials=args.trials, seed=args.seed, routers=routers, n_val=v,
                           n_test_models=args.test_llms, min_coverage=args.min_coverage,
                           n_jobs=args.jobs, progress=not args.quiet)
        except EvaluationInterrupted as exc:
            _print_partial(exc, report, args, pairs)
            raise
        summary = report.summarize(run)
        summaries.append(summary)
        runs.append(run)
        print(report.format_table(summary, wide=args.wide, pair_metrics=pairs))
        print(f"run time: {time.perf_counter() - start:.1f} s ({args.jobs} process(es))\n")
    if len(runs) > 1:
        print(sweep_table(summaries))
    if args.json:
        report.write_json(summaries, args.json)
        print(f"per-trial results written to {args.json}")
    if args.plot:
        report.plot(runs[-1], args.plot)
        print(f"mean deferral curves drawn in {args.plot}")
    return 0


def _print_partial(exc: Any, report: Any, args: argparse.Namespace, pairs: bool) -> None:
    """What was finished when the run was interrupted (nothing is written to files)."""
    print(f"\ninterrupted: {exc.finished} of {exc.total} trials finished; every worker "
          "stopped; nothing written to --json/--plot", file=sys.stderr)
    if exc.run is not None and exc.finished >= 2:
        print(f"results of the {exc.finished} finished trials:")
        print(report.format_table(report.summarize(exc.run), wide=args.wide,
                                  pair_metrics=pairs))
    sys.stdout.flush()


def sweep_table(summaries: list[dict]) -> str:
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
