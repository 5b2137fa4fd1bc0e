"""A bounded share of the fuzz driver in CI, plus the overflow cases it found.

The full run (>= 10**6 calls) is `python fuzz/fuzz_core.py --calls 1000000`; see SECURITY.md.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from uniroute import _core

FUZZ = Path(__file__).resolve().parents[2] / "fuzz" / "fuzz_core.py"


def test_fuzz_burst_has_no_failures_and_no_crash():
    # A crash (segfault/abort) shows as a negative return code of the child.
    out = subprocess.run([sys.executable, str(FUZZ), "--calls", "14000", "--seed", "7"],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "calls 14000" in out.stdout and "0 failures" in out.stdout


HUGE = np.full((1, 8), 1e30)


@pytest.mark.parametrize("call", [
    lambda: _core.assign(np.full((2, 8), 4e9, np.float32), HUGE),   # found by the fuzzer: segfault
    lambda: _core.assign(np.full((2, 8), 1e30, np.float32), np.zeros((1, 8))),
    lambda: _core.soft_assign(np.full((1, 8), 1e30, np.float32), HUGE, np.zeros(1)),
    lambda: _core.route(np.full((2, 3), 1e30, np.float32), np.full((2, 3), 1e30), [1.0, 2.0]),
    lambda: _core.route(np.array([0]), np.full((2, 1), 1e300), [1.0, 1e300], 1e300),
    lambda: _core.choice_table(np.full((2, 1), 1e300), [1.0, 1e300], 1e300),
    lambda: _core.top_k_inner(np.full((1, 8), 1e30), HUGE, 1),      # found: index out of range
    lambda: _core.pairwise_sqdist(np.full((1, 8), 1e30), np.zeros((1, 8))),
    lambda: _core.CentroidIndex(HUGE),
    lambda: _core.CentroidIndex(np.ones((2, 8))).nearest(np.full(8, 1e30, np.float32)),
    lambda: _core.CentroidIndex(np.ones((2, 8))).assign(np.full((20, 8), 1e30, np.float32)),
])
def test_overflow_is_a_clear_error_not_a_crash_or_a_wrong_answer(call):
    with pytest.raises(ValueError, match="overflows the float(32|64) range"):
        call()
