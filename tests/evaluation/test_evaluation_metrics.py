"""Metrics against small cases worked out by hand (the module doc of metrics.py defines them)."""
from __future__ import annotations

import numpy as np
import pytest
from uniroute.evaluation import metrics as mt
from uniroute.evaluation.decisions import Choices, ModelMixtures, Scorer
from uniroute.evaluation.report import sign_test

# Three LLMs A, B, C costing 1, 2, 4 per prompt; four prompts; quality (1 = correct):
#        A  B  C
# p1     1  1  1
# p2     0  1  1
# p3     0  0  1
# p4     0  1  0
QUALITY = np.array([[1, 1, 1], [0, 1, 1], [0, 0, 1], [0, 1, 0]], dtype=float)
COST = np.tile([1.0, 2.0, 4.0], (4, 1))
A, B, C = 0, 1, 2
# Five routings (one LLM per prompt). Mean cost / 4 (C's mean cost, the priciest) and
# mean quality, by hand:
ROUTES = {
    "all A":   ([A, A, A, A], 1.00 / 4, 0.25),   # cost 4/4 = 1    -> 0.25
    "A,B,A,A": ([A, B, A, A], 1.25 / 4, 0.50),   # cost 5/4 = 1.25 -> 0.3125
    "A,B,C,A": ([A, B, C, A], 2.00 / 4, 0.75),   # cost 8/4 = 2    -> 0.5
    "A,B,C,B": ([A, B, C, B], 2.25 / 4, 1.00),   # cost 9/4 = 2.25 -> 0.5625
    "all C":   ([C, C, C, C], 4.00 / 4, 0.75),   # dominated by A,B,C,A
}


def hand_points() -> tuple[np.ndarray, np.ndarray]:
    cost = np.array([v[1] for v in ROUTES.values()])
    quality = np.array([v[2] for v in ROUTES.values()])
    return cost, quality


def test_scorer_reproduces_the_hand_computed_points():
    scorer = Scorer(QUALITY, COST, routing_cost=np.array([1.0, 2.0, 4.0]))
    pts = scorer.points(Choices(np.array([v[0] for v in ROUTES.values()])))
    cost, quality = hand_points()
    # the last point is the anchor: everything to the cheapest LLM (A)
    np.testing.assert_allclose(pts.cost, np.append(cost, 0.25))
    np.testing.assert_allclose(pts.quality, np.append(quality, 0.25))
    assert scorer.best_quality == 0.75 and scorer.norm == 4.0
    np.testing.assert_allclose(pts.usage[1], [0.75, 0.25, 0.0])


def test_pareto_front_by_hand():
    c, q = mt.pareto_front(*hand_points())
    np.testing.assert_allclose(c, [0.25, 0.3125, 0.5, 0.5625])
    np.testing.assert_allclose(q, [0.25, 0.5, 0.75, 1.0])


def test_area_by_hand():
    # flat 0.25 on [0, .25]: .0625; trapezoids .25-.3125: .0234375, .3125-.5: .1171875,
    # .5-.5625: .0546875; flat 1.0 on [.5625, 1]: .4375. Sum .6953125.
    assert mt.area(*hand_points()) == pytest.approx(0.6953125, abs=1e-12)
    # Area(50%): the first three pieces, not renormalised.
    assert mt.area(*hand_points(), upper=0.5) == pytest.approx(0.203125, abs=1e-12)


def test_qnc_by_hand():
    # best single LLM quality .75 (B and C); the curve first reaches it at the point
    # (A,B,C,A): cost .5.
    assert mt.qnc(*hand_points(), target=0.75) == pytest.approx(0.5)
    # .875 lies halfway between (.5, .75) and (.5625, 1): cost .53125.
    assert mt.qnc(*hand_points(), target=0.875) == pytest.approx(0.53125)
    # reached at the cheapest point: its cost, not 0 (the flat left part is not achievable)
    assert mt.qnc(*hand_points(), target=0.2) == pytest.approx(0.25)
    assert mt.qnc(*hand_points(), target=1.01) is None
    assert mt.peak(hand_points()[1]) == 1.0


def test_aiq_by_hand():
    # Upper hull: (A,B,C,A) at (.5, .75) lies below the chord from (.3125, .5) to
    # (.5625, 1) (which is at .875 there) and drops out. AIQ integrates the hull from the
    # cheapest point: .0234375 + (.5 + 1)/2 * .25 + .4375 = .6484375.
    c, q = mt.upper_hull(*hand_points())
    np.testing.assert_allclose(c, [0.25, 0.3125, 0.5625])
    np.testing.assert_allclose(q, [0.25, 0.5, 1.0])
    assert mt.aiq(*hand_points()) == pytest.approx(0.6484375, abs=1e-12)


def test_single_point_curve_is_flat():
    assert mt.area([0.4], [0.7]) == pytest.approx(0.7)
    assert mt.area([0.4], [0.7], upper=0.5) == pytest.approx(0.35)
    assert mt.aiq([0.4], [0.7]) == pytest.approx(0.6 * 0.7)
    assert mt.aiq([1.2], [0.7]) == 0.0


