"""Shared set-up of the benchmarks.

Sizes: ``--bench-size=small`` (the default; what CI runs once with
``--benchmark-disable`` as correctness tests) or ``--bench-size=full`` (the sizes of the
performance targets; run alone on the machine). Every benchmark records
``extra_info["role"]`` ("ours", "baseline" or "floor") and ``extra_info["impl"]``;
``benchmarks/ratio_table.py`` turns a ``--benchmark-json`` file into ratios.
"""
from __future__ import annotations

import time

import numpy as np
import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--bench-size", choices=("small", "full"), default="small",
                     help="benchmark sizes: small (CI, correctness) or full (targets)")
    parser.addoption("--bench-trials", type=int, default=None,
                     help="evaluation benchmark: this many trials instead of the size's "
                          "(a partial run; the 400-trial target is then not asserted)")


@pytest.fixture(scope="session")
def full(request: pytest.FixtureRequest) -> bool:
    return request.config.getoption("--bench-size") == "full"


def tag(benchmark, role: str, impl: str, **extra) -> None:
    """Record who is measured; `role` is ours / baseline / floor."""
    benchmark.extra_info.update(role=role, impl=impl, **extra)


# Seconds a contender waits before it is timed, when benchmarks are timed: the thread
# pools of the others go idle first. OpenBLAS's threads spin for 2**28 cycles (~0.1 s)
# after each call and OpenMP's (faiss, scikit-learn) for a while too; timed inside that
# window, any contender shares the two cores with busy-waiting threads of another
# library or of the float64 reference that set up the problem (measured: assign at N=64
# and N=1,000 came out 2-3x slower right after the reference than alone).
SETTLE_S = 0.3


def run(benchmark, fn, *args, rounds: int, warmup: int = 1, iterations: int = 1):
    """Fixed rounds (no calibration), so all contenders get the same treatment; each
    starts after the others' threads have gone idle (``SETTLE_S``)."""
    if not benchmark.disabled:
        time.sleep(SETTLE_S)
    out = benchmark.pedantic(fn, args=args, rounds=rounds, iterations=iterations,
                             warmup_rounds=warmup)
    stats = getattr(benchmark, "stats", None)
    data = getattr(getattr(stats, "stats", None), "data", None)
    if data:
        benchmark.extra_info["p99"] = float(np.percentile(np.asarray(data), 99))
    return out


def importorskip_baseline(name: str):
    return pytest.importorskip(name, reason=f"baseline {name} not installed "
                               "(pip install '.[bench]')")
