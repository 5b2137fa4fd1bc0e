"""calibrate(): lam for a target cost / quality / share, met exactly, mixed per prompt."""
from __future__ import annotations

import numpy as np
import pytest
from uniroute import UniRouter
from uniroute.calibration import mix_uniform

from tests._production import bundled, small_router
from tests.reference import route_ref


def _averages(r, X, lam):
    idx = r.route_indices(X, lam)
    err = r.cluster_error_[idx, r.assign(X)]
    share = np.bincount(idx, minlength=len(r.models)) / X.shape[0]
    return r.costs[idx].mean(), 1.0 - err.mean(), share


def _check_bracket(r, X, cal, value):
    """The two mixed decisions bracket the target and their mix meets it (brute force)."""
    lo, hi = value(_averages(r, X, cal.lam_low)), value(_averages(r, X, cal.lam_high))
    assert min(lo, hi) - 1e-12 <= cal.target <= max(lo, hi) + 1e-12
    assert (1 - cal.weight) * lo + cal.weight * hi == pytest.approx(cal.target, rel=1e-9)
    assert 0.0 <= cal.weight < 1.0 and cal.exact


@pytest.fixture
def routed(rng):
    r, X = small_router(rng, M=6, K=8)
    return r, X


def test_target_cost_is_met_exactly(routed):
    r, X = routed
    lo, hi = _averages(r, X, 1e6)[0], _averages(r, X, 0.0)[0]
    for target in np.linspace(lo, hi, 7)[1:-1]:
        cal = r.calibrate(X, target_cost=target)
        assert cal.kind == "cost" and cal.n_prompts == X.shape[0]
        assert cal.predicted_cost == pytest.approx(target, rel=1e-12)
        _check_bracket(r, X, cal, lambda a: a[0])
        assert cal.lam_low <= cal.lam <= cal.lam_high


def test_target_quality_and_share_are_met_exactly(routed):
    r, X = routed
    qlo, qhi = _averages(r, X, 1e6)[1], _averages(r, X, 0.0)[1]
    cal = r.calibrate(X, target_quality=0.5 * (qlo + qhi))
    assert cal.predicted_quality == pytest.approx(0.5 * (qlo + qhi), rel=1e-12)
    _check_bracket(r, X, cal, lambda a: a[1])
    top = int(np.argmax(_averages(r, X, 0.0)[2]))
    frac = 0.5 * _averages(r, X, 0.0)[2][top]
    cal = r.calibrate(X, target_share=(r.models[top], frac))
    assert cal.model == r.models[top]
    assert cal.predicted_share[r.models[top]] == pytest.approx(frac, rel=1e-12)
    _check_bracket(r, X, cal, lambda a: a[2][top])


def test_target_on_a_step_needs_no_mix(routed):
    r, X = routed
    cost_at = _averages(r, X, 0.0)[0]
    cal = r.calibrate(X, target_cost=cost_at)
    assert cal.weight == 0.0 and cal.lam == 0.0 and cal.exact
    path = r.route_path()
    lam = float(np.unique(path.lam_hi[np.isfinite(path.lam_hi)])[0]) * 1.5
    cal = r.calibrate(X, target_cost=_averages(r, X, lam)[0])
    assert cal.weight == 0.0 and cal.exact
    np.testing.assert_array_equal(r.route(X, budget=cal), r.route(X, lam))


def test_out_of_reach_targets_give_the_closest_decision(routed, caplog):
    r, X = routed
    cal = r.calibrate(X, target_cost=1e9)
    assert not cal.exact and cal.lam == 0.0
    assert cal.predicted_cost == pytest.approx(_averages(r, X, 0.0)[0])
    cal = r.calibrate(X, target_cost=0.0)
    assert not cal.exact
    assert cal.predicted_cost == pytest.approx(_averages(r, X, 1e9)[0])
    assert "out of reach" in caplog.text


def test_budget_routing_realises_the_mix_and_is_deterministic(routed, rng):
    r, X = routed
    # independent prompts (near-duplicates share a hash key by design)
    big = (X[rng.integers(0, X.shape[0], 12000)]
           + rng.standard_normal((12000, X.shape[1])).astype(np.float32))
    lo, hi = _averages(r, big, 1e6)[0], _averages(r, big, 0.0)[0]
    cal = r.calibrate(big, target_cost=0.5 * (lo + hi))
    idx = r.route_indices(big, budget=cal)
    high = mix_uniform(big) < cal.weight
    np.testing.assert_array_equal(idx[high], r.route_indices(big[high], cal.lam_high))
    np.testing.assert_array_equal(idx[~high], r.route_indices(big[~high], cal.lam_low))
    n = big.shape[0]
    assert abs(high.mean() - cal.weight) < 4 * np.sqrt(cal.weight * (1 - cal.weight) / n) + 1e-9
    perm = rng.permutation(n)
    np.testing.assert_array_equal(r.route_indices(big[perm], budget=cal), idx[perm])
    assert r.route(big[5], budget=cal) == r.models[idx[5]]


