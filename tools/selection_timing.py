"""How long the probe-aware selection adds to a fit, against F.1's select_n_clusters.

    python tools/selection_timing.py zeroeval_math_code routerbench_partial --trials 5 \
        --json docs/data/selection_timing.json

For the first ``--trials`` trials of ``uniroute evaluate`` (seed 0) it times, in CPU
seconds of this process (one BLAS and one uniroute thread, so a shared machine's load
hardly moves the ratio), what each rule costs when a router is fitted with the training
LLMs' labels: :func:`uniroute.select_n_clusters` (Appendix F.1, one k-means++ restart per
K, as the evaluation runs it) and :func:`uniroute.select_hyperparameters` (the evaluation's
settings: test-pool-sized pools, the safe levels scored too).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

for _key in ("UNIROUTE_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_key] = "1"

import numpy as np
from uniroute import datasets
from uniroute.evaluation.protocol import prepare_dataset, trial
from uniroute.evaluation.selection import select_n_clusters
from uniroute.tuning import DEFAULT_SAFE_LEVELS, select_hyperparameters


def time_dataset(name: str, trials: int) -> dict[str, float]:
    data, _ = prepare_dataset(datasets.load(name))
    f1 = probe = 0.0
    for seed in np.random.SeedSequence(0).spawn(100)[:trials]:
        view, _, _ = trial(data, seed)
        start = time.process_time()
        select_n_clusters(view.train_embeddings, view.train_quality, view.val_embeddings,
                          view.val_quality_train_models, view.val_cost_train_models,
                          random_state=view.seed, n_init=1)
        f1 += time.process_time() - start
        start = time.process_time()
        select_hyperparameters(view.train_embeddings, view.train_quality, view.val_embeddings,
                               view.val_quality_train_models, view.train_routing_cost,
                               pool_size=len(view.test_models), safe_levels=DEFAULT_SAFE_LEVELS,
                               random_state=view.seed)
        probe += time.process_time() - start
    return {"dataset": data.name, "trials": trials, "f1": f1 / trials, "probe": probe / trials}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("datasets", nargs="+")
    ap.add_argument("--trials", type=int, default=5)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    rows = [time_dataset(name, args.trials) for name in args.datasets]
    for r in rows:
        print(f"{r['dataset']}: F.1 {r['f1']:.2f} s, probe-aware {r['probe']:.2f} s CPU per fit "
              f"(ratio {r['probe'] / r['f1']:.2f})")
    if args.json:
        doc = {"rows": rows, "note": "CPU seconds per fit, one thread, mean over the first "
                                     "trials of seed 0; measured on a shared 2-core machine"}
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
