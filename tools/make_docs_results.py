"""Run the evaluation on the bundled data and write what the docs show.

    python tools/make_docs_results.py [--trials 30] [--jobs 2]

writes ``docs/results/<data set>.json`` (the ``--json`` of ``uniroute evaluate``) for both
bundled data sets and the README's picture ``docs/img/deferral_zeroeval.png`` (the mean
deferral curves on ``zeroeval_math_code``). ``tools/results_tables.py`` turns the JSON
into ``docs/research/results.md``. Nothing here is typed by hand.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from uniroute import datasets
from uniroute.evaluation import evaluate, report

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=30)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    for name in datasets.list_bundled():
        run = evaluate(datasets.load(name), trials=args.trials, seed=args.seed,
                       n_jobs=args.jobs, progress=True)
        summary = report.summarize(run)
        report.write_json([summary], ROOT / "docs" / "results" / f"{name}.json")
        print(report.format_table(summary))
        if name == "zeroeval_math_code":
            report.plot(run, ROOT / "docs" / "img" / "deferral_zeroeval.png")


if __name__ == "__main__":
    main()
