"""The few-probes table: Area per per-cluster error estimator against N_val (a tool).

Usage: python tools/estimator_table.py SWEEP.json [--reference NAME]

Reads the file that ``uniroute evaluate DATA --n-val ... --routers ... --json SWEEP.json``
writes and prints, per validation size, each UniRoute variant's mean Area over trials
(± 2 standard errors) with its paired wins-losses against the reference (fixed shrinkage
1, ``uniroute_shrinkage``, when the file has it; else ``uniroute_kmeans``) and ``*`` where
the two-sided sign test gives p < 0.01; K-NN's Area for comparison. ``uniroute_kmeans``
and ``uniroute_learned_map`` use whatever their default shrinkage was when the file was
written (1 before the few-probes comparison, held-out likelihood since).
"""
from __future__ import annotations

import argparse
import json

from uniroute.evaluation.report import NAMES, sign_test, wins_losses

ORDER = ("uniroute_backoff", "uniroute_shrinkage", "uniroute_kmeans", "uniroute_shrinkage_ll",
         "uniroute_soft_probes", "uniroute_learned_map", "knn")
LABELS = {"uniroute_kmeans": "UniRoute (K-means)", "uniroute_learned_map": "UniRoute (LearnedMap)"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("path")
    parser.add_argument("--reference", default=None,
                        help="method the W-L is counted against (default: uniroute_shrinkage "
                             "if the file has it, else uniroute_kmeans)")
    parser.add_argument("--metric", default="area")
    args = parser.parse_args()
    with open(args.path, encoding="utf-8") as f:
        data = json.load(f)
    runs = data.get("runs", [data])
    methods = [m for m in ORDER if m in runs[0]["methods"]]
    if args.reference is None:
        args.reference = ("uniroute_shrinkage" if "uniroute_shrinkage" in runs[0]["methods"]
                          else "uniroute_kmeans")
    head = f"{'N_val':>6}  " + "  ".join(f"{LABELS.get(m, NAMES.get(m, m)):>27}" for m in methods)
    print(f"{data.get('dataset', runs[0].get('dataset'))}: {args.metric} (mean ± 2 s.e.; W-L "
          f"against {LABELS.get(args.reference, args.reference)}, * p < 0.01)")
    print(head)
    for run in runs:
        ref = run["methods"][args.reference][args.metric]["per_trial"]
        cells = []
        for m in methods:
            stat = run["methods"][m][args.metric]
            mean, band = stat["mean"], stat["band"]
            if m == args.reference:
                cells.append(f"{mean:.4f} ± {band:.4f}        ")
                continue
            w, losses = wins_losses(stat["per_trial"], ref)
            star = "*" if sign_test(stat["per_trial"], ref) < 0.01 else " "
            cells.append(f"{mean:.4f} ± {band:.4f} {w:>2}-{losses:<2}{star}")
        print(f"{run['n_val']:>6}  " + "  ".join(f"{c:>27}" for c in cells))
    print(f"trials per row: {len(ref)}")


if __name__ == "__main__":
    main()
