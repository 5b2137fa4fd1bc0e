"""Run a range of `uniroute evaluate`'s trials, saving each as it finishes; merge them.

    python tools/run_trials.py routerbench_partial --start 0 --stop 100 --out runs/rb
    python tools/run_trials.py routerbench_partial --merge runs/rb --json rb.json
    python tools/run_trials.py zeroeval_math_code --merge runs/n50 runs/n100 runs/all \
        --n-val 50 100 all --json sweep.json          # an N_val sweep, one folder per N_val
    python tools/run_trials.py routerbench_partial --encoder static --start 40 --stop 100 \
        --routers knn uniroute_kmeans_f1 --out runs/rb_static

``--encoder static`` replaces the data set's embeddings by the shipped static encoder's
embeddings of the same prompt texts (as ``tools/encoder_parity.py`` does), so its trials
pair with the reference run's trials of the same index.

Trial t is the same trial as in ``uniroute evaluate DATA --seed S`` with any number of
trials above t (``SeedSequence(S).spawn(n)[t]`` does not depend on n), so trials run in
pieces -- or cut short on a shared machine -- merge into the table the CLI prints for the
first N trials; ``--merge`` takes every trial it finds and names their indices.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import numpy as np
from uniroute import datasets, encoders
from uniroute.evaluation import report
from uniroute.evaluation.protocol import make_split, prepare_dataset
from uniroute.evaluation.runner import EvaluationRun, TrialResult, resolve_routers, run_trial


def load(args: argparse.Namespace):
    data = datasets.load(args.data)
    if args.encoder == "static":
        if data.prompts is None:
            raise SystemExit(f"{args.data}: --encoder static needs the prompt texts")
        enc = encoders.static()
        data = dataclasses.replace(data, embeddings=enc.encode(data.prompts), encoder=enc.name)
    return prepare_dataset(data)


def run(args: argparse.Namespace) -> None:
    data, _ = load(args)
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


def merge_one(data, dropped, folder: str, n_val: int | None, seed: int) -> dict:
    trials = []
    for path in sorted(Path(folder).glob("trial_*.json")):
        d = json.loads(path.read_text())
        trials.append(TrialResult(d["index"], d["metrics"], d["curves"], d["info"]))
    if not trials:
        raise SystemExit(f"no trial_*.json in {folder}")
    idx = [t.index for t in trials]
    print(f"{folder}: {len(trials)} trials: indices {_ranges(idx)}")
    first = make_split(data, np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0]),
                       n_val)
    details = {"n_prompts": data.n_prompts, "n_models": data.n_models,
               "dropped_models": dropped, "cost": data.cost_note or "as given",
               "encoder": data.encoder,
               "split": {"train_llms": int(first.train_models.size),
                         "test_llms": int(first.test_models.size), "train": int(first.train.size),
                         "val": int(first.val.size), "test": int(first.test.size)},
               "seconds": float(sum(sum(t.info["seconds"].values()) for t in trials)),
               "n_jobs": 1}
    methods = list(trials[0].metrics)
    ev = EvaluationRun(data.name, trials, int(first.val.size), seed, methods, details)
    return report.summarize(ev)


def merge(args: argparse.Namespace) -> None:
    """One folder: one run; several (an N_val sweep, ``--n-val`` one value per folder or one
    for all): the sweep JSON that ``uniroute evaluate --n-val ...`` writes."""
    data, dropped = load(args)
    n_vals = args.n_val or [None]
    if len(n_vals) == 1:
        n_vals = n_vals * len(args.merge)
    if len(n_vals) != len(args.merge):
        raise SystemExit("--n-val: give one value, or one per --merge folder")
    summaries = [merge_one(data, dropped, folder, n, args.seed)
                 for folder, n in zip(args.merge, n_vals)]
    if args.json:
        report.write_json(summaries, args.json)
    for summary in summaries:
        print(report.format_table(summary))


def _n_val(text: str) -> int | None:
    return None if text == "all" else int(text)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("data")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n-val", type=_n_val, nargs="+", default=None,
                    help="probe prompts per trial ('all' = the default); one value to run")
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--stop", type=int, default=100)
    ap.add_argument("--routers", nargs="+", default=None)
    ap.add_argument("--encoder", choices=["dataset", "static"], default="dataset",
                    help="the data set's own embeddings (default) or the static encoder's")
    ap.add_argument("--out", default=None)
    ap.add_argument("--merge", nargs="+", default=None, metavar="DIR")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    if args.merge:
        merge(args)
    else:
        if args.n_val and len(args.n_val) > 1:
            ap.error("--n-val: one value per run (several only with --merge)")
        args.n_val = args.n_val[0] if args.n_val else None
        run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
