"""route(..., allowed=, max_cost=): exclusion inside the argmin, fallback, strictness."""
from __future__ import annotations

import numpy as np
import pytest
from uniroute import NoFeasibleModelError

from tests._production import small_router


def constrained_ref(psi, cost, labels, lam, allowed, cap, strict=False):
    """Brute force, one prompt at a time, straight from the documented rule."""
    n, M = labels.shape[0], cost.shape[0]
    allowed = np.broadcast_to(np.ones(M, bool) if allowed is None else allowed, (n, M))
    cap = np.broadcast_to(np.full(n, np.inf) if cap is None else cap, (n,))
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        feas = [m for m in range(M) if allowed[i, m] and cost[m] <= cap[i]]
        if not feas:
            ok = [m for m in range(M) if allowed[i, m]]
            if not ok or strict:
                raise NoFeasibleModelError("ref")
            out[i] = min(ok, key=lambda m: (cost[m], m))
            continue
        score = {m: psi[m, labels[i]] + lam * cost[m] for m in feas}
        best = min(score.values())
        out[i] = min((m for m in feas if score[m] == best), key=lambda m: (cost[m], m))
    return out


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("lam", [0.0, 0.03, 0.2, 5.0])
def test_per_prompt_masks_and_caps_match_the_reference(seed, lam):
    rng = np.random.default_rng(seed)
    r, X = small_router(rng, M=6, duplicate=True)
    psi, cost, labels = r.cluster_error_, r.costs, r.assign(X)
    n, M = X.shape[0], cost.size
    allowed = rng.random((n, M)) < 0.6
    allowed[np.arange(n), rng.integers(0, M, n)] = True  # nothing-allowed is tested below
    cap = rng.choice([0.05, 0.3, 1.0, 2.0, np.inf], n)
    got = r.route_indices(X, lam, allowed=allowed, max_cost=cap)
    np.testing.assert_array_equal(got, constrained_ref(psi, cost, labels, lam, allowed, cap))
    names = r.route(X, lam, allowed=allowed, max_cost=cap)
    np.testing.assert_array_equal(names, np.asarray(r.models)[got])


@pytest.mark.parametrize("seed", range(4))
def test_shared_mask_and_scalar_cap_match_the_reference(seed):
    rng = np.random.default_rng(100 + seed)
    r, X = small_router(rng, M=6, duplicate=True)
    names = [r.models[i] for i in rng.choice(len(r.models), 3, replace=False)]
    mask = np.isin(r.models, names)
    for lam in (0.0, 0.1, 3.0):
        for cap in (None, 0.5, 2.0, 0.01):
            want = constrained_ref(r.cluster_error_, r.costs, r.assign(X), lam, mask,
                                   None if cap is None else np.full(X.shape[0], cap))
            np.testing.assert_array_equal(
                r.route_indices(X, lam, allowed=names, max_cost=cap), want)
            np.testing.assert_array_equal(
                r.route_indices(X, lam, allowed=mask, max_cost=cap), want)


def test_no_constraint_is_the_plain_route(rng):
    r, X = small_router(rng, duplicate=True)
    everything = np.ones((X.shape[0], len(r.models)), bool)
    for lam in (0.0, 0.07, 1.0):
        np.testing.assert_array_equal(r.route_indices(X, lam, allowed=everything),
                                      r.route_indices(X, lam))
        np.testing.assert_array_equal(r.route_indices(X, lam, max_cost=np.inf),
                                      r.route_indices(X, lam))


def test_exact_tie_goes_to_the_cheaper_then_lower_index(rng):
    r, X = small_router(rng, duplicate=True)  # 'twin' == m0 in error and cost
    i0, twin = r.models.index("m0"), r.models.index("twin")
    allowed = np.zeros(len(r.models), bool)
    allowed[[i0, twin]] = True
    per_row = np.tile(allowed, (X.shape[0], 1))
    assert set(r.route(X, 0.0, allowed=per_row)) == {"m0"}
    assert set(r.route(X, 0.0, allowed=["twin", "m0"])) == {"m0"}