def test_budget_needs_the_same_pool(routed):
    r, X = routed
    cal = r.calibrate(X, target_cost=float(np.median(r.costs)))
    with pytest.raises(ValueError, match="lam or budget"):
        r.route(X, 0.1, budget=cal)
    r.update_model("m1", cost=123.0)  # the budget is solved again on the new pool
    fresh = r.calibrate(X, target_cost=cal.target)
    np.testing.assert_array_equal(r.route(X, budget=cal), r.route(X, budget=fresh))
    with pytest.raises(TypeError, match="Calibration"):
        r.route(X, budget=0.5)


def test_bad_calibration_requests(routed):
    r, X = routed
    with pytest.raises(ValueError, match="exactly one"):
        r.calibrate(X)
    with pytest.raises(ValueError, match="exactly one"):
        r.calibrate(X, target_cost=1.0, target_quality=0.5)
    with pytest.raises(ValueError, match="empty"):
        r.calibrate(X[:0], target_cost=1.0)
    with pytest.raises(KeyError, match="unknown model"):
        r.calibrate(X, target_share=("nope", 0.5))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        r.calibrate(X, target_quality=1.5)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        r.calibrate(X, target_share=("m0", 2.0))


def test_mix_uniform_is_uniform_and_robust_to_float16(rng):
    data = bundled()
    X = data.embeddings  # float16-stored USE embeddings, as float32
    u = mix_uniform(X)
    assert u.min() >= 0.0 and u.max() < 1.0
    hist = np.histogram(u, bins=10, range=(0, 1))[0] / u.size
    assert np.abs(hist - 0.1).max() < 0.03
    noisy = X + rng.normal(0, 3e-5, X.shape).astype(np.float32)  # float16 rounding scale
    assert (mix_uniform(noisy) == u).mean() > 0.95
    np.testing.assert_array_equal(mix_uniform(X[::-1]), u[::-1])


def test_calibrated_dollar_budget_on_real_data():
    """Bundled RouterBench slice: the target is met exactly on the calibration sample."""
    data = bundled()
    rng = np.random.default_rng(0)
    order = rng.permutation(data.n_prompts)
    train, probe, calib = order[:1600], order[1600:2000], order[2000:2600]
    X = data.embeddings
    r = UniRouter(24, random_state=0, encoder=data.encoder).fit(X[train])
    cost = data.model_cost(probe)
    for m, name in enumerate(data.models):
        r.add_model(name, cost[m], X[probe], data.quality[probe, m])
    target = 1.0e-3
    cal = r.calibrate(X[calib], target_cost=target)
    assert cal.exact and cal.predicted_cost == pytest.approx(target, rel=1e-12)
    _check_bracket(r, X[calib], cal, lambda a: a[0])


def test_probe_costs_give_the_expected_spend_per_cluster(routed, rng, tmp_path):
    r, X = routed
    probes = X[300:]
    labels = r.assign(probes)
    # a model whose real cost is 10x its price in cluster 0 and its price elsewhere
    spent = np.where(labels == 0, 10.0, 1.0)
    r.add_model("costly", 1.0, probes, np.ones(probes.shape[0]), probe_cost=spent)
    i = r.models.index("costly")
    pool = r._state
    n0 = (labels == 0).sum()
    want = np.full(r.n_clusters, 1.0)
    want[0] = (10.0 * n0 + r.shrinkage * 1.0) / (n0 + r.shrinkage)
    np.testing.assert_allclose(pool.expected_cost(r.shrinkage)[i], want)
    cal = r.calibrate(X, target_share=("costly", 1.0))
    idx = r.route_indices(X, budget=cal)
    spend = pool.expected_cost(r.shrinkage)[idx, r.assign(X)].mean()
    assert cal.predicted_cost == pytest.approx(spend, rel=1e-12)
    # kept by save/load and by pickling; observe folds more costs in
    r2 = UniRouter.from_bytes(r.to_bytes())
    np.testing.assert_array_equal(r2._state.cost_sum, pool.cost_sum)
    r.observe("costly", probes[labels == 0][:5], np.ones(5), probe_cost=np.full(5, 10.0))
    assert r._state.cost_count[i, 0] == n0 + 5
    r.update_model("costly", cost=2.0)
    st = r._state  # the new price is the prior the realised costs are shrunk toward
    assert st.expected_cost(r.shrinkage)[i, 1] == pytest.approx(
        (st.cost_sum[i, 1] + r.shrinkage * 2.0) / (st.cost_count[i, 1] + r.shrinkage))
    with pytest.raises(ValueError, match="probe_cost has length"):
        r.add_model("x", 1.0, probes, np.ones(probes.shape[0]), probe_cost=np.ones(3))
    with pytest.raises(ValueError, match="probe_cost must be finite"):
        r.add_model("x", 1.0, probes[:2], np.ones(2), probe_cost=np.array([1.0, -1.0]))
    d = cal.to_dict()
    assert d["kind"] == "share" and d["model"] == "costly" and isinstance(d["models"], list)


