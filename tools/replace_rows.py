"""Replace some routers' rows of a 100-trial result (docs/data/<set>.json) by a re-run's.

    python tools/run_trials.py routerbench_partial --start 0 --stop 100 \
        --routers uniroute_learned_map uniroute_learned_map_f1 --out runs/lm
    python tools/replace_rows.py docs/data/routerbench_partial.json runs/lm \
        --routers uniroute_learned_map uniroute_learned_map_f1 [--write]

A router whose code changed is re-run on the same seeded trials (trial t of
``tools/run_trials.py`` is trial t of ``uniroute evaluate --seed S``), so its rows stay
paired with the other routers' in the same trial. The pairing is checked (the same test
pool and best test quality per trial index). Without ``--write``: each router's Area,
misses and wins-losses against K-NN, old and new, and the per-trial Area changes. With
``--write`` (every trial of the JSON re-run): the rows are rebuilt by
``report.summarize`` from the re-run's metrics together with the JSON's other rows
(whose rebuilt summaries must come out as stored: a check of the rebuild), and written.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
from uniroute.evaluation import report
from uniroute.evaluation.runner import EvaluationRun, TrialResult


def load_runs(folder: str) -> dict[int, dict[str, Any]]:
    runs = {}
    for path in sorted(Path(folder).glob("trial_*.json")):
        d = json.loads(path.read_text())
        runs[d["index"]] = d
    if not runs:
        raise SystemExit(f"no trial_*.json in {folder}")
    return runs


def check_pairing(doc: dict[str, Any], runs: dict[int, dict[str, Any]]) -> list[int]:
    idx = sorted(runs)
    if idx != list(range(len(idx))) or len(idx) > doc["trials"]:
        raise SystemExit(f"the re-run must hold trials 0..n-1 of the {doc['trials']}: {idx}")
    for i in idx:
        info = runs[i]["info"]
        if info["test_models"] != doc["test_models"][i] or \
                abs(info["best_test_quality"] - doc["best_test_quality"][i]) > 1e-12:
            raise SystemExit(f"trial {i} is not the JSON's trial {i} (seed or data differ)")
    return idx


def compare(doc: dict[str, Any], runs: dict[int, dict[str, Any]], idx: list[int],
            routers: list[str]) -> None:
    knn = np.array(doc["methods"]["knn"]["area"]["per_trial"][:len(idx)], dtype=float)
    for m in routers:
        new = np.array([runs[i]["metrics"][m]["area"] for i in idx])
        old = np.array(doc["methods"][m]["area"]["per_trial"][:len(idx)], dtype=float)
        miss_new = sum(runs[i]["metrics"][m]["qnc"] is None for i in idx)
        miss_old = sum(v is None for v in doc["methods"][m]["qnc"]["per_trial"][:len(idx)])
        diff = np.abs(new - old)
        print(f"  {m} ({len(idx)} trials): Area {new.mean():.5f} (was {old.mean():.5f}); "
              f"misses {miss_new} (was {miss_old}); W-L vs K-NN {(new > knn).sum()}-"
              f"{(new < knn).sum()} (was {(old > knn).sum()}-{(old < knn).sum()}); "
              f"|dArea| max {diff.max():.2e}, median {np.median(diff):.2e}, "
              f"unchanged in {(diff == 0).sum()}")


def write(doc_path: str, doc: dict[str, Any], runs: dict[int, dict[str, Any]],
          idx: list[int], routers: list[str]) -> None:
    if len(idx) != doc["trials"]:
        raise SystemExit(f"{len(idx)} of {doc['trials']} trials re-run: not written")
    keep = [m for m in doc["methods"] if m not in routers]
    keys = [k for k in doc["methods"]["knn"]
            if k in report.METRICS or k in getattr(report, "PAIR_METRICS", ())]
    trials = []
    for i in idx:
        metrics = {m: {k: doc["methods"][m][k]["per_trial"][i] for k in keys} for m in keep}
        for m in routers:
            metrics[m] = runs[i]["metrics"][m]
        trials.append(TrialResult(i, metrics, {}, runs[i]["info"]))
    ev = EvaluationRun(doc["dataset"], trials, doc["n_val"], doc["seed"], keep + routers,
                       doc["details"])
    summary = report.summarize(ev)
    for m in keep:  # a check of the rebuild: the other rows' summaries as stored
        a = json.loads(json.dumps(summary["methods"][m]["area"], default=float))
        if a != doc["methods"][m]["area"]:
            raise SystemExit(f"rebuilding {m}'s row does not reproduce the JSON's")
    for m in routers:
        doc["methods"][m] = summary["methods"][m]
    Path(doc_path).write_text(json.dumps(doc, indent=1, default=float) + "\n")
    print("written", doc_path)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("json", help="a 100-trial result (docs/data/<set>.json)")
    ap.add_argument("runs", help="a tools/run_trials.py output folder")
    ap.add_argument("--routers", nargs="+", required=True)
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args(argv)
    doc = json.loads(Path(args.json).read_text())
    runs = load_runs(args.runs)
    idx = check_pairing(doc, runs)
    missing = [m for m in args.routers if m not in doc["methods"]
               or any(m not in runs[i]["metrics"] for i in idx)]
    if missing:
        raise SystemExit(f"not in both the JSON and every re-run trial: {missing}")
    print(f"{args.json}: {len(idx)} of {doc['trials']} trials re-run, pairing checked")
    compare(doc, runs, idx, args.routers)
    if args.write:
        write(args.json, doc, runs, idx, args.routers)


if __name__ == "__main__":
    sys.exit(main())
