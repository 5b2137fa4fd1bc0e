"""Baselines and hyperparameter selection against plain-numpy references."""
from __future__ import annotations

import numpy as np
import pytest
from uniroute import KMeans, UniRouter, select_n_clusters
from uniroute.evaluation import make_router, register_router
from uniroute.evaluation.baselines import (
    BestSingle,
    Clairvoyant,
    RandomRouter,
    ZeroRouter,
    _logistic,
)
from uniroute.evaluation.decisions import ClusterErrors, ModelMixtures, PromptErrors
from uniroute.evaluation.protocol import ClairvoyantView, TrialView
from uniroute.evaluation.routers import (
    Router,
    UniRouteKMeans,
    UniRouteLearnedMap,
    available_routers,
)
from uniroute.evaluation.selection import (
    capped_grid,
    neighbor_errors,
    select_n_neighbors,
    validation_area,
)

from tests.reference import assign_ref, soft_assign_ref


def make_view(rng, n_train=120, n_val=60, n_test=50, d=6, m_train=4, m_test=3, cost=None):
    """A synthetic trial view: two prompt clusters, LLMs good on one or the other."""
    def emb(n):
        centers = np.array([[3.0] + [0.0] * (d - 1), [-3.0] + [0.0] * (d - 1)])
        side = rng.integers(0, 2, n)
        return (centers[side] + rng.standard_normal((n, d))).astype(np.float32), side

    def labels(side, m):
        skill = np.where(np.arange(m) % 2 == 0, 0.9, 0.2)
        p = np.where(side[:, None] == 0, skill, 1.0 - skill)
        return (rng.random((side.size, m)) < p).astype(float)

    (xt, st), (xv, sv), (xs, _) = emb(n_train), emb(n_val), emb(n_test)
    cost = np.arange(1.0, m_test + 1) if cost is None else np.asarray(cost, dtype=float)
    return TrialView(
        train_embeddings=xt, val_embeddings=xv, test_embeddings=xs,
        train_models=[f"tr{i}" for i in range(m_train)], test_models=[f"te{i}" for i in range(m_test)],
        train_quality=labels(st, m_train), val_quality_train_models=labels(sv, m_train),
        val_cost_train_models=np.ones((n_val, m_train)), val_quality=labels(sv, m_test),
        val_cost=np.tile(cost, (n_val, 1)), routing_cost=cost,
        train_routing_cost=np.ones(m_train), seed=0)


def test_registry_has_every_method_in_table_order():
    assert available_routers() == ["zero_router", "knn", "uniroute_kmeans",
                                   "uniroute_learned_map", "uniroute_kmeans_f1",
                                   "uniroute_learned_map_f1", "uniroute_kmeans_safe",
                                   "uniroute_learned_map_safe", "clairvoyant", "random",
                                   "best_single"]
    with pytest.raises(ValueError, match="unknown router 'nope'"):
        make_router("nope")


def test_a_new_router_plugs_in_without_protocol_changes(rng):
    class Constant(Router):
        name = "constant"

        def fit(self, view):
            return self

        def decisions(self, view):
            return PromptErrors(np.full((len(view.test_embeddings), len(view.test_models)), 0.5))

    register_router("constant_test_only", Constant)
    try:
        from uniroute import datasets
        from uniroute.evaluation.runner import run_trial

        data = datasets.load("zeroeval_math_code").select(prompts=np.arange(300),
                                                          models=np.arange(9))
        res = run_trial(data, 0, np.random.SeedSequence(1), ["constant_test_only"])
        # equal predicted errors: every lam takes the cheapest LLM (tie rule), one
        # operating point, so the curve is flat at its quality: area = peak, and the
        # area up to half the cost is half of it
        got = res.metrics["constant_test_only"]
        assert got["area"] == pytest.approx(got["peak"], rel=1e-12) and got["peak"] > 0
        assert got["area50"] == pytest.approx(got["peak"] / 2, rel=1e-12)
    finally:
        from uniroute.evaluation.routers import _REGISTRY

        _REGISTRY.pop("constant_test_only")


