"""Run the evaluation on the bundled data and write what the docs show.

    python tools/make_docs_results.py [--trials 30] [--jobs 2]

writes ``docs/results/<data set>.json`` (the ``--json`` of ``uniroute evaluate``) and
``docs/results/curves/<data set>.json`` (each method's mean deferral curve and its band on
a cost grid) for both bundled data sets. From those files alone, ``tools/results_tables.py``
writes ``docs/research/results.md`` and ``tools/plot_deferral.py`` draws the README's
picture ``docs/img/deferral_zeroeval.png``. Nothing here is typed by hand.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

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
        grid = np.linspace(0.0, 1.0, 101)
        curves = {m: {"quality": mean.tolist(), "band": band.tolist()}
                  for m, (mean, band) in report.mean_curves(run, grid).items()}
        doc = {"dataset": run.dataset, "trials": len(run.trials), "n_val": run.n_val,
               "cost": grid.tolist(), "methods": curves}
        folder = ROOT / "docs" / "results" / "curves"
        folder.mkdir(exist_ok=True)
        (folder / f"{name}.json").write_text(json.dumps(doc) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
