"""Tests written for mutants of ``calibration.py`` that the suite let survive
(docs/testing.md), on a hand-made pool whose lam-path is worked out by hand.

Two models, three clusters: "big" (price 1, Psi 0 everywhere) and "cheap" (price 0,
Psi 0.1, 0.3, 0.6). Cluster k switches to "cheap" at lam = Psi_cheap[k] - Psi_big[k], so
with a sample histogram (2, 3, 5) the share of "cheap" is a rising staircase:
0 below lam 0.1, 0.2 on (0.1, 0.3), 0.5 on (0.3, 0.6), 1 above 0.6, and the average
cost is 1 minus that share.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from uniroute._pool import PoolSnapshot
from uniroute.calibration import calibrate

PSI = np.array([[0.0, 0.0, 0.0], [0.1, 0.3, 0.6]])
COUNTS = ("hard", np.array([2.0, 3.0, 5.0]))


@pytest.fixture
def pool():
    s = PoolSnapshot(np.eye(3, dtype=np.float32))
    s = s.with_model("big", 1.0, cluster_error=PSI[0])
    return s.with_model("cheap", 0.0, cluster_error=PSI[1])


def share(pool, target):
    return calibrate(pool, COUNTS, 10, "share", target, "cheap", 1.0)


def test_a_rising_share_inside_its_second_step_is_mixed_from_the_bracketing_steps(pool):
    cal = share(pool, 0.35)
    # steps 0.2 (lam in (0.1, 0.3)) and 0.5 (lam in (0.3, 0.6)): weight (0.35-0.2)/0.3
    assert cal.exact
    assert cal.lam == pytest.approx(0.3, abs=1e-15)
    assert (cal.lam_low, cal.lam_high) == pytest.approx((0.2, 0.45), abs=1e-15)
    assert cal.weight == pytest.approx(0.5, abs=1e-12)
    assert cal.predicted_share["cheap"] == pytest.approx(0.35, abs=1e-12)
    assert cal.predicted_cost == pytest.approx(0.65, abs=1e-12)
    cost = calibrate(pool, COUNTS, 10, "cost", 0.65, None, 1.0)
    assert cost.exact and cost.weight == pytest.approx(0.5, abs=1e-12)
    assert (cost.lam_low, cost.lam_high) == pytest.approx((0.2, 0.45), abs=1e-15)


def test_a_target_on_the_upper_end_of_a_step_is_met_by_that_step(pool):
    cal = share(pool, 0.5)
    assert cal.exact and cal.weight == 0.0
    assert cal.lam_low == cal.lam_high == pytest.approx(0.45, abs=1e-15)


def test_a_target_within_rounding_of_a_step_needs_no_mix(pool):
    near_high = share(pool, 0.5 - 0.5e-13)  # inside (0.2, 0.5), at 0.5 to 1e-13
    assert near_high.exact and near_high.weight == 0.0
    assert near_high.lam_low == near_high.lam_high == pytest.approx(0.45, abs=1e-15)
    near_low = share(pool, 0.2 + 1e-14)  # inside (0.2, 0.5), at 0.2 to 1e-13
    assert near_low.exact and near_low.weight == 0.0
    assert near_low.lam_low == near_low.lam_high == pytest.approx(0.2, abs=1e-15)


def test_a_calibration_is_immutable(pool):
    cal = share(pool, 0.35)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cal.weight = 0.0  # type: ignore[misc]
