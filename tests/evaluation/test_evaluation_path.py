"""The exact lambda-path deferral curve equals the curve of a dense lambda grid."""
from __future__ import annotations

import numpy as np
import pytest
from uniroute import _core
from uniroute.evaluation import metrics as mt
from uniroute.evaluation.decisions import Choices, ClusterErrors, PromptErrors, Scorer


def random_case(rng, n=300, M=6, K=9, soft=False):
    psi = rng.random((M, K))
    routing_cost = rng.random(M) * 3 + 0.1
    labels = rng.integers(0, K, n)
    quality = rng.random((n, M)) if soft else (rng.random((n, M)) < 0.6).astype(float)
    cost = routing_cost * rng.uniform(0.5, 1.5, (n, M))  # realised per-prompt cost
    return psi, routing_cost, labels, quality, cost


def grid_points(scorer, labels, psi, routing_cost, lams):
    choices = np.stack([_core.route(labels, psi, routing_cost, float(lam)) for lam in lams])
    pts = scorer.points(Choices(choices))
    return pts.cost[:-1], pts.quality[:-1]  # drop the anchor


def breakpoint_midpoints(psi, routing_cost):
    _, _, lo, _ = _core.route_path(psi, routing_cost)
    b = np.unique(lo[lo > 0])
    return np.concatenate([[0.0], (b[:-1] + b[1:]) / 2, [2 * b[-1] + 1] if b.size else [1.0]])


@pytest.mark.parametrize("seed", range(5))
def test_exact_path_points_are_the_grid_points(seed):
    rng = np.random.default_rng(seed)
    psi, routing_cost, labels, quality, cost = random_case(rng, soft=seed % 2 == 1)
    scorer = Scorer(quality, cost, routing_cost)
    exact = scorer.points(ClusterErrors(labels, psi))
    gc, gq = grid_points(scorer, labels, psi, routing_cost, breakpoint_midpoints(psi, routing_cost))
    # one lam between each pair of breakpoints visits every operating point of the path
    np.testing.assert_allclose(exact.cost[:-1], gc, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(exact.quality[:-1], gq, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("seed", range(2))
def test_dense_grid_curve_converges_to_the_exact_curve(seed):
    rng = np.random.default_rng(100 + seed)
    psi, routing_cost, labels, quality, cost = random_case(rng)
    scorer = Scorer(quality, cost, routing_cost)
    exact = scorer.points(ClusterErrors(labels, psi))
    exact_area = mt.area(exact.cost, exact.quality)
    errors = []
    for n_grid in (30, 300, 10000):
        lams = np.concatenate([[0.0], np.geomspace(1e-4, 1e2, n_grid)])
        gc, gq = grid_points(scorer, labels, psi, routing_cost, lams)
        # every grid point is a point of the exact path
        same = (np.isclose(gc[:, None], exact.cost[None]) &
                np.isclose(gq[:, None], exact.quality[None]))
        assert same.any(axis=1).all()
        gc, gq = np.append(gc, exact.cost[-1]), np.append(gq, exact.quality[-1])
        errors.append(abs(mt.area(gc, gq) - exact_area))
    assert errors[-1] < 1e-9 and errors[-1] <= errors[0]


def test_prompt_errors_path_equals_grid():
    rng = np.random.default_rng(7)
    n, M = 80, 5
    error = rng.random((n, M))
    routing_cost = rng.random(M) + 0.1
    quality = (rng.random((n, M)) < 0.5).astype(float)
    cost = np.tile(routing_cost, (n, 1))
    scorer = Scorer(quality, cost, routing_cost)
    exact = scorer.points(PromptErrors(error))
    # each prompt is its own cluster
    labels, psi = np.arange(n), np.ascontiguousarray(error.T)
    gc, gq = grid_points(scorer, labels, psi, routing_cost, breakpoint_midpoints(psi, routing_cost))
    np.testing.assert_allclose(exact.cost[:-1], gc, atol=1e-12)
    np.testing.assert_allclose(exact.quality[:-1], gq, atol=1e-12)
    # lam = 0 routes each prompt to its least predicted error; the last to the cheapest
    assert exact.quality[0] == pytest.approx(quality[np.arange(n), error.argmin(1)].mean())
    assert exact.cost[-2] == pytest.approx(routing_cost.min() / routing_cost.max())


def test_path_usage_sums_to_one_and_skips_unscored_rows():
    rng = np.random.default_rng(3)
    psi, routing_cost, labels, quality, cost = random_case(rng, n=50)
    quality[[3, 10], 2] = np.nan  # unlabelled: these test prompts are not scored
    scorer = Scorer(quality, cost, routing_cost)
    assert scorer.n == 48
    pts = scorer.points(ClusterErrors(labels, psi))
    np.testing.assert_allclose(pts.usage.sum(1), 1.0)
    assert np.isfinite(pts.quality).all()


def test_scorer_rejects_mismatched_decisions():
    rng = np.random.default_rng(0)
    _, routing_cost, _, quality, cost = random_case(rng, n=20, M=3)
    scorer = Scorer(quality, cost, routing_cost)
    with pytest.raises(ValueError, match="test pool has 3"):
        scorer.points(PromptErrors(np.zeros((20, 4))))
    with pytest.raises(TypeError, match="unknown decisions"):
        scorer.points("nope")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no test prompt"):
        Scorer(np.full((2, 2), np.nan), np.ones((2, 2)), np.ones(2))
