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
from uniroute.calibration import Calibration, calibrate, resolve

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


def test_an_out_of_reach_share_of_a_middle_model_gives_its_largest_share():
    # "mid" (price 0.5) beats "big" above lam 0.1 and loses to "cheap" above lam 0.3 in
    # cluster 0 only (elsewhere "cheap" is at least as good and cheaper): its share is
    # 0 on [0, 0.1), 0.2 on (0.1, 0.3), 0 after; breakpoints 0.1, 0.3, 0.4
    s = PoolSnapshot(np.eye(3, dtype=np.float32))
    s = s.with_model("big", 1.0, cluster_error=np.zeros(3))
    s = s.with_model("mid", 0.5, cluster_error=np.array([0.05, 0.3, 0.3]))
    s = s.with_model("cheap", 0.0, cluster_error=np.array([0.2, 0.3, 0.4]))
    cal = calibrate(s, COUNTS, 10, "share", 0.5, "mid", 1.0)
    assert not cal.exact
    assert cal.predicted_share["mid"] == pytest.approx(0.2, abs=1e-12)
    assert cal.weight == 0.0 and cal.lam_low == cal.lam_high == pytest.approx(0.2, abs=1e-15)


def test_a_budget_is_reused_on_its_own_snapshot_and_solved_again_on_another(pool):
    cal = share(pool, 0.35)
    assert resolve(cal, pool, 1.0) is cal
    repriced = pool.with_row(0, cost=2.0)  # "big" at 2: the switches move to 0.05, .15, .3
    again = resolve(cal, repriced, 1.0)
    assert again is not cal and again.exact
    assert again.predicted_share["cheap"] == pytest.approx(0.35, abs=1e-12)
    assert again.lam == pytest.approx(0.15, abs=1e-15)


def test_predicted_shares_name_every_model_when_models_outnumber_clusters():
    s = PoolSnapshot(np.eye(2, dtype=np.float32))
    s = s.with_model("good", 1.0, cluster_error=np.array([0.0, 0.0]))
    s = s.with_model("cheap", 0.0, cluster_error=np.array([0.1, 0.4]))
    s = s.with_model("bad", 2.0, cluster_error=np.array([0.9, 0.9]))  # never chosen
    cal = calibrate(s, ("hard", np.array([1.0, 3.0])), 4, "cost", 0.75, None, 1.0)
    # cost 1 below lam 0.1, 0.75 on (0.1, 0.4) (cluster 0 goes to "cheap"), 0 above
    assert cal.exact and cal.weight == 0.0
    assert cal.predicted_share == pytest.approx({"good": 0.75, "cheap": 0.25, "bad": 0.0},
                                                abs=1e-15)


def test_an_empty_cluster_adds_no_breakpoint():
    s = PoolSnapshot(np.eye(3, dtype=np.float32))
    s = s.with_model("big", 1.0, cluster_error=PSI[0]).with_model("cheap", 0.0,
                                                                  cluster_error=PSI[1])
    cal = calibrate(s, ("hard", np.array([2.0, 0.0, 5.0])), 7, "share", 0.5, "cheap", 1.0)
    # the cheap share is 0, 2/7 on (0.1, 0.6), 1 above 0.6 (cluster 1's 0.3 is not a step):
    # the mix of lam 0.35 and 1.2 with weight (0.5 - 2/7) / (1 - 2/7) = 0.3
    assert cal.exact and cal.lam == pytest.approx(0.6, abs=1e-15)
    assert (cal.lam_low, cal.lam_high) == pytest.approx((0.35, 1.2), abs=1e-15)
    assert cal.weight == pytest.approx(0.3, abs=1e-12)


def test_equality_and_repr_leave_out_the_bookkeeping(pool):
    cal = share(pool, 0.35)
    bare = dataclasses.replace(cal, sample=None, pool_token=-1, clusters_token=-1,
                               clusters_fingerprint="")
    assert bare == cal
    assert "token" not in repr(cal) and "fingerprint" not in repr(cal)
    assert "sample" not in repr(cal)


def test_from_dict_refuses_a_negative_sample_count(pool):
    d = share(pool, 0.35).to_dict()
    assert Calibration.from_dict(d) == share(pool, 0.35)
    d["sample"] = {"kind": "hard", "data": [2.0, -0.5, 5.0]}
    with pytest.raises(ValueError, match="bad 'sample'"):
        Calibration.from_dict(d)


