"""Routing parity of the shipped static encoder against a reference encoder (paired trials).

Usage:
    python tools/encoder_parity.py zeroeval_math_code --trials 100 --jobs 2 --json OUT.json
    python tools/encoder_parity.py routerbench_partial --trials 100 --jobs 2 --json OUT.json
    python tools/encoder_parity.py ../shared/data/routerdc_7models --trials 20 --jobs 2 \\
        --metric peak --json OUT.json

For each data set the paper's protocol (``uniroute.evaluation.evaluate``, seed 0) runs
twice with the same seeded splits: once on the data set's own embeddings (USE for the
bundled sets, all-MiniLM-L6-v2 for routerdc_7models) and once on the static encoder's
embeddings of the same prompt texts. Trial ``t`` uses the same prompts and LLMs in both
runs, so the per-trial difference of a metric is paired. The JSON holds, per router, the
mean of each run, the mean paired difference (static minus reference) with 2 standard
errors, wins, and the per-trial values. ``tools/encoder_table.py`` turns it into the
table of docs/encoders.md.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np
from uniroute import datasets, encoders
from uniroute.evaluation import evaluate

ROUTERS = ["knn", "uniroute_kmeans", "uniroute_learned_map"]


def per_trial(run, method: str, metric: str) -> np.ndarray:
    return np.array([t.metrics[method][metric] for t in run.trials], dtype=float)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("data", help="bundled name or a shared data folder")
    ap.add_argument("--trials", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--metric", default="area", choices=["area", "peak", "area50", "aiq"])
    ap.add_argument("--routers", nargs="+", default=ROUTERS, choices=ROUTERS)
    ap.add_argument("--json", required=True)
    args = ap.parse_args()
    data = datasets.load(args.data)
    if data.prompts is None or data.embeddings is None:
        print(f"{args.data}: needs prompt texts and reference embeddings", file=sys.stderr)
        return 2
    enc = encoders.static()
    start = time.perf_counter()
    S = enc.encode(data.prompts)
    encode_s = time.perf_counter() - start
    static = dataclasses.replace(data, embeddings=S, encoder=enc.name)
    runs = {}
    for label, d in (("reference", data), ("static", static)):
        t0 = time.perf_counter()
        runs[label] = evaluate(d, trials=args.trials, seed=args.seed, routers=args.routers,
                               n_jobs=args.jobs)
        print(f"{label}: {time.perf_counter() - t0:.0f} s", flush=True)
    out = {"dataset": data.name, "trials": args.trials, "seed": args.seed,
           "metric": args.metric, "reference_encoder": data.encoder, "static_encoder": enc.name,
           "static_encode_seconds": encode_s, "n_prompts": data.n_prompts, "methods": {}}
    for m in args.routers:
        ref, sta = per_trial(runs["reference"], m, args.metric), per_trial(runs["static"], m,
                                                                           args.metric)
        diff = sta - ref
        se2 = float(2 * diff.std(ddof=1) / np.sqrt(diff.size)) if diff.size > 1 else float("nan")
        out["methods"][m] = {
            "reference_mean": float(ref.mean()), "static_mean": float(sta.mean()),
            "diff_mean": float(diff.mean()), "diff_2se": se2,
            "static_better": int((diff > 0).sum()), "static_worse": int((diff < 0).sum()),
            "reference": ref.tolist(), "static": sta.tolist()}
        print(f"{m:22s} ref {ref.mean():.4f} static {sta.mean():.4f} "
              f"diff {diff.mean():+.4f} ± {se2:.4f}")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
