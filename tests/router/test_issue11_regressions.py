"""Bugs of the decision paths before the one-decision-path redesign (issue 11).

Each test states the behaviour the project promises; they failed on the code before
the redesign (LearnedMap's 1-D shortcut, a stale budget) and pass since.
"""
from __future__ import annotations

import numpy as np
import pytest

from uniroute import LearnedMapRouter, UniRouter
from tests.reference import soft_assign_ref



@pytest.fixture
def world(rng):
    d, T = 8, 5
    topics = rng.standard_normal((T, d)) * 2

    def prompts(n):
        t = rng.integers(0, T, n)
        return (topics[t] + rng.standard_normal((n, d))).astype(np.float32), t

    train, tt = prompts(500)
    probes, tp = prompts(250)
    skill = rng.uniform(0.1, 0.9, (6, T))
    answers = (rng.random((250, 6)) < skill[:, tp].T).astype(float)
    train_correct = (rng.random((500, 3)) < skill[:3, tt].T).astype(float)
    return prompts, train, probes, answers, train_correct


def learned(world):
    _, train, probes, answers, train_correct = world
    r = LearnedMapRouter(n_clusters=5, random_state=0, max_epochs=10, temperature=20.0)
    r.fit(train, train_correct, probes, answers[:, :3])
    for m, cost in zip(range(3, 6), (3.0, 0.2, 1.0)):
        r.add_model(f"m{m}", cost, probes, answers[:, m])
    return r


def test_learned_map_one_prompt_equals_its_batch_row(world):
    """route(x) for a (dim,) prompt must be route(x[None])[0]: the soft map, not the hard
    clusters of the compiled K-means pool."""
    prompts = world[0]
    r = learned(world)
    X, _ = prompts(300)
    phi = soft_assign_ref(X, r.map_.W, r.map_.b)
    from tests.reference import assign_ref

    hard = assign_ref(X, r.centroids_)[0]
    assert np.mean(phi.argmax(1) != hard) > 0 or np.mean(phi.max(1) < 0.9) > 0.1
    for lam in (0.0, 0.1, 1.0):
        batch = r.route(X, lam)
        np.testing.assert_array_equal([r.route(x, lam) for x in X], batch)
        np.testing.assert_array_equal([r.route_indices(x, lam) for x in X],
                                      r.route_indices(X, lam))


@pytest.mark.parametrize("change", ["observe", "update_model", "tune_shrinkage"])
def test_a_calibration_follows_the_pool_after_it_changes(world, change):
    """A Calibration describes a target, not the Psi it was solved on: after observe(),
    update_model() with new probes, or tune_shrinkage(), routing with it re-solves it on
    the current pool (before the redesign the stale lam was used silently)."""
    prompts, train, probes, answers, _ = world
    r = UniRouter(5, random_state=0).fit(train)
    for m, cost in enumerate((3.0, 0.2, 1.0)):
        r.add_model(f"m{m}", cost, probes, answers[:, m])
    X, _ = prompts(200)
    cal = r.calibrate(X, target_cost=float(np.mean(r.costs)))
    more, _ = prompts(100)
    if change == "observe":
        r.observe("m1", more, np.zeros(100))
    elif change == "update_model":
        r.update_model("m1", embeddings=more, correct=np.zeros(100))
    else:
        r.tune_shrinkage(probes, answers[:, 3:], train[:250], answers[:, 3:], grid=(0.0, 20.0))
    before = r.cluster_error_
    assert before.size and not np.isnan(before).any()
    fresh = r.calibrate(X, target_cost=float(np.mean(r.costs)))
    np.testing.assert_array_equal(r.route(X, budget=cal), r.route(X, budget=fresh))
