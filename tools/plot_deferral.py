"""Draw mean deferral curves from ``docs/results/curves/<data set>.json``.

    python tools/plot_deferral.py [zeroeval_math_code] [-o docs/img/deferral_zeroeval.png]

The JSON is written by ``tools/make_docs_results.py`` (each method's mean curve over the
trials and its ±2 s.e. band on a normalised-cost grid); needs matplotlib.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NAMES = {"zero_router": "ZeroRouter", "knn": "K-NN", "uniroute_kmeans": "UniRoute (K-means)",
         "uniroute_learned_map": "UniRoute (LearnedMap)", "clairvoyant": "Clairvoyant (logistic)",
         "random": "Random", "best_single": "Best single LLM", "oracle": "Oracle"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dataset", nargs="?", default="zeroeval_math_code")
    ap.add_argument("-o", "--output", default=str(ROOT / "docs" / "img" / "deferral_zeroeval.png"))
    args = ap.parse_args()
    doc = json.loads((ROOT / "docs" / "results" / "curves" / f"{args.dataset}.json").read_text())
    cost = doc["cost"]
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for m, c in doc["methods"].items():
        lo = [q - b for q, b in zip(c["quality"], c["band"])]
        hi = [q + b for q, b in zip(c["quality"], c["band"])]
        line, = ax.plot(cost, c["quality"], lw=1.5, label=NAMES.get(m, m),
                        ls="--" if m in ("oracle", "clairvoyant", "random") else "-")
        ax.fill_between(cost, lo, hi, color=line.get_color(), alpha=0.12)
    ax.set_xlabel("cost (normalised by the priciest test LLM)")
    ax.set_ylabel("quality on test prompts (unseen LLMs)")
    ax.set_title(f"{doc['dataset']}: mean of {doc['trials']} trials, {doc['n_val']} probes")
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(args.output, dpi=100)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
