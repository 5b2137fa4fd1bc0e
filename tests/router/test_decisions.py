"""One decision, every entry point: 1-D and batch, lam > 0, constraints, against brute force.

The pools here put the cheapest model at a middle index, so an index-order tie rule or
fallback cannot pass for the cost-order one.
"""
from __future__ import annotations

import numpy as np
import pytest

from uniroute import LearnedMapRouter, UniRouter
from tests.reference import (assign_ref, cluster_error_ref, masked_route_ref, route_ref,
                             soft_assign_ref)

LAMS = (0.0, 0.02, 0.1, 0.3, 1, 3.0)
COSTS = {"pricey": 4.0, "cheap": 0.25, "mid": 1.0, "twin": 4.0}


@pytest.fixture
def world(rng):
    """6 topics, 4 models (cheapest at index 1); returns (prompts, train, probes, answers)."""
    d, T = 8, 6
    topics = rng.standard_normal((T, d)) * 4
    skill = rng.uniform(0.05, 0.95, (4, T))

    def prompts(n):
        t = rng.integers(0, T, n)
        return (topics[t] + rng.standard_normal((n, d))).astype(np.float32), t

    train, _ = prompts(600)
    probes, t = prompts(300)
    answers = (rng.random((300, 4)) < skill[:, t].T).astype(float)
    answers[:, 3] = answers[:, 0]  # 'twin' answers as 'pricey' does, at the same price
    return prompts, train, probes, answers


def uni(world, shrinkage=1.0):
    _, train, probes, answers = world
    r = UniRouter(n_clusters=6, random_state=0, shrinkage=shrinkage).fit(train)
    for m, (name, cost) in enumerate(COSTS.items()):
        r.add_model(name, cost, probes, answers[:, m])
    return r


def psi_reference(r, probes, answers, strength):
    labels = assign_ref(probes, r.centroids_)[0]
    return np.stack([cluster_error_ref(labels, answers[:, m], r.n_clusters, strength)
                     for m in range(answers.shape[1])])


def test_uniroute_one_prompt_equals_its_batch_row_and_brute_force(world):
    prompts, _, probes, answers = world
    r = uni(world)
    X, _ = prompts(200)
    psi = psi_reference(r, probes, answers, 1.0)
    np.testing.assert_allclose(r.cluster_error_, psi, rtol=1e-12)
    labels = assign_ref(X, r.centroids_)[0]
    np.testing.assert_array_equal(r.assign(X), labels)
    cost = np.array(list(COSTS.values()))
    changed = 0
    for lam in LAMS:
        want = route_ref(labels, psi, cost, lam)
        changed += int(np.any(want != route_ref(labels, psi, cost, 0.0)))
        np.testing.assert_array_equal(r.route_indices(X, lam), want)
        np.testing.assert_array_equal([r.route_indices(x, lam) for x in X], want)
        np.testing.assert_array_equal([r.route(x, lam) for x in X], np.array(r.models)[want])
    assert changed >= 3, "the data must make lam change the decision"


def test_uniroute_constrained_one_prompt_equals_batch_and_masked_brute_force(world):
    prompts, _, probes, answers = world
    r = uni(world)
    X, _ = prompts(120)
    psi = psi_reference(r, probes, answers, 1.0)
    cost = np.array(list(COSTS.values()))
    scores0 = psi.T[assign_ref(X, r.centroids_)[0]]
    rows = np.random.default_rng(3).random((120, 4)) < 0.6
    rows[~rows.any(1), 2] = True  # every prompt allows something
    caps = np.where(np.arange(120) % 3 == 0, 0.1, np.where(np.arange(120) % 3 == 1, 1.0, 9.0))
    for lam in (0.0, 0.1, 1.0):
        scores = scores0 + lam * cost
        for allowed, mask in ((["pricey", "mid", "twin"], np.array([1, 0, 1, 1], bool)),
                              (rows, rows)):
            for cap in (None, 0.5, caps):
                feasible = np.broadcast_to(mask, (120, 4)).copy()
                if cap is not None:
                    feasible &= cost[None, :] <= np.broadcast_to(cap, (120,))[:, None]
                want = masked_route_ref(scores, cost, feasible, np.broadcast_to(mask, (120, 4)))
                got = r.route_indices(X, lam, allowed=allowed, max_cost=cap)
                np.testing.assert_array_equal(got, want)
                if mask.ndim == 1 and (cap is None or np.ndim(cap) == 0):
                    one = [r.route_indices(x, lam, allowed=allowed, max_cost=cap) for x in X]
                    np.testing.assert_array_equal(one, want)