def test_zero_router_takes_the_upper_hull_of_validation_points(rng):
    view = make_view(rng, m_test=4, cost=[1.0, 2.0, 3.0, 4.0])
    acc = np.array([0.3, 0.6, 0.65, 0.8])
    q = (rng.random((60, 4)) < 0.5).astype(float)
    for m, a in enumerate(acc):  # exact validation accuracies
        q[:, m] = 0.0
        q[: round(a * 60), m] = 1.0
    view = TrialView(**{**view.__dict__, "val_quality": q})
    zr = ZeroRouter().fit(view)
    # (3, .65) lies below the chord from (2, .6) to (4, .8): not on the hull
    assert zr.hull_ == [0, 1, 3]
    d = zr.decisions(view)
    assert isinstance(d, ModelMixtures)
    np.testing.assert_array_equal(d.weights, np.eye(4)[[0, 1, 3]])


def test_random_and_best_single(rng):
    view = make_view(rng, m_test=3, cost=[2.0, 1.0, 2.0])
    d = RandomRouter().fit(view).decisions(view)
    np.testing.assert_allclose(d.weights, [[0, 1, 0], [1 / 3, 1 / 3, 1 / 3]])
    best = BestSingle().fit(view)
    acc = view.val_quality.mean(0)
    assert acc[best.best_] == acc.max()


def test_neighbor_errors_match_a_brute_force_reference(rng):
    query = rng.standard_normal((25, 5))
    probes = rng.standard_normal((40, 5))
    quality = (rng.random((40, 3)) < 0.6).astype(float)
    quality[rng.random((40, 3)) < 0.2] = np.nan
    got = neighbor_errors(query, probes, quality, [1, 7, 40], block=8)
    qn = query / np.linalg.norm(query, axis=1, keepdims=True)
    pn = probes / np.linalg.norm(probes, axis=1, keepdims=True)
    order = np.argsort(-(qn @ pn.T), axis=1, kind="stable")
    for k in (1, 7, 40):
        for i in range(25):
            for m in range(3):
                q = quality[order[i, :k], m]
                q = q[~np.isnan(q)]
                ref = 1.0 - q.mean() if q.size else np.nanmean(1.0 - quality[:, m])
                assert got[k][i, m] == pytest.approx(ref, abs=1e-6)


def test_capped_grid():
    assert capped_grid((5, 10, 300), 1000, 200) == [5, 10]
    assert capped_grid((5, 10), 3, 100) == [3]


def test_select_n_clusters_follows_appendix_f1(rng):
    view = make_view(rng, n_train=200, n_val=80)
    args = (view.train_embeddings, view.train_quality, view.val_embeddings,
            view.val_quality_train_models, view.val_cost_train_models)
    best, scores = select_n_clusters(*args, grid=(1, 2, 8), random_state=0, n_init=1,
                                     return_scores=True)
    assert set(scores) == {1, 2, 8} and best == max(scores, key=lambda k: (scores[k], -k))
    # the score of K = 2 by hand: K-means on train prompts, Psi from the training LLMs'
    # train labels, their validation curve
    km = KMeans(2, n_init=1, random_state=0).fit(view.train_embeddings)
    router = UniRouter(2, random_state=0, n_init=1).fit(view.train_embeddings)
    for m in range(4):
        router.add_model(f"m{m}", 1.0, view.train_embeddings, view.train_quality[:, m])
    np.testing.assert_array_equal(router.centroids_, km.cluster_centers_)
    labels = router.assign(view.val_embeddings)
    expected = validation_area(ClusterErrors(labels, router.cluster_error_),
                               view.val_quality_train_models, view.val_cost_train_models)
    assert scores[2] == pytest.approx(expected)
    # two clusters of prompts with opposite LLM skills: K >= 2 beats the global K = 1
    assert scores[2] > scores[1]


def test_select_n_neighbors(rng):
    view = make_view(rng, n_train=150, n_val=60)
    best, scores = select_n_neighbors(view.train_embeddings, view.train_quality,
                                      view.val_embeddings, view.val_quality_train_models,
                                      view.val_cost_train_models, grid=(1, 5, 50, 500),
                                      return_scores=True)
    assert set(scores) == {1, 5, 50}
    assert best == max(scores, key=lambda k: (scores[k], -k))


