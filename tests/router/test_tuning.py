"""Probe-aware selection, soft probes and the safe option, against independent references."""
from __future__ import annotations

import pickle

import numpy as np
import pytest
from uniroute import KMeans, LearnedMapRouter, UniRouter, select_hyperparameters
from uniroute.features import (
    safe_cluster_error,
    shrunk_cluster_error,
    soft_probe_statistics,
)
from tests.reference import selection_draws_ref


def two_topic_data(rng, n=400, d=5, m=4):
    centers = np.zeros((2, d))
    centers[0, 0], centers[1, 0] = 3.0, -3.0
    side = rng.integers(0, 2, n)
    X = centers[side] + rng.standard_normal((n, d))
    skill = np.where(np.arange(m) % 2 == 0, 0.9, 0.3)
    p = np.where(side[:, None] == 0, skill, 1.2 - skill)
    return X.astype(np.float32), (rng.random((n, m)) < p).astype(float)


def test_safe_option_hand_worked():
    # 3 models x 2 clusters; model 0 is best overall (errors 10/40 vs 14/40 and 30/40)
    err = np.array([[5.0, 5.0], [1.0, 13.0], [10.0, 20.0]])
    cnt = np.full((3, 2), 20.0)
    psi = err / cnt
    cost = np.array([2.0, 1.0, 0.5])
    # cluster 0: model 1 has 1/20 vs 5/20; smoothed p~ = 1.5/21, 5.5/21;
    # z = (0.25 - 0.05) / sqrt(.0714*.9286/20 + .2619*.7381/20) = 1.777
    out = safe_cluster_error(psi, err, cnt, cost, level=1.5)
    np.testing.assert_array_equal(out, psi)  # significant at 1.5: kept
    out = safe_cluster_error(psi, err, cnt, cost, level=2.0)
    want = psi.copy()
    want[1, 0] = psi[0, 0] + 1e-9  # not significant at 2: raised just above model 0
    np.testing.assert_allclose(out, want, rtol=0, atol=1e-15)


@pytest.mark.parametrize("level", [0.0, 1.0, 2.0])
def test_safe_option_leaves_the_best_llm_only_on_evidence(rng, level):
    """Every cluster's lam = 0 choice is the best overall LLM b, or a model whose probe
    error there is lower with z > level (z recomputed here); soft-probe (fractional)
    statistics, where the shrunk argmin alone can leave b on no evidence."""
    left = 0
    for _ in range(300):
        K, M, n = int(rng.integers(1, 6)), int(rng.integers(2, 6)), int(rng.integers(5, 60))
        W = rng.dirichlet(np.full(K, 0.3), n)
        correct = (rng.random((n, M)) < rng.random(M)).astype(float)
        cost = rng.integers(1, 4, M).astype(float)
        e_sum, cnt = soft_probe_statistics(W, correct)
        psi = shrunk_cluster_error(e_sum, cnt, float(rng.choice([0.0, 1.0, 10.0])))
        safe = safe_cluster_error(psi, e_sum, cnt, cost, level)
        overall = (1.0 - correct).mean(0)
        b = min(range(M), key=lambda m: (overall[m], cost[m], m))
        order = np.argsort(cost, kind="stable")
        for k in range(K):
            pick = int(order[np.argmin(safe[order, k])])
            naive = int(order[np.argmin(psi[order, k])])
            if pick == b:
                left += naive != b
                continue
            p = e_sum[:, k] / cnt[:, k]
            s = (e_sum[:, k] + 0.5) / (cnt[:, k] + 1.0)
            z = (p[b] - p[pick]) / np.sqrt(s[b] * (1 - s[b]) / cnt[b, k]
                                           + s[pick] * (1 - s[pick]) / cnt[pick, k])
            assert p[pick] < p[b] and z > level
            assert safe[pick, k] == psi[pick, k]  # kept as estimated
    assert left > 0 or level == 0.0  # the option did change some choices


def test_soft_probes_in_add_model_match_the_reference(rng):
    X, Y = two_topic_data(rng)
    r = UniRouter(4, random_state=0, probe_temperature=2.5).fit(X[:300])
    r.add_model("a", 1.0, X[300:], Y[300:, 0])
    C = r.centroids_.astype(np.float64)
    P = X[300:].astype(np.float64)
    d2 = ((P[:, None, :] - C[None]) ** 2).sum(-1)
    W = np.exp(-(d2 - d2.min(1, keepdims=True)) / 2.5)
    W /= W.sum(1, keepdims=True)
    want = shrunk_cluster_error(*soft_probe_statistics(W, Y[300:, 0]), 1.0)
    np.testing.assert_allclose(r.cluster_error_[0], want, rtol=1e-9)


