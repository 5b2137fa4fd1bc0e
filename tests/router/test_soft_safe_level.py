"""LearnedMap's safe level, chosen on its own soft route (issue 13): the selection's
safe-level draws replayed through ``Phi(x) . Psi``, against an independent replay through
the public API (pooled LLMs joined by ``add_model``, ``predict_error``, the evaluation's
Scorer)."""
from __future__ import annotations

import pickle

import numpy as np
import pytest
from uniroute import LearnedMapRouter, select_hyperparameters
from uniroute._safe_level import least_level
from uniroute._soft_safe import soft_route_peaks, soft_safe_levels
from uniroute.evaluation.decisions import PromptErrors, Scorer
from tests.reference import selection_draws_ref

LEVELS = (0.0, 0.5, 1.0, 2.0, 4.0)
COST = np.array([1.0, 2.0, 3.0, 4.0])


def _topic_data(rng, n=420, d=4):
    side = rng.integers(0, 2, n)  # two overlapping topics: a soft map differs from hard
    X = rng.standard_normal((n, d)) + np.where(side == 0, 1.0, -1.0)[:, None] * np.eye(d)[0]
    skill = np.array([0.9, 0.35, 0.55, 0.6])
    p = np.where(side[:, None] == 0, skill, skill[::-1])
    return X.astype(np.float32), (rng.random((n, 4)) < p).astype(float)


def _replay(router, A, YA, draws, levels):
    """Per draw and level, the curve's best quality: the draw's pooled LLMs join a copy
    of the router by their probe answers (``add_model``), the copy predicts the held-out
    prompts' errors and the Scorer traces the exact curve; and the pooled best LLM's."""
    peaks = np.empty((len(draws), len(levels)))
    best = np.empty(len(draws))
    for i, (probes, held, pool) in enumerate(draws):
        Qh = YA[np.ix_(held, pool)]
        scorer = Scorer(Qh, np.tile(COST[pool], (held.size, 1)), COST[pool])
        best[i] = scorer.best_quality
        for j, z in enumerate(levels):
            r = pickle.loads(pickle.dumps(router))
            r.safe_level_ = z
            for m in pool:
                r.add_model(f"llm{m}", float(COST[m]), A[probes], YA[probes, m])
            peaks[i, j] = scorer.points(PromptErrors(r.predict_error(A[held]))).quality.max()
    return peaks, best


def _rates(peaks, best, levels):
    hit = peaks >= best[:, None] - 1e-9
    return {z: float(hit[:, j].mean()) for j, z in enumerate(levels)}


@pytest.fixture(scope="module")
def fitted():
    X, Y = _topic_data(np.random.default_rng(4))
    tr, va = slice(0, 300), slice(300, None)
    r = LearnedMapRouter(n_clusters=6, shrinkage=3.0, random_state=0, max_epochs=10)
    r.fit(X[tr], Y[tr], X[va], Y[va], cost=COST)
    return r, np.vstack([X[tr], X[va]]), np.vstack([Y[tr], Y[va]])


def test_soft_reach_matches_a_public_api_replay(fitted):
    router, A, YA = fitted
    draws = selection_draws_ref(A.shape[0], 4, 16, 7, 40, 3)
    peaks, best = soft_route_peaks(router, A, YA, COST, draws, LEVELS)
    want_peaks, want_best = _replay(router, A, YA, draws, LEVELS)
    np.testing.assert_allclose(best, want_best, rtol=0, atol=1e-12)
    np.testing.assert_allclose(peaks, want_peaks, rtol=0, atol=1e-12)
    rates = _rates(want_peaks, want_best, LEVELS)
    assert soft_safe_levels(router, A, YA, COST, draws, LEVELS) == rates
    assert len(set(rates.values())) > 1  # the levels differ: the case bites


def test_soft_route_is_not_the_cluster_route(fitted):
    from uniroute._safe_level import curve_peak
    from uniroute.features import probe_statistics, safe_cluster_error, shrunk_cluster_error

    router, A, YA = fitted
    draws = selection_draws_ref(A.shape[0], 4, 16, 7, 40, 3)
    peaks, _ = soft_route_peaks(router, A, YA, COST, draws, LEVELS)
    C = np.asarray(router.centroids_, np.float64)
    labels = np.argmin(((A[:, None, :] - C[None]) ** 2).sum(-1), axis=1)
    K = router.n_clusters_
    differ = 0
    for i, (probes, held, pool) in enumerate(draws):
        stats = probe_statistics(labels[probes], YA[np.ix_(probes, pool)], K)
        psi = shrunk_cluster_error(*stats, 3.0)
        for j, z in enumerate(LEVELS):
            p = safe_cluster_error(psi, *stats, COST[pool], z)
            Q = YA[np.ix_(held, pool)]
            onehot = np.eye(K)[labels[held]]
            hard = curve_peak(Q, np.ones(held.size), np.ascontiguousarray((onehot @ p.T).T),
                              COST[pool])
            differ += abs(hard - peaks[i, j]) > 1e-9
    assert differ > len(draws)  # the map's own route, not the clusters'