@pytest.mark.parametrize("target, lam", [(0.2, 0.2), (1.0, 1.2), (0.0, 0.0)])
def test_a_target_equal_to_a_step_value_is_met_on_that_step(pool, target, lam):
    cal = share(pool, target)  # steps 0, 0.2, 0.5, 1 (representatives 0, 0.2, 0.45, 1.2)
    assert cal.exact and cal.weight == 0.0
    assert cal.lam_low == cal.lam_high == pytest.approx(lam, abs=1e-15)
    assert cal.predicted_share["cheap"] == pytest.approx(target, abs=1e-15)


@pytest.mark.parametrize("sample", [{"kind": "hard", "data": [[2.0, 3.0, 5.0]]},
                                    {"kind": "soft", "data": [0.2, 0.3, 0.5]}])
def test_from_dict_refuses_a_sample_of_the_wrong_rank(pool, sample):
    d = share(pool, 0.35).to_dict()
    d["sample"] = sample
    with pytest.raises(ValueError, match="bad 'sample'"):
        Calibration.from_dict(d)


def test_from_dict_sample_is_read_only(pool):
    cal = Calibration.from_dict(share(pool, 0.35).to_dict())
    assert cal.sample is not None and not cal.sample[1].flags.writeable
    np.testing.assert_array_equal(cal.sample[1], COUNTS[1])


def test_a_budget_solved_again_is_cached_per_snapshot(pool):
    cal = share(pool, 0.35)
    repriced = pool.with_row(0, cost=2.0)
    assert resolve(cal, repriced, 1.0) is resolve(cal, repriced, 1.0)


def test_a_budget_from_json_is_refused_by_other_clusters_in_both_orders():
    pools = []
    for shift in (0.0, 1.0):
        s = PoolSnapshot(np.eye(3, dtype=np.float32) + shift)
        pools.append(s.with_model("big", 1.0, cluster_error=PSI[0])
                     .with_model("cheap", 0.0, cluster_error=PSI[1]))
    for mine, other in ((pools[0], pools[1]), (pools[1], pools[0])):
        carried = Calibration.from_dict(share(mine, 0.35).to_dict())
        again = resolve(carried, mine, 1.0)  # its own clusters: re-solved, to the bit
        assert again.exact and again.weight == share(mine, 0.35).weight
        assert again.predicted_share == share(mine, 0.35).predicted_share
        with pytest.raises(ValueError, match="made for another pool"):
            resolve(carried, other, 1.0)


def test_a_budget_is_refused_by_a_pool_of_other_clusters_made_before_or_after_it():
    older = PoolSnapshot(np.eye(3, dtype=np.float32)).with_model(
        "big", 1.0, cluster_error=PSI[0]).with_model("cheap", 0.0, cluster_error=PSI[1])
    newer = PoolSnapshot(np.eye(3, dtype=np.float32) * 2).with_model(
        "big", 1.0, cluster_error=PSI[0]).with_model("cheap", 0.0, cluster_error=PSI[1])
    for mine, other in ((older, newer), (newer, older)):
        with pytest.raises(ValueError, match="made for another pool"):
            resolve(share(mine, 0.35), other, 1.0)


def test_from_dict_accepts_a_sample_with_an_empty_cluster(pool):
    d = share(pool, 0.35).to_dict()
    d["sample"] = {"kind": "hard", "data": [2.0, 0.0, 5.0]}
    assert Calibration.from_dict(d).sample[1].tolist() == [2.0, 0.0, 5.0]


def test_the_step_tolerance_is_relative_to_the_values():
    s = PoolSnapshot(np.eye(3, dtype=np.float32))
    s = s.with_model("big", 1000.0, cluster_error=PSI[0] / 1000)
    s = s.with_model("cheap", 0.0, cluster_error=PSI[1] / 1000)
    # average cost steps 1000, 800, 500, 0; a target 5e-11 above 500 (1e-13 of it)
    cal = calibrate(s, COUNTS, 10, "cost", 500 * (1 + 1e-13), None, 1.0)
    assert cal.exact and cal.weight == 0.0
    assert cal.predicted_cost == pytest.approx(500.0, abs=1e-9)