def _replay_score(X, Y, V, Yv, cost, K, strength, repeats, seed, n_probes, pool_size):
    """Independent replay of the documented procedure for one hard-probe candidate,
    scored with the evaluation's Scorer and metrics."""
    from uniroute.evaluation.decisions import ClusterErrors, Scorer
    from uniroute.evaluation.metrics import area

    A = np.vstack([X, V])
    YA = np.vstack([Y, Yv])
    draws = selection_draws_ref(A.shape[0], Y.shape[1], repeats, seed, n_probes, pool_size)
    km = KMeans(K, n_init=1, random_state=seed).fit(X)
    lab = km.predict(A)
    total = 0.0
    for probes, held, pool in draws:
        e = 1.0 - YA[np.ix_(probes, pool)]
        es = np.array([[e[lab[probes] == k, j].sum() for k in range(K)] for j in range(len(pool))])
        ct = np.array([[(lab[probes] == k).sum() for k in range(K)]] * len(pool), float)
        psi = shrunk_cluster_error(es, ct, strength)
        Qh = YA[np.ix_(held, pool)]
        scorer = Scorer(Qh, np.tile(cost[pool], (held.size, 1)), cost[pool])
        pts = scorer.points(ClusterErrors(lab[held].astype(np.int64), psi))
        total += area(pts.cost, pts.quality)
    return total / repeats


def test_selection_scores_replay_the_documented_procedure(rng):
    X, Y = two_topic_data(rng, n=360)
    cost = np.array([1.0, 2.0, 3.0, 4.0])
    sel = select_hyperparameters(X[:300], Y[:300], X[300:], Y[300:], cost, grid=(2, 4),
                                 shrinkage_grid=(0.0, 5.0), temperatures=(None,),
                                 repeats=3, pool_size=3, random_state=7)
    for K in (2, 4):
        for a in (0.0, 5.0):
            want = _replay_score(X[:300], Y[:300], X[300:], Y[300:], cost, K, a, 3, 7, 60, 3)
            assert sel.scores[(K, None, a, None)] == pytest.approx(want, abs=1e-12)
    best = sel.best()
    assert sel.scores[(best.n_clusters, None, best.shrinkage, None)] == max(sel.scores.values())


def test_auto_settings_resolve_from_training_labels_and_survive_the_file(rng, tmp_path):
    X, Y = two_topic_data(rng, n=500)
    r = UniRouter("auto", shrinkage="auto", probe_temperature="auto", safe_level="auto",
                  random_state=3)
    r.fit(X[:350], Y[:350, :3], X[350:420], Y[350:420, :3], cost=[1.0, 2.0, 3.0])
    best = r.selection_.best(safe=True)
    assert (r.n_clusters_, r.shrinkage_, r.probe_temperature_, r.safe_level_) == (
        best.n_clusters, best.shrinkage, best.probe_temperature, best.safe_level)
    assert r.get_params()["n_clusters"] == "auto"  # the parameter stays as given
    np.testing.assert_array_equal(r.centroids_, r.selection_.centroids[best.n_clusters])
    r.add_model("x", 1.0, X[420:], Y[420:, 3]).add_model("y", 0.5, X[420:], Y[420:, 0])
    r.save(tmp_path / "r.npz")
    Q = X[:50]
    for other in (UniRouter.load(tmp_path / "r.npz"), pickle.loads(pickle.dumps(r))):
        assert (other.probe_temperature_, other.safe_level_) == (r.probe_temperature_,
                                                                 r.safe_level_)
        np.testing.assert_array_equal(other.cluster_error_, r.cluster_error_)
        np.testing.assert_array_equal(other.route(Q, lam=0.1), r.route(Q, lam=0.1))


def test_learned_map_takes_the_same_selection(rng):
    X, Y = two_topic_data(rng, n=500)
    args = (X[:350], Y[:350, :3], X[350:420], Y[350:420, :3])
    km = UniRouter("auto", shrinkage="auto", random_state=3).fit(*args)
    lm = LearnedMapRouter("auto", shrinkage="auto", random_state=3, max_epochs=2).fit(*args)
    assert (lm.n_clusters_, lm.shrinkage_) == (km.n_clusters_, km.shrinkage_)
    np.testing.assert_array_equal(lm.centroids_, km.centroids_)


def test_auto_without_labels_is_a_clear_error(rng):
    X, _ = two_topic_data(rng, n=100)
    with pytest.raises(ValueError, match="training LLMs' labels"):
        UniRouter("auto").fit(X)
    with pytest.raises(ValueError, match="safe_level must be a finite number"):
        UniRouter(3, safe_level=-1.0).fit(X)
    with pytest.raises(ValueError, match="probe_temperature must be > 0"):
        UniRouter(3, probe_temperature=0.0).fit(X)


def test_probe_rows_give_float64_distances_on_every_drawn_probe():
    from uniroute.tuning import _ProbeRows

    rng = np.random.default_rng(5)
    A = rng.standard_normal((50, 6)).astype(np.float32)
    C = rng.standard_normal((4, 6)).astype(np.float32)
    draws = [(np.array([1, 7, 9]), None, None), (np.array([7, 30]), None, None)]
    rows = _ProbeRows(A, draws)
    D2 = rows.sqdist(C)
    A64, C64 = A.astype(np.float64), C.astype(np.float64)
    ref = ((A64[:, None, :] - C64[None]) ** 2).sum(-1)
    probes = [1, 7, 9, 30]
    assert D2.shape == (4, 4)  # the probe rows only
    np.testing.assert_allclose(D2[rows.at[probes]], ref[probes], rtol=1e-12, atol=1e-12)
    assert (rows.at[np.setdiff1d(np.arange(50), probes)] == -1).all()