def test_uniroute_kmeans_router_uses_the_public_router(rng):
    view = make_view(rng)
    r = UniRouteKMeans(grid=(2, 4)).fit(view)
    assert r.info["n_clusters"] in (2, 4)
    assert r.router_.models == view.test_models
    np.testing.assert_allclose(r.router_.costs, view.routing_cost)
    d = r.decisions(view)
    assert isinstance(d, ClusterErrors)
    np.testing.assert_array_equal(d.labels, assign_ref(view.test_embeddings,
                                                       r.router_.centroids_)[0])
    np.testing.assert_array_equal(d.cluster_error, r.router_.cluster_error_)
    assert UniRouteKMeans(n_clusters=3).fit(view).info["n_clusters"] == 3


def test_learned_map_router_shares_the_k_choice(rng):
    view = make_view(rng)
    km = UniRouteKMeans(grid=(2, 4)).fit(view)
    lm = UniRouteLearnedMap(grid=(2, 4), max_epochs=3).fit(view)
    assert lm.info["n_clusters"] == km.info["n_clusters"]
    assert sum(key[0] == "probe_selection" for key in view.scratch) == 1
    assert lm.router_.models == view.test_models
    d = lm.decisions(view)
    assert isinstance(d, PromptErrors)
    phi = soft_assign_ref(view.test_embeddings, lm.router_.map_.W, lm.router_.map_.b)
    np.testing.assert_allclose(d.error, phi @ lm.router_.cluster_error_.T, atol=1e-6)


def test_clairvoyant_needs_its_view_and_predicts_probabilities(rng):
    linear = pytest.importorskip("sklearn.linear_model")
    view = make_view(rng, n_train=400)
    with pytest.raises(TypeError, match="ClairvoyantView"):
        Clairvoyant().fit(view)
    y = (rng.random((400, 3)) < 0.5).astype(float)
    y[:, 0] = view.train_embeddings[:, 0] > 0  # LLM 0 is right on one side
    cv = ClairvoyantView(**view.__dict__, test_models_train_quality=y)
    clf = Clairvoyant(n_components=2, regs=(0.01,)).fit(cv)
    err = clf.decisions(cv).error
    # by hand: PCA (SVD) of the train prompts, then per LLM an L2 logistic regression
    # (scikit-learn's C = 1 / (n reg)); the predicted error is 1 - P(right)
    X = view.train_embeddings.astype(np.float64)
    mean = X.mean(0)
    basis = np.linalg.svd(X - mean, full_matrices=False)[2][:2].T
    Z, Zt = (X - mean) @ basis, (view.test_embeddings - mean) @ basis
    for m in range(3):
        ref = linear.LogisticRegression(C=1.0 / (400 * 0.01), tol=1e-10, max_iter=1000)
        p = ref.fit(Z, y[:, m]).predict_proba(Zt)[:, 1]
        np.testing.assert_allclose(err[:, m], 1.0 - p, atol=2e-3)
    side = view.test_embeddings[:, 0] > 0
    assert err[side, 0].mean() < 0.2 < 0.8 < err[~side, 0].mean()


def test_logistic_matches_scikit_learn(rng):
    sklearn = pytest.importorskip("sklearn.linear_model")
    X = rng.standard_normal((300, 4))
    y = (rng.random(300) < 1 / (1 + np.exp(-(X @ [1.0, -2.0, 0.5, 0.0] + 0.3)))).astype(float)
    reg = 0.01
    w = _logistic(np.hstack([X, np.ones((300, 1))]), y, reg, iters=50)
    # sklearn minimises C * sum(log loss) + |w|^2 / 2  <=>  mean loss + |w|^2 / (2 n C)
    ref = sklearn.LogisticRegression(C=1.0 / (300 * reg), tol=1e-10, max_iter=1000).fit(X, y)
    np.testing.assert_allclose(w[:4], ref.coef_[0], atol=1e-4)
    assert w[4] == pytest.approx(ref.intercept_[0], abs=1e-4)
