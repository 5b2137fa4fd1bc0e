"""What ``evaluate`` and ``select-k`` share: the trial arguments and their checks on the data."""
from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from uniroute._cli.checks import at_least, fraction
from uniroute._cli.errors import UsageError


def add_trial_arguments(p: argparse.ArgumentParser, trials: int) -> None:
    """DATA, --trials, --seed, --min-coverage, --jobs (the same seeded trials)."""
    p.add_argument("data", metavar="DATA",
                   help="a bundled name (zeroeval_math_code, routerbench_partial) or a data "
                        "file or folder: .npz, or one row per prompt x model in .csv, .jsonl "
                        "or .parquet")
    p.add_argument("--trials", type=at_least(1), default=trials,
                   help="seeded trials (default %(default)s)")
    p.add_argument("--seed", type=at_least(0), default=0, help="seed of the trials (default 0)")
    p.add_argument("--min-coverage", type=fraction, default=0.9,
                   help="drop LLMs labelled on fewer prompts than this share (default 0.9)")
    p.add_argument("--jobs", type=at_least(1), default=2,
                   help="worker processes (default 2; results do not depend on it)")


def check_split(data: Any, min_coverage: float, n_vals: list[int | None],
                n_test_models: int | None) -> None:
    """Dry-run the trial split for every setting, so a bad value fails before the run."""
    from uniroute.evaluation.protocol import make_split, prepare_dataset

    kept, _ = prepare_dataset(data, min_coverage)
    if kept.n_models < 2:
        raise UsageError(f"--min-coverage {min_coverage:g} leaves {kept.n_models} LLM(s) of "
                         f"{data.n_models} (the others are labelled on too few prompts); lower "
                         "it or add labels")
    if n_test_models is not None and n_test_models >= kept.n_models:
        raise UsageError(f"--test-llms {n_test_models}: the data has {kept.n_models} LLMs; use "
                         f"1 to {kept.n_models - 1} so that some are left for training")
    n_test = round(0.3 * kept.n_prompts)
    for n_val in n_vals:
        if n_val is not None and kept.n_prompts - n_test - n_val < 1:
            raise UsageError(f"--n-val {n_val}: leaves no training prompt out of "
                             f"{kept.n_prompts} ({n_test} are test prompts); use at most "
                             f"{kept.n_prompts - n_test - 1}")
        try:
            make_split(kept, np.random.default_rng(0), n_val, n_test_models)
        except ValueError as exc:
            option = "--test-llms" if "split" in str(exc) else "--n-val"
            raise UsageError(f"{option}: {exc}") from None
