"""``uniroute select-k``: the K sweep of Appendix F.1 with the Proposition 2 diagnostic."""
from __future__ import annotations

import argparse
import time
from typing import Any

from uniroute._cli.checks import at_least, n_val
from uniroute._cli.data import load_data, need_embeddings
from uniroute._cli.trials import add_trial_arguments, check_split

DESCRIPTION = (
    "Per candidate K, averaged over the same seeded trials as 'evaluate': the validation "
    "Area Appendix F.1 maximises, the within-cluster heterogeneity, probes per cluster and "
    "their standard error (training LLMs only), how often K was chosen, and the test Area "
    "at that K (a diagnostic, never used to choose).")


def add_parser(sub: Any) -> None:
    p = sub.add_parser("select-k", description=DESCRIPTION,
                       help="why a K is chosen: the K sweep with the Proposition 2 diagnostic")
    add_trial_arguments(p, trials=20)
    p.add_argument("--n-val", type=n_val, default=None, metavar="V",
                   help="validation (probe) prompts per trial (default 10%% of the prompts)")
    p.add_argument("--grid", type=at_least(1), nargs="+", default=None, metavar="K",
                   help="candidate K values, each >= 1 (default 5 ... 300, capped by the data)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from uniroute.evaluation.k_table import format_k_table, k_selection_table
    from uniroute.evaluation.selection import DEFAULT_K_GRID

    data = load_data(args.data)
    need_embeddings(data, args.data)
    check_split(data, args.min_coverage, [args.n_val], None)
    start = time.perf_counter()
    table = k_selection_table(data, trials=args.trials, seed=args.seed, n_val=args.n_val,
                              grid=tuple(args.grid or DEFAULT_K_GRID),
                              min_coverage=args.min_coverage, n_jobs=args.jobs)
    print(f"{data.name}: K sweep of Appendix F.1 over {args.trials} trials (seed {args.seed})")
    print(format_k_table(table))
    print(f"run time: {time.perf_counter() - start:.1f} s ({args.jobs} process(es))")
    return 0