def test_uniroute_ties_go_to_the_cheaper_then_the_earlier_model(world):
    prompts, _, _, _ = world
    r = uni(world)
    X, _ = prompts(200)
    # 'pricey' (0) and 'twin' (3) tie exactly at every lam: the earlier one wins
    assert 3 not in set(r.route_indices(X, 0.0))
    r.update_model("twin", cost=0.5)  # now the cheaper of the two equal models
    idx = r.route_indices(X, 0.0)
    assert 0 not in set(idx) and 3 in set(idx)
    idx_masked = r.route_indices(X, 0.0, allowed=["pricey", "twin", "mid"])
    assert 0 not in set(idx_masked) and 3 in set(idx_masked)


def test_observe_uses_the_routers_shrinkage(world):
    """observe() re-estimates Psi with the router's strength, not the default 1."""
    prompts, _, probes, answers = world
    r = uni(world, shrinkage=5.0)
    more, t = prompts(200)
    feedback = (np.random.default_rng(5).random(200) < 0.3).astype(float)
    r.observe("mid", more, feedback)
    labels = np.concatenate([assign_ref(probes, r.centroids_)[0], assign_ref(more, r.centroids_)[0]])
    want = cluster_error_ref(labels, np.concatenate([answers[:, 2], feedback]), 6, 5.0)
    np.testing.assert_allclose(r.cluster_error_[2], want, rtol=1e-12)
    np.testing.assert_allclose(r.cluster_error_[0], psi_reference(r, probes, answers, 5.0)[0],
                               rtol=1e-12)
    assert not np.allclose(want, cluster_error_ref(labels, np.concatenate(
        [answers[:, 2], feedback]), 6, 1.0)), "strength 1 must give another Psi here"


def _sample_cost(r, X, psi, lam):
    return r.costs[route_ref(assign_ref(X, r.centroids_)[0], psi, r.costs, lam)].mean()


@pytest.mark.parametrize("change", ["observe", "update_model", "tune_shrinkage"])
def test_calibrate_after_a_pool_change_uses_the_new_pool(world, change):
    prompts, _, probes, answers = world
    r = uni(world)
    X, _ = prompts(400)
    more, _ = prompts(150)
    extra = (np.random.default_rng(9).random(150) < 0.9).astype(float)
    strength = 1.0
    if change == "observe":
        r.observe("cheap", more, extra)
        answers = np.vstack([answers, np.full((150, 4), np.nan)])
        answers[300:, 1] = extra
        probes = np.vstack([probes, more])
    elif change == "update_model":
        r.update_model("cheap", embeddings=more, correct=extra)
        probes, answers = more, np.full((150, 4), np.nan)
        answers[:, 1] = extra
        psi_other = psi_reference(r, world[2], world[3], 1.0)
    else:
        H, _ = prompts(300)
        Yp = (np.random.default_rng(1).random((300, 2)) < 0.5).astype(float)
        Yh = (np.random.default_rng(2).random((300, 2)) < 0.5).astype(float)
        r.tune_shrinkage(world[2], Yp, H, Yh, grid=(0.0, 7.0))
        strength = r.shrinkage_
    psi = psi_reference(r, probes, answers, strength)
    if change == "update_model":
        psi[[0, 2, 3]] = psi_other[[0, 2, 3]]
    np.testing.assert_allclose(r.cluster_error_, psi, rtol=1e-12)
    lo, hi = _sample_cost(r, X, psi, 1e6), _sample_cost(r, X, psi, 0.0)
    for target in (0.3 * lo + 0.7 * hi, 0.7 * lo + 0.3 * hi):
        cal = r.calibrate(X, target_cost=target)
        a, b = _sample_cost(r, X, psi, cal.lam_low), _sample_cost(r, X, psi, cal.lam_high)
        assert min(a, b) - 1e-12 <= target <= max(a, b) + 1e-12
        assert (1 - cal.weight) * a + cal.weight * b == pytest.approx(target, rel=1e-9)
        assert cal.exact
        got = r.route_indices(X, budget=cal)
        if cal.weight == 0.0:
            np.testing.assert_array_equal(got, r.route_indices(X, cal.lam_low))