def test_outage_excludes_a_model(rng):
    r, X = small_router(rng)
    top = r.route(X, 0.0)
    busiest = max(set(top), key=list(top).count)
    up = [m for m in r.models if m != busiest]
    assert busiest not in set(r.route(X, 0.0, allowed=up))


def test_fallback_is_the_cheapest_allowed_model(rng):
    r, X = small_router(rng)
    cheapest = r.models[int(np.argmin(r.costs))]
    assert set(r.route(X, 0.0, max_cost=0.0)) == {cheapest}
    allowed = [m for m in r.models if m != cheapest]
    second = min(allowed, key=lambda m: (r.costs[r.models.index(m)], r.models.index(m)))
    assert set(r.route(X, 0.0, allowed=allowed, max_cost=0.0)) == {second}
    caps = np.where(np.arange(X.shape[0]) % 2 == 0, 0.0, np.inf)
    mixed = r.route(X, 0.0, max_cost=caps)
    assert set(mixed[::2]) == {cheapest}
    np.testing.assert_array_equal(mixed[1::2], r.route(X[1::2], 0.0))


def test_strict_raises_instead_of_falling_back(rng):
    r, X = small_router(rng)
    with pytest.raises(NoFeasibleModelError, match="strict"):
        r.route(X, 0.0, max_cost=0.0, strict=True)
    caps = np.full(X.shape[0], np.inf)
    caps[7] = 0.0
    with pytest.raises(NoFeasibleModelError, match="index 7"):
        r.route(X, 0.0, max_cost=caps, strict=True)
    assert r.route(X, 0.0, max_cost=1e9, strict=True).shape == (X.shape[0],)


def test_nothing_allowed_is_an_error_even_without_strict(rng):
    r, X = small_router(rng)
    with pytest.raises(NoFeasibleModelError, match="allowed excludes every model"):
        r.route(X, 0.0, allowed=np.zeros(len(r.models), bool))
    rows = np.ones((X.shape[0], len(r.models)), bool)
    rows[3] = False
    with pytest.raises(NoFeasibleModelError, match="index 3"):
        r.route(X, 0.0, allowed=rows)


def test_bad_constraints_are_clear_errors(rng):
    r, X = small_router(rng)
    with pytest.raises(KeyError, match="unknown model 'gpt-9'"):
        r.route(X, allowed=["m0", "gpt-9"])
    with pytest.raises(ValueError, match="allowed has shape"):
        r.route(X, allowed=np.ones(len(r.models) + 1, bool))
    with pytest.raises(TypeError, match="allowed must be"):
        r.route(X, allowed=np.ones(len(r.models)))
    with pytest.raises(ValueError, match="max_cost"):
        r.route(X, max_cost=np.ones(3))
    with pytest.raises(ValueError, match="max_cost contains NaN"):
        r.route(X, max_cost=np.nan)


def test_single_prompt_and_empty_batch(rng):
    r, X = small_router(rng)
    for lam in (0.0, 0.5):
        batch = r.route(X[:50], lam, allowed=["m1", "m2"], max_cost=2.0)
        assert [r.route(x, lam, allowed=["m1", "m2"], max_cost=2.0) for x in X[:50]] \
            == batch.tolist()
        # by hand: the better of m1 and m2 (within the cap) on each prompt's cluster
        psi, cost, k = r.cluster_error_, r.costs, r.assign(X[:50])
        ok = [m for m in (1, 2) if cost[m] <= 2.0] or [min((1, 2), key=lambda m: cost[m])]
        want = [min(ok, key=lambda m: (psi[m, c] + lam * cost[m], cost[m], m)) for c in k]
        assert batch.tolist() == [f"m{m}" for m in want]
    assert r.route(X[:0], 0.0, allowed=["m1"], max_cost=0.0).shape == (0,)
