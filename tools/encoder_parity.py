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

Extending a run without repeating it (``--extend``): the trials of a previous parity JSON,
then static-encoder trials saved one by one by
``tools/run_trials.py DATA --encoder static --start N ... --out DIR``, paired with the
reference values of an ``uniroute evaluate --json`` (or ``run_trials.py --merge --json``)
file of the same seed on the data set's own embeddings -- which must equal the previous
JSON's reference values on the trials they share (checked):

    python tools/encoder_parity.py routerbench_partial --extend OLD.json \
        --reference docs/data/routerbench_partial.json --static-trials runs/rb_static \
        --routers knn uniroute_kmeans_f1 --json OUT.json
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

ROUTERS = ["knn", "uniroute_kmeans", "uniroute_learned_map", "uniroute_kmeans_f1",
           "uniroute_learned_map_f1"]


def per_trial(run, method: str, metric: str) -> np.ndarray:
    return np.array([t.metrics[method][metric] for t in run.trials], dtype=float)


def method_entry(ref: np.ndarray, sta: np.ndarray) -> dict:
    """Means, the paired difference (static minus reference) with 2 s.e., wins, values."""
    diff = sta - ref
    se2 = float(2 * diff.std(ddof=1) / np.sqrt(diff.size)) if diff.size > 1 else float("nan")
    return {"reference_mean": float(ref.mean()), "static_mean": float(sta.mean()),
            "diff_mean": float(diff.mean()), "diff_2se": se2,
            "static_better": int((diff > 0).sum()), "static_worse": int((diff < 0).sum()),
            "reference": ref.tolist(), "static": sta.tolist()}


def extend(args: argparse.Namespace) -> int:
    """The previous parity JSON's trials plus static trials from files (see the module doc)."""
    old = json.loads(Path(args.extend).read_text())
    ref_run = json.loads(Path(args.reference).read_text())
    if ref_run.get("seed") != old["seed"] or old["metric"] != args.metric:
        raise SystemExit("--reference and --extend differ in seed or metric")
    trials = [json.loads(f.read_text())
              for f in sorted(Path(args.static_trials).glob("trial_*.json"))]
    static = {t["index"]: t["metrics"] for t in trials}
    out = {k: v for k, v in old.items() if k != "methods"}
    out["methods"], counts = {}, []
    for m in args.routers:
        prev = old["methods"].get(m, {"reference": [], "static": []})
        n0 = len(prev["static"])
        ref_all = np.asarray(ref_run["methods"][m][args.metric]["per_trial"], dtype=float)
        if n0 and not np.allclose(ref_all[:n0], prev["reference"], rtol=0, atol=1e-6):
            raise SystemExit(f"{m}: --reference differs from the previous reference values")
        new = []
        for t in range(n0, ref_all.size):
            if t not in static or m not in static[t]:
                break
            new.append(static[t][m][args.metric])
        n = n0 + len(new)
        sta = np.asarray(list(prev["static"]) + new, dtype=float)
        out["methods"][m] = method_entry(ref_all[:n], sta)
        counts.append(n)
        print(f"{m:24s} {n0} previous + {len(new)} new trials: diff "
              f"{out['methods'][m]['diff_mean']:+.4f} ± {out['methods'][m]['diff_2se']:.4f}")
    if len(set(counts)) != 1:
        raise SystemExit(f"routers have different trial counts {counts}: one JSON per count")
    out["trials"] = counts[0]
    Path(args.json).write_text(json.dumps(out, indent=1))
    return 0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("data", help="bundled name or a shared data folder")
    ap.add_argument("--trials", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--metric", default="area", choices=["area", "peak", "area50", "aiq"])
    ap.add_argument("--routers", nargs="+", default=ROUTERS, choices=ROUTERS)
    ap.add_argument("--json", required=True)
    ap.add_argument("--extend", default=None, metavar="OLD.json")
    ap.add_argument("--reference", default=None, metavar="EVALUATE.json")
    ap.add_argument("--static-trials", default=None, metavar="DIR")
    args = ap.parse_args()
    if args.extend:
        if not (args.reference and args.static_trials):
            ap.error("--extend needs --reference and --static-trials")
        return extend(args)
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
        out["methods"][m] = e = method_entry(ref, sta)
        print(f"{m:22s} ref {ref.mean():.4f} static {sta.mean():.4f} "
              f"diff {e['diff_mean']:+.4f} ± {e['diff_2se']:.4f}")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