def test_share_target_takes_the_smallest_lam_that_meets_it():
    """A middle-priced model's share rises then falls as lam grows: a share inside both
    steps is met on the rising one (the smallest lam, the highest quality)."""
    rng = np.random.default_rng(0)
    centers = np.array([[10.0, 0.0], [-10.0, 0.0]])
    train = (centers[np.arange(40) % 2] + rng.standard_normal((40, 2))).astype(np.float32)
    r = UniRouter(2, random_state=0).fit(train)
    probes = (centers[np.arange(20) % 2] + 0.1 * rng.standard_normal((20, 2))).astype(np.float32)
    k = r.assign(probes)
    assert sorted(np.bincount(k)) == [10, 10]
    rank = np.argsort(np.argsort(np.arange(20) // 2))  # 0..9 within each cluster
    errs = {"best": (0, 1), "mid": (3, 4), "cheap": (8, 6)}  # errors per cluster of 10
    for (name, cost), (e0, e1) in zip({"best": 4.0, "mid": 1.0, "cheap": 0.1}.items(),
                                      errs.values()):
        wrong = np.where(k == 0, rank < e0, rank < e1)
        r.add_model(name, cost, probes, (~wrong).astype(float))
    X = (centers[(np.arange(300) % 3 == 0).astype(int)]
         + 0.1 * rng.standard_normal((300, 2))).astype(np.float32)
    psi, cost = r.cluster_error_, r.costs
    labels = r.assign(X)
    # brute force: the mid model's share just above every crossing lam of two models
    cross = sorted({(psi[i, c] - psi[j, c]) / (cost[j] - cost[i])
                    for c in range(2) for i in range(3) for j in range(3)
                    if cost[j] > cost[i] and psi[i, c] > psi[j, c]})
    share = [float(np.mean(route_ref(labels, psi, cost, lam * (1 + 1e-9)) == 1))
             for lam in cross]
    assert max(share) == 1.0 and share[-1] == 0.0
    target = 0.5 * next(s for s in share if s > 0)  # inside the rise and inside the fall
    first = next(lam for lam, s in zip(cross, share) if s >= target)
    assert np.mean(route_ref(labels, psi, cost, 0.0) == 1) == 0.0
    cal = r.calibrate(X, target_share=("mid", target))
    assert cal.exact and cal.predicted_share["mid"] == pytest.approx(target, rel=1e-12)
    assert cal.lam == pytest.approx(first, rel=1e-9)
    assert cal.lam_low < first < cal.lam_high
    falls = next(lam for lam, s in zip(cross, share) if lam > first and s < target)
    assert cal.lam_high < falls


def test_a_pickled_budget_forgets_its_process_local_snapshot_tokens(routed):
    """Snapshot tokens count this process's snapshots only, so an unpickled budget must
    not trust them (another process's unrelated pool may carry the same numbers): it is
    re-solved on the pool it routes on, found by the clusters' fingerprint, and routes
    exactly as the original; on a changed pool, exactly as a fresh calibrate."""
    import pickle

    r, X = routed
    lo, hi = _averages(r, X, 1e6)[0], _averages(r, X, 0.0)[0]
    cal = r.calibrate(X, target_cost=0.5 * (lo + hi))
    assert cal.pool_token >= 0 and cal.clusters_token >= 0
    back = pickle.loads(pickle.dumps(cal))
    assert (back.pool_token, back.clusters_token) == (-1, -1)
    assert back == cal and back.clusters_fingerprint == cal.clusters_fingerprint
    np.testing.assert_array_equal(r.route_indices(X, budget=back), r.route_indices(X, budget=cal))
    r.update_model(r.models[0], cost=float(r.costs[0]) * 3.0)
    fresh = r.calibrate(X, target_cost=0.5 * (lo + hi))
    np.testing.assert_array_equal(r.route_indices(X, budget=back),
                                  r.route_indices(X, budget=fresh))
