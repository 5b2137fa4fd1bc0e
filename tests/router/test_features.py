from __future__ import annotations

import numpy as np
import pytest

from uniroute.features import (bernoulli_log_likelihood, choose_shrinkage, mean_backoff_cluster_error,
                               probe_statistics, shrunk_cluster_error, soft_probe_statistics)


def test_hand_worked_estimators():
    # Cluster 0: 3 probes, 1 error; cluster 1: 1 probe, 0 errors; cluster 2: empty.
    labels = np.array([0, 0, 0, 1])
    correct = np.array([1.0, 0.0, 1.0, 1.0])
    err_sum, count = probe_statistics(labels, correct, 3)
    np.testing.assert_array_equal(err_sum, [1, 0, 0])
    np.testing.assert_array_equal(count, [3, 1, 0])
    np.testing.assert_allclose(mean_backoff_cluster_error(err_sum, count), [1 / 3, 0.0, 0.25])
    overall = (1 + 0.5) / (4 + 1)
    np.testing.assert_allclose(shrunk_cluster_error(err_sum, count, 2.0),
                               [(1 + 2 * overall) / 5, (0 + 2 * overall) / 3, overall])
    np.testing.assert_allclose(shrunk_cluster_error(err_sum, count, 0.0), [1 / 3, 0.0, overall])
    # the default strength is 1 probe prompt
    np.testing.assert_allclose(shrunk_cluster_error(err_sum, count),
                               [(1 + overall) / 4, overall / 2, overall])
    # a pool (M, K) is row by row: model 2 answered one probe in cluster 2, wrongly
    pool_err, pool_cnt = np.stack([err_sum, [0, 0, 1]]), np.stack([count, [0, 0, 1]])
    np.testing.assert_allclose(mean_backoff_cluster_error(pool_err, pool_cnt),
                               [[1 / 3, 0.0, 0.25], [1.0, 1.0, 1.0]])
    np.testing.assert_allclose(shrunk_cluster_error(pool_err, pool_cnt, 2.0)[1],
                               [1.5 / 2, 1.5 / 2, (1 + 2 * 0.75) / 3])
    with pytest.raises(ValueError, match="shrinkage"):
        shrunk_cluster_error(err_sum, count, -1.0)


def test_soft_probes_reduce_to_hard_with_one_hot_weights(rng):
    labels = rng.integers(0, 4, 50)
    correct = rng.random(50)
    correct[::7] = np.nan
    hard = probe_statistics(labels, correct, 4)
    soft = soft_probe_statistics(np.eye(4)[labels], correct)
    np.testing.assert_allclose(soft[0], hard[0])
    np.testing.assert_allclose(soft[1], hard[1])
    both = soft_probe_statistics(np.eye(4)[labels], np.stack([correct, correct], 1))
    np.testing.assert_allclose(both[0][1], hard[0])


def test_choose_shrinkage_prefers_strong_pooling_when_clusters_do_not_matter(rng):
    n, M, K = 400, 4, 20
    acc = rng.uniform(0.3, 0.9, M)  # cluster-independent accuracy
    probe = (rng.random((60, M)) < acc).astype(float)
    held = (rng.random((n, M)) < acc).astype(float)
    best, scores = choose_shrinkage(rng.integers(0, K, 60), probe, rng.integers(0, K, n), held, K)
    assert best >= 10.0 and scores[best] > scores[0.0]


def test_log_likelihood_hand_case():
    psi = np.array([[0.25, 0.5]])
    ll = bernoulli_log_likelihood(psi, np.array([0, 1]), np.array([[1.0], [0.0]]))
    assert ll == pytest.approx((np.log(0.75) + np.log(0.5)) / 2)
    # no answered label: no evidence, a log-likelihood of exactly 0 (not a NaN mean)
    assert bernoulli_log_likelihood(psi, np.array([0, 1]), np.full((2, 1), np.nan)) == 0.0


def test_probe_statistics_of_several_models_stack_the_single_model_ones(rng):
    labels = rng.integers(0, 5, 40)
    correct = (rng.random((40, 3)) < 0.6).astype(float)
    correct[rng.random((40, 3)) < 0.2] = np.nan
    err_sum, count = probe_statistics(labels, correct, 5)
    for m in range(3):
        e, c = probe_statistics(labels, correct[:, m], 5)
        np.testing.assert_array_equal(err_sum[m], e)
        np.testing.assert_array_equal(count[m], c)
    assert err_sum.shape == count.shape == (3, 5)


def test_choose_shrinkage_breaks_ties_to_the_smaller_strength():
    # Every cluster holds 2 probes with 1 error: Psi = (1 + 0.5 a) / (2 + a) = 0.5 exactly
    # for every strength a (the overall error is (2 + 0.5) / (4 + 1) = 0.5 too), so every
    # candidate has the same held-out likelihood, log(0.5), and the smallest must win
    # whatever the grid's order.
    labels = np.array([0, 0, 1, 1])
    probe = np.array([[1.0], [0.0], [0.0], [1.0]])
    held = np.array([[1.0], [0.0], [1.0]])
    for grid in ((2.0, 0.5, 10.0), (10.0, 5.0, 1.0), (0.0, 50.0)):
        best, scores = choose_shrinkage(labels, probe, np.array([0, 1, 1]), held, 2, grid=grid)
        assert all(v == np.log(0.5) for v in scores.values())
        assert best == min(grid)
    # a strict winner is not overridden by the tie rule: held-out errs exactly as cluster 0
    # of the probes does only when no pooling hides the cluster difference
    probe2 = np.array([[1.0], [1.0], [0.0], [0.0]])
    best, scores = choose_shrinkage(labels, probe2, np.array([0, 1]), np.array([[1.0], [0.0]]),
                                    2, grid=(5.0, 0.5))
    assert scores[0.5] > scores[5.0] and best == 0.5
    best, _ = choose_shrinkage(labels, probe2, np.array([0, 1]), np.array([[0.0], [1.0]]),
                               2, grid=(5.0, 0.5))
    assert best == 5.0


def test_backoff_of_a_model_with_one_or_no_answer():
    # one answered probe (an error) in cluster 0: the plain mean 1 there, and the overall
    # error 1 / 1 for the empty clusters; no answered probe at all: 0 / max(0, 1) = 0
    err_sum, count = probe_statistics(np.array([0, 1]), np.array([0.0, np.nan]), 3)
    np.testing.assert_array_equal(mean_backoff_cluster_error(err_sum, count), [1.0, 1.0, 1.0])
    err_sum, count = probe_statistics(np.array([0, 1]), np.array([np.nan, np.nan]), 3)
    np.testing.assert_array_equal(mean_backoff_cluster_error(err_sum, count), [0.0, 0.0, 0.0])


def test_tune_shrinkage_scores_the_documented_grid(rng):
    from uniroute import UniRouter

    X = rng.standard_normal((120, 4)).astype(np.float32)
    Y = (rng.random((120, 2)) < 0.5).astype(float)
    r = UniRouter(3, random_state=0).fit(X)
    scores = r.tune_shrinkage(X[:60], Y[:60], X[60:], Y[60:])
    assert tuple(scores) == (0.0, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0)
    labels = r.assign(X)
    for a, ll in scores.items():  # each by hand
        psi = np.stack([shrunk_cluster_error(*probe_statistics(labels[:60], Y[:60, m], 3), a)
                        for m in range(2)])
        p = np.clip(psi.T[labels[60:]], 1e-6, 1 - 1e-6)
        want = np.mean((1 - Y[60:]) * np.log(p) + Y[60:] * np.log1p(-p))
        assert ll == pytest.approx(want, rel=1e-12)
