"""Diagnostic (not a tuning step): UniRoute (K-means) at fixed K next to the per-trial K choice.

Usage: python tools/diagnose_k.py [DATA] [--trials N] [--seed S] [--k 5 10 20 50 100]

Runs the same seeded trials as ``uniroute evaluate`` (trial t of N uses
SeedSequence(seed).spawn(N)[t], so the first N trials of a longer run are the same) with
K-NN, UniRoute with K chosen per trial (Appendix F.1, the reported method) and UniRoute
at each fixed K. It reads test scores of several K at once: use it to explain a result,
never to pick K for a reported number.
"""
from __future__ import annotations

import argparse
import functools

from uniroute import datasets
from uniroute.evaluation import evaluate
from uniroute.evaluation.report import format_table, summarize
from uniroute.evaluation.routers import UniRouteKMeans


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("data", nargs="?", default="zeroeval_math_code")
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-val", type=int, default=None)
    parser.add_argument("--k", type=int, nargs="+", default=[5, 10, 20, 50, 100])
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    routers = ["knn", "uniroute_kmeans"] + [
        (f"uniroute_k{k}", functools.partial(UniRouteKMeans, n_clusters=k)) for k in args.k]
    run = evaluate(datasets.load(args.data), trials=args.trials, seed=args.seed,
                   routers=routers, n_val=args.n_val, n_jobs=args.jobs)
    print(format_table(summarize(run)))


if __name__ == "__main__":
    main()