def test_curve_beyond_the_priciest_llm_is_clipped():
    # a router more expensive on average than the priciest LLM (per-prompt costs)
    assert mt.area([0.5, 2.0], [0.5, 1.0]) == pytest.approx(0.25 + 0.5 * (0.5 + 2 / 3) / 2)


def test_mixtures_are_scored_in_expectation():
    scorer = Scorer(QUALITY, COST, routing_cost=np.array([1.0, 2.0, 4.0]))
    pts = scorer.points(ModelMixtures(np.array([[0.5, 0.5, 0.0]])))
    assert pts.cost[0] == pytest.approx(1.5 / 4) and pts.quality[0] == pytest.approx(0.5)


def test_apgr_and_cpt_by_hand():
    # weak .4, strong .8; a router at 50% strong calls with quality .7 (PGR .75).
    # Front (0,0), (.5,.75), (1,1): APGR = .5*.75/2 + .5*(.75+1)/2 = .625.
    share, quality = np.array([0.5]), np.array([0.7])
    assert mt.apgr(share, quality, 0.4, 0.8) == pytest.approx(0.625)
    assert mt.cpt(share, quality, 0.4, 0.8, 0.5) == pytest.approx(0.5 * 0.5 / 0.75)
    assert mt.cpt(share, quality, 0.4, 0.8, 0.8) == pytest.approx(0.5 + 0.5 * 0.05 / 0.25)
    assert mt.apgr(share, quality, 0.8, 0.8) is None


def test_bad_points_are_refused():
    with pytest.raises(ValueError, match="non-empty"):
        mt.area([], [])
    with pytest.raises(ValueError, match="one shape"):
        mt.area([0.1, 0.2], [0.5])


def test_sign_test_exact_binomial():
    # 10 wins, 0 losses: p = 2 / 2**10
    assert sign_test([1.0] * 10, [0.0] * 10) == pytest.approx(2 / 1024)
    assert sign_test([0.5] * 6, [0.5] * 6) == 1.0  # all ties
    # 7 wins 3 losses: 2 * P[X <= 3], X ~ Bin(10, .5) = 2 * 176 / 1024
    assert sign_test([1] * 7 + [0] * 3, [0] * 7 + [1] * 3) == pytest.approx(352 / 1024)
    # lower is better, never reached counts as worst
    assert sign_test([0.1, 0.2, None], [0.3, None, None], lower_is_better=True) == \
        pytest.approx(2 * 1 / 4)


def test_front_hull_and_reach_edge_cases_by_hand():
    # equal cost: only the better point; equal quality: only the cheaper one
    c, q = mt.pareto_front([0.5, 0.5, 0.8, 0.2], [0.6, 0.7, 0.7, 0.3])
    np.testing.assert_array_equal(c, [0.2, 0.5])
    np.testing.assert_array_equal(q, [0.3, 0.7])
    # (0.5, 0.5) lies below the chord from (0.2, 0.4) to (0.8, 0.9): off the hull;
    # (0.4, 0.7) lies above it: on the hull
    c, q = mt.upper_hull([0.2, 0.5, 0.8], [0.4, 0.5, 0.9])
    np.testing.assert_array_equal(c, [0.2, 0.8])
    c, q = mt.upper_hull([0.2, 0.4, 0.8, 0.9], [0.4, 0.7, 0.9, 0.95])
    np.testing.assert_array_equal(c, [0.2, 0.4, 0.8, 0.9])
    # AIQ: trapezoids on the hull from the cheapest point, flat to 1
    assert mt.aiq([0.2, 0.5, 0.8], [0.4, 0.5, 0.9]) == pytest.approx(
        0.6 * (0.4 + 0.9) / 2 + 0.2 * 0.9, rel=1e-12)
    assert mt.aiq([1.0, 1.5], [0.5, 0.6]) == 0.0  # nothing below cost 1
    # a curve reaching the target exactly, and one short of it by less than the tolerance
    assert mt.qnc([0.2, 0.6], [0.5, 0.8], 0.8) == pytest.approx(0.6, rel=1e-12)
    assert mt.qnc([0.2, 0.6], [0.5, 0.8 - 1e-12], 0.8) == pytest.approx(0.6, rel=1e-9)
    assert mt.qnc([0.2, 0.6], [0.5, 0.8], 0.8 + 1e-6) is None
    assert mt.qnc([0.2, 0.6], [0.5, 0.8], 0.65) == pytest.approx(0.4, rel=1e-12)
    assert mt.qnc([0.2, 0.6], [0.5, 0.8], 0.3) == pytest.approx(0.2, rel=1e-12)
    # an area over an empty range is 0; over [0, 0.5] of a flat curve, half its height
    assert mt.area([0.3], [0.8], upper=0.0) == 0.0
    assert mt.area([0.3], [0.8], upper=0.5) == pytest.approx(0.4, rel=1e-12)
    # APGR/CPT need a strong model better than the weak one
    assert mt.apgr([0.5], [0.7], 0.8, 0.6) is None
    assert mt.cpt([0.5], [0.7], 0.8, 0.6, 0.5) is None
    assert mt.apgr([0.5], [0.7], 0.6, 0.8) == pytest.approx(0.5 * 0.5 / 2 + 0.5 * (0.5 + 1) / 2,
                                                            rel=1e-12)