def test_selection_keeps_its_safe_draws():
    X, Y = _topic_data(np.random.default_rng(2))
    sel = select_hyperparameters(X[:300], Y[:300], X[300:], Y[300:], COST, grid=(2,),
                                 shrinkage_grid=(3.0,), temperatures=(None,),
                                 safe_levels=(0.0, 1.0), repeats=3, safe_repeats=7,
                                 pool_size=3, random_state=5)
    want = selection_draws_ref(X.shape[0], 4, 7, 5, 120, 3)
    assert len(sel.draws) == 7
    for got, ref in zip(sel.draws, want):
        for a, b in zip(got, ref):
            np.testing.assert_array_equal(a, b)
    plain = select_hyperparameters(X[:300], Y[:300], X[300:], Y[300:], COST, grid=(2,),
                                   repeats=2, random_state=5)
    assert plain.draws == []


def test_auto_level_is_the_least_level_reaching_95_percent_on_the_map():
    X, Y = _topic_data(np.random.default_rng(9))
    tr, va = slice(0, 300), slice(300, None)
    r = LearnedMapRouter(n_clusters="auto", shrinkage="auto", safe_level="auto",
                         random_state=3, max_epochs=10)
    r.selection_grid = (2, 3)
    r.fit(X[tr], Y[tr], X[va], Y[va], cost=COST)
    A, YA = np.vstack([X[tr], X[va]]), np.vstack([Y[tr], Y[va]])
    from uniroute.tuning import DEFAULT_SAFE_LEVELS

    want = _rates(*_replay(r, A, YA, r.selection_.draws, DEFAULT_SAFE_LEVELS),
                  DEFAULT_SAFE_LEVELS)
    assert r.safe_reach_ == want
    good = [z for z in DEFAULT_SAFE_LEVELS if want[z] >= 0.95]
    assert r.safe_level_ == (good[0] if good else max(DEFAULT_SAFE_LEVELS))
    # LLMs added afterwards get the option at that level
    from uniroute.features import probe_statistics, safe_cluster_error, shrunk_cluster_error

    for m in (0, 1, 2):
        r.add_model(f"llm{m}", float(COST[m]), X[va], Y[va, m])
    C = np.asarray(r.centroids_, np.float64)
    lab = np.argmin(((X[va][:, None, :] - C[None]) ** 2).sum(-1), axis=1)
    stats = probe_statistics(lab, Y[va, :3], C.shape[0])
    psi = shrunk_cluster_error(*stats, r.shrinkage_)
    np.testing.assert_allclose(
        r.cluster_error_, safe_cluster_error(psi, *stats, COST[:3], r.safe_level_), atol=1e-12)
    plain = LearnedMapRouter(n_clusters=2, random_state=3, max_epochs=5).fit(
        X[tr], Y[tr], X[va], Y[va])
    assert plain.safe_reach_ is None and plain.safe_level_ is None


@pytest.mark.parametrize("reach, want", [
    ({0.0: 0.9, 0.5: 0.95, 4.0: 1.0}, 0.5),
    ({4.0: 1.0, 0.0: 0.97}, 0.0),
    ({0.0: 0.5, 1.0: 0.94}, 1.0),
    ({0.0: 0.5, 1.0: 0.9, 4.0: 0.925}, 4.0),  # none qualifies: the largest level
])
def test_least_level(reach, want):
    assert least_level(reach) == want


def test_soft_reach_needs_draws(fitted):
    router, A, YA = fitted
    with pytest.raises(ValueError, match="draws is empty"):
        soft_safe_levels(router, A, YA, COST, [], LEVELS)


def test_missing_labels_count_as_the_llms_held_out_mean(fitted):
    router, A, YA = fitted
    probes, held, pool = selection_draws_ref(A.shape[0], 4, 1, 3, 40, 4)[0]
    Y = YA.copy()
    rng = np.random.default_rng(0)
    gone = rng.random(Y.shape) < 0.1
    gone[probes] = False  # probes fully answered: only the held-out labels go missing
    Y[gone] = np.nan
    filled = Y.copy()
    Qh = Y[held]
    mean = np.nanmean(Qh, axis=0)
    filled[held] = np.where(np.isnan(Qh), mean, Qh)
    got = soft_route_peaks(router, A, Y, COST, [(probes, held, pool)], LEVELS)
    want = soft_route_peaks(router, A, filled, COST, [(probes, held, pool)], LEVELS)
    np.testing.assert_allclose(got[0], want[0], atol=1e-12)
    np.testing.assert_allclose(got[1], want[1], atol=1e-12)
    assert np.isfinite(got[0]).all()


def test_an_llm_with_one_or_no_held_out_label(fitted):
    """One answered held-out label: the LLM's mean is that label; none: it counts as 0
    (as the selection's held-out sums do), never NaN."""
    router, A, YA = fitted
    probes, held, pool = selection_draws_ref(A.shape[0], 4, 1, 3, 40, 4)[0]
    for keep, fill in ((1, None), (0, 0.0)):
        Y = YA.copy()
        Y[held[keep:], 2] = np.nan
        Y[held[:keep], 2] = 1.0
        filled = Y.copy()
        filled[held, 2] = 1.0 if fill is None else fill
        got = soft_route_peaks(router, A, Y, COST, [(probes, held, pool)], LEVELS)
        want = soft_route_peaks(router, A, filled, COST, [(probes, held, pool)], LEVELS)
        np.testing.assert_allclose(got[0], want[0], atol=1e-12)
        np.testing.assert_allclose(got[1], want[1], atol=1e-12)