# ---------------------------------------------------------------- LearnedMapRouter
def learned(world, **kw):
    prompts, train, probes, answers = world
    rng = np.random.default_rng(7)
    t_correct = (rng.random((600, 3)) < 0.6).astype(float)
    v_correct = (rng.random((300, 3)) < 0.6).astype(float)
    r = LearnedMapRouter(n_clusters=6, random_state=0, max_epochs=3, **kw)
    r.fit(train, t_correct, probes, v_correct)
    for m, (name, cost) in enumerate(COSTS.items()):
        r.add_model(name, cost, probes, answers[:, m])
    return r


def test_learned_map_batch_equals_a_dense_brute_force_with_constraints(world):
    prompts, _, probes, answers = world
    r = learned(world)
    X, _ = prompts(150)
    W, b = r.map_.W, r.map_.b
    phi = soft_assign_ref(X, W, b)
    np.testing.assert_allclose(r.soft_assign(X), phi, atol=1e-5)
    psi = psi_reference(r, probes, answers, 1.0)
    np.testing.assert_allclose(r.cluster_error_, psi, rtol=1e-12)
    cost = np.array(list(COSTS.values()))
    p_err = phi @ psi.T
    np.testing.assert_allclose(r.predict_error(X), p_err, atol=1e-5)
    # ties between 'pricey' and 'twin' are exact; other near-ties are avoided by margin
    for lam in (0.0, 0.05, 0.5):
        s = p_err + lam * cost
        part = np.sort(s[:, :3], axis=1)  # 'twin' (3) always ties 'pricey' (0) exactly
        clear = (part[:, 1] - part[:, 0]) > 1e-4
        want = route_ref(phi, psi, cost, lam)
        np.testing.assert_array_equal(r.route_indices(X, lam)[clear], want[clear])
        mask = np.array([1, 1, 0, 1], bool)
        feasible = np.broadcast_to(mask, (150, 4))
        want_m = masked_route_ref(np.where(feasible, s, np.inf), cost, feasible, feasible)
        got_m = r.route_indices(X, lam, allowed=["pricey", "cheap", "twin"])
        np.testing.assert_array_equal(got_m[clear], want_m[clear])
        one = [r.route_indices(x, lam, allowed=["pricey", "cheap", "twin"]) for x in X]
        np.testing.assert_array_equal(one, got_m)


def test_learned_map_masked_ties_and_fallback_follow_cost_order(world):
    """The masked route breaks exact ties to the cheaper model and falls back to the
    cheapest allowed model, which here is not the first in the pool."""
    prompts, _, _, _ = world
    r = learned(world)
    X, _ = prompts(100)
    r.update_model("twin", cost=0.5)  # equal Psi to 'pricey', now cheaper
    got = r.route(X, 0.0, allowed=["pricey", "twin", "mid"])
    assert "pricey" not in set(got) and "twin" in set(got)
    np.testing.assert_array_equal(got == "twin", r.route(X, 0.0, allowed=["pricey", "mid"])
                                  == "pricey")
    # nothing within the cap: the cheapest allowed model ('cheap', index 1; then 'twin')
    assert set(r.route(X, 0.0, max_cost=0.1)) == {"cheap"}
    assert set(r.route(X, 0.0, allowed=["pricey", "twin", "mid"], max_cost=0.1)) == {"twin"}
    rows = np.ones((100, 4), bool)
    rows[::2, 1] = False
    out = r.route(X, 0.0, allowed=rows, max_cost=0.1)
    np.testing.assert_array_equal(out, np.where(np.arange(100) % 2, "cheap", "twin"))
