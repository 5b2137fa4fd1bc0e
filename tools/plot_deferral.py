"""Draw mean deferral curves from ``docs/results/curves/<data set>.json``.

    python tools/plot_deferral.py [zeroeval_math_code] [-o docs/img/deferral_zeroeval.png]

The JSON is written by ``tools/make_docs_results.py`` (each method's mean curve over the
trials and its ±2 s.e. band on a normalised-cost grid); needs matplotlib.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from uniroute.evaluation.report import draw_curves

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dataset", nargs="?", default="zeroeval_math_code")
    ap.add_argument("-o", "--output", default=str(ROOT / "docs" / "img" / "deferral_zeroeval.png"))
    args = ap.parse_args()
    doc = json.loads((ROOT / "docs" / "results" / "curves" / f"{args.dataset}.json").read_text())
    curves = {m: (c["quality"], c["band"]) for m, c in doc["methods"].items()}
    draw_curves(doc["cost"], curves, f"{doc['dataset']}: mean of {doc['trials']} trials, "
                f"{doc['n_val']} probes", args.output, dpi=100)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
