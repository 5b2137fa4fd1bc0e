"""docs/quality.md's tables, generated from `uniroute evaluate --json` output (issue 13).

    python tools/quality_tables.py docs/data/zeroeval_math_code.json \
        docs/data/routerbench_partial.json ... [--sweep docs/data/sweep_*.json] \
        [--timing docs/data/selection_timing.json] [--into docs/quality.md]

Per data set: every method's Area (mean ± 2 s.e.), its paired win-loss count and sign-test
p against K-NN, the trials where its curve never reaches the best test LLM's quality
(QNC "not reached"), and the gap it closes from the best single LLM to the clairvoyant
reference and to the oracle (ratio of the mean Areas). Then the issue's targets, checked.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

BEGIN, END = "<!-- tables:begin -->", "<!-- tables:end -->"
NAMES = {
    "zero_router": "ZeroRouter", "knn": "K-NN", "uniroute_kmeans": "UniRoute (K-means)",
    "uniroute_learned_map": "UniRoute (LearnedMap)",
    "uniroute_kmeans_f1": "UniRoute (K-means), F.1",
    "uniroute_learned_map_f1": "UniRoute (LearnedMap), F.1",
    "uniroute_kmeans_safe": "UniRoute (K-means), safe",
    "uniroute_learned_map_safe": "UniRoute (LearnedMap), safe",
    "clairvoyant": "Clairvoyant (logistic)", "random": "Random",
    "best_single": "Best single LLM", "oracle": "Oracle"}


def sign_p(a: np.ndarray, b: np.ndarray) -> tuple[int, int, float]:
    wins, losses = int((a > b).sum()), int((a < b).sum())
    n = wins + losses
    tail = sum(math.comb(n, i) for i in range(min(wins, losses) + 1))
    return wins, losses, (min(1.0, 2.0 * tail / 2**n) if n else 1.0)


def per_trial(entry: dict[str, Any], key: str = "area") -> np.ndarray:
    return np.array(entry[key]["per_trial"], dtype=np.float64)


def dataset_table(doc: dict[str, Any]) -> list[str]:
    methods = doc["methods"]
    knn = per_trial(methods["knn"])
    base = float(np.mean(per_trial(methods["best_single"]))) if "best_single" in methods else None
    refs = {r: float(np.mean(per_trial(methods[r]))) for r in ("clairvoyant", "oracle")
            if r in methods}
    d = doc["details"]
    out = [f"### {doc['dataset']}", "",
           (f"{doc['trials']} trials, seed {doc['seed']}; {d['split']['train_llms']} training / "
            f"{d['split']['test_llms']} test LLMs; {d['split']['train']} train / {doc['n_val']} "
            f"validation (probe) / {d['split']['test']} test prompts; cost: {d['cost']}"), "",
           ("| method | Area | W-L vs K-NN | p | curve misses best test LLM | gap closed to "
            "clairvoyant | to oracle |"), "|---|---|---|---|---|---|---|"]
    for m, entry in methods.items():
        a = per_trial(entry)
        band = 2 * a.std(ddof=1) / math.sqrt(a.size) if a.size > 1 else 0.0
        w, l, p = sign_p(a, knn) if m != "knn" else (0, 0, 1.0)
        wl = "-" if m == "knn" else f"{w}-{l}"
        ps = "-" if m == "knn" else (f"**{p:.2g}**" if p < 0.01 else f"{p:.2g}")
        miss = entry["qnc"]["not_reached"]
        gaps = ["-", "-"]
        if base is not None:
            for i, r in enumerate(("clairvoyant", "oracle")):
                if r in refs and refs[r] != base and m not in ("best_single", r):
                    gaps[i] = f"{(a.mean() - base) / (refs[r] - base):.0%}"
        out.append(f"| {NAMES.get(m, m)} | {a.mean():.4f} ± {band:.4f} | {wl} | {ps} | "
                   f"{miss} | {gaps[0]} | {gaps[1]} |")
    out += ["", "Chosen settings (per trial; training LLMs only):", ""]
    for m in ("uniroute_kmeans", "uniroute_kmeans_safe", "uniroute_kmeans_f1", "knn"):
        chosen = methods.get(m, {}).get("chosen", [])
        if not chosen:
            continue
        parts = []
        for key in ("n_clusters", "shrinkage", "n_neighbors", "safe_level"):
            vals = [c[key] for c in chosen if c.get(key) is not None]
            if vals:
                parts.append(f"{key} median {np.median(vals):g} (range {min(vals):g}-"
                             f"{max(vals):g})")
        soft = [c["soft_probes"] for c in chosen if "soft_probes" in c]
        if soft:
            parts.append(f"soft probes in {sum(soft)} of {len(soft)} trials")
        secs = [c["selection_seconds"] for c in chosen if "selection_seconds" in c]
        if secs:
            parts.append(f"selection {np.mean(secs):.1f} s per trial (wall, shared cores)")
        out.append(f"- {NAMES[m]}: " + "; ".join(parts))
    out += ["", *targets(doc), ""]
    return out


def targets(doc: dict[str, Any]) -> list[str]:
    methods = doc["methods"]
    knn = per_trial(methods["knn"])
    miss_knn = methods["knn"]["qnc"]["not_reached"]
    out = ["Targets of issue 13 on this data set:", ""]
    for m in ("uniroute_kmeans", "uniroute_learned_map"):
        if m not in methods:
            continue
        w, l, p = sign_p(per_trial(methods[m]), knn)
        worse = p < 0.01 and l > w
        better = p < 0.01 and w > l
        miss = methods[m]["qnc"]["not_reached"]
        out.append(f"- {NAMES[m]} vs K-NN: {w}-{l}, p = {p:.2g}: "
                   f"{'**worse at p < 0.01 (target missed)**' if worse else 'not worse'}"
                   f"{', better at p < 0.01' if better else ''}; curve misses the best test "
                   f"LLM in {miss} trials against K-NN's {miss_knn} "
                   f"({'met' if miss <= miss_knn else f'**missed by {miss - miss_knn}**'})")
    for m in ("uniroute_kmeans_safe", "uniroute_learned_map_safe"):
        if m in methods:
            miss = methods[m]["qnc"]["not_reached"]
            cost = np.mean(per_trial(methods[m]) - per_trial(
                methods[m.replace("_safe", "")]))
            ok = miss <= 0.05 * doc["trials"]
            out.append(f"- {NAMES[m]}: misses in {miss} of {doc['trials']} trials (target "
                       f"<= 5 in 100: {'met' if ok else '**missed**'}); its Area cost "
                       f"against the same router without it: {cost:+.4f}")
    if "best_single" in methods:
        n = methods["best_single"]["qnc"]["not_reached"]
        out.append(f"- Best single LLM (chosen on the probes) itself misses in {n} trials"
                   + (": the validation-best LLM is not the test-best there" if n else ""))
    return out


def sweep_table(doc: dict[str, Any]) -> list[str]:
    runs = doc["runs"]
    methods = [m for m in runs[0]["methods"] if m != "oracle"]
    out = [f"### N_val sweep: {doc['dataset']} ({runs[0]['trials']} trials per row)", "",
           "| N_val | " + " | ".join(NAMES.get(m, m) for m in methods) + " |",
           "|---|" + "---|" * len(methods)]
    for run in runs:
        knn = per_trial(run["methods"]["knn"])
        cells = []
        for m in methods:
            a = per_trial(run["methods"][m])
            cell = f"{a.mean():.4f}"
            if m != "knn":
                w, l, p = sign_p(a, knn)
                cell += f" ({w}-{l}{'*' if p < 0.01 else ''})"
            cells.append(cell)
        out.append(f"| {run['n_val']} | " + " | ".join(cells) + " |")
    out += ["", "(W-L against K-NN, paired by trial; * p < 0.01, two-sided sign test)", ""]
    return out


def timing_table(doc: dict[str, Any]) -> list[str]:
    out = ["### Run time of the selection", "",
           ("| data set | trials | F.1 `select_n_clusters` (CPU s) | probe-aware "
            "`select_hyperparameters` (CPU s) | ratio |"), "|---|---|---|---|---|"]
    for row in doc["rows"]:
        out.append(f"| {row['dataset']} | {row['trials']} | {row['f1']:.2f} | "
                   f"{row['probe']:.2f} | {row['probe'] / row['f1']:.2f} |")
    return out + ["", doc.get("note", ""), ""]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("runs", nargs="*", type=Path)
    ap.add_argument("--sweep", nargs="*", type=Path, default=[])
    ap.add_argument("--timing", type=Path, default=None)
    ap.add_argument("--into", type=Path, default=None,
                    help="replace the text between the table markers of this file")
    args = ap.parse_args(argv)
    lines = ["<!-- generated by tools/quality_tables.py from docs/data/*.json; do not edit -->",
             ""]
    for path in args.runs:
        lines += dataset_table(json.loads(path.read_text()))
    for path in args.sweep:
        lines += sweep_table(json.loads(path.read_text()))
    if args.timing:
        lines += timing_table(json.loads(args.timing.read_text()))
    text = "\n".join(lines) + "\n"
    if args.into is None:
        sys.stdout.write(text)
        return 0
    doc = args.into.read_text(encoding="utf-8")
    head, rest = doc.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    args.into.write_text(head + BEGIN + "\n" + text + END + tail, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
