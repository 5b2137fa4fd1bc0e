"""Run a range of `uniroute evaluate`'s trials, saving each as it finishes; merge them.

    python tools/run_trials.py routerbench_partial --start 0 --stop 100 --out runs/rb
    python tools/run_trials.py routerbench_partial --merge runs/rb --json rb.json

Trial t is the same trial as in ``uniroute evaluate DATA --seed S`` with any number of
trials above t (``SeedSequence(S).spawn(n)[t]`` does not depend on n), so trials run in
pieces -- or cut short on a shared machine -- merge into the table the CLI prints for the
first N trials; ``--merge`` takes every trial it finds and names their indices.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from uniroute import datasets
from uniroute.evaluation import report
from uniroute.evaluation.protocol import make_split, prepare_dataset
from uniroute.evaluation.runner import EvaluationRun, TrialResult, resolve_routers, run_trial


def run(args: argparse.Namespace) -> None:
    data, _ = prepare_dataset(datasets.load(args.data))
    seeds = np.random.SeedSequence(args.seed).spawn(args.stop)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    specs = resolve_routers(args.routers)
    for t in range(args.start, args.stop):
        path = out / f"trial_{t:04d}.json"
        if path.exists():
            continue
        res = run_trial(data, t, seeds[t], specs, args.n_val)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"index": res.index, "metrics": res.metrics,
                                   "curves": res.curves, "info": res.info}, default=float))
        tmp.replace(path)


def _ranges(idx: list[int]) -> str:
    parts, start = [], idx[0]
    for a, b in zip(idx, idx[1:] + [None]):
        if b != a + 1:
            parts.append(f"{start}-{a}" if a != start else f"{a}")
            start = b
    return ", ".join(parts)


def merge(args: argparse.Namespace) -> None:
    data, dropped = prepare_dataset(datasets.load(args.data))
    trials = []
    for path in sorted(Path(args.merge).glob("trial_*.json")):
        d = json.loads(path.read_text())
        trials.append(TrialResult(d["index"], d["metrics"], d["curves"], d["info"]))
    if not trials:
        raise SystemExit(f"no trial_*.json in {args.merge}")
    idx = [t.index for t in trials]
    print(f"{len(trials)} trials: indices {_ranges(idx)}")
    first = make_split(data, np.random.default_rng(np.random.SeedSequence(args.seed).spawn(1)[0]),
                       args.n_val)
    details = {"n_prompts": data.n_prompts, "n_models": data.n_models,
               "dropped_models": dropped, "cost": data.cost_note or "as given",
               "encoder": data.encoder,
               "split": {"train_llms": int(first.train_models.size),
                         "test_llms": int(first.test_models.size), "train": int(first.train.size),
                         "val": int(first.val.size), "test": int(first.test.size)},
               "seconds": float(sum(sum(t.info["seconds"].values()) for t in trials)),
               "n_jobs": 1}
    methods = list(trials[0].metrics)
    ev = EvaluationRun(data.name, trials, int(first.val.size), args.seed, methods, details)
    summary = report.summarize(ev)
    if args.json:
        report.write_json([summary], args.json)
    print(report.format_table(summary))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("data")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n-val", type=int, default=None)
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--stop", type=int, default=100)
    ap.add_argument("--routers", nargs="+", default=None)
    ap.add_argument("--out", default=None)
    ap.add_argument("--merge", default=None)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    if args.merge:
        merge(args)
    else:
        run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
