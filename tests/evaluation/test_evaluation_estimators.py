"""The per-cluster error estimators compared in the few-probes sweep."""
from __future__ import annotations

import numpy as np
import pytest
from uniroute.cli import main
from uniroute.evaluation import make_router
from uniroute.evaluation.estimators import UniRouteEstimator, soft_weights
from uniroute.evaluation.routers import UniRouteKMeans, available_routers

from tests.evaluation.test_evaluation_routers import make_view
from tests.reference import assign_ref, cluster_error_ref


def test_estimator_routers_run_only_when_named():
    extra = {"uniroute_backoff", "uniroute_shrinkage", "uniroute_shrinkage_ll",
             "uniroute_soft_probes"}
    assert not extra & set(available_routers())
    assert extra <= set(available_routers(include_extra=True))
    assert make_router("uniroute_soft_probes").estimator == "soft"
    with pytest.raises(ValueError, match="estimator must be one of"):
        UniRouteEstimator("median")


@pytest.mark.parametrize("estimator,shrinkage", [("shrinkage", 1.0), ("shrinkage_ll", "auto")])
def test_estimators_reproduce_uniroute_kmeans(rng, estimator, shrinkage):
    # fixed shrinkage 1 = UniRouter's default; shrinkage_ll = the evaluation's default
    view = make_view(rng, n_val=30)
    ref = UniRouteKMeans(n_clusters=6, shrinkage=shrinkage, selection="f1").fit(view)
    est = UniRouteEstimator(estimator, n_clusters=6).fit(view)
    a, b = ref.decisions(view), est.decisions(view)
    np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_allclose(a.cluster_error, b.cluster_error, rtol=1e-12)
    assert ref.info.get("shrinkage") == est.info.get("shrinkage")


def test_backoff_is_the_plain_cluster_mean(rng):
    view = make_view(rng)
    est = UniRouteEstimator("backoff", n_clusters=4).fit(view)
    from uniroute import _core

    lab = _core.assign(view.val_embeddings, est.centroids_)[0]
    err = 1.0 - np.asarray(view.val_quality)
    for k in range(4):
        rows = lab == k
        want = err[rows].mean(0) if rows.any() else err.mean(0)
        np.testing.assert_allclose(est.psi_[:, k], want)


def test_shrinkage_ll_records_a_strength_from_its_grid(rng):
    view = make_view(rng)
    est = UniRouteEstimator("shrinkage_ll", n_clusters=4, shrinkage_grid=(3.0, 0.0)).fit(view)
    # by hand: the training LLMs' Psi from their validation answers, scored by the mean
    # Bernoulli log-likelihood of their train answers (ties: the smaller strength)
    lab_v = assign_ref(view.val_embeddings, est.centroids_)[0]
    lab_t = assign_ref(view.train_embeddings, est.centroids_)[0]
    yv = np.asarray(view.val_quality_train_models, np.float64)
    yt = np.asarray(view.train_quality, np.float64)
    ll = {}
    for a in (3.0, 0.0):
        psi = np.stack([cluster_error_ref(lab_v, yv[:, m], 4, a) for m in range(yv.shape[1])])
        p = np.clip(psi.T[lab_t], 1e-6, 1 - 1e-6)
        seen = ~np.isnan(yt)
        ll[a] = np.mean(((1 - yt) * np.log(p) + yt * np.log1p(-p))[seen])
    best = max(ll, key=lambda a: (ll[a], -a))
    assert est.info["shrinkage"] == best
    quality = np.asarray(view.val_quality, np.float64)
    want = np.stack([cluster_error_ref(lab_v, quality[:, m], 4, best)
                     for m in range(quality.shape[1])])
    np.testing.assert_allclose(est.psi_, want, rtol=1e-12)


def test_soft_weights_are_rows_of_a_softmax_and_sharpen_to_hard(rng):
    X, C = rng.standard_normal((30, 5)), rng.standard_normal((4, 5))
    W = soft_weights(X, C, 1.0)
    np.testing.assert_allclose(W.sum(1), 1.0)
    d2 = ((X[:, None, :] - C[None]) ** 2).sum(-1)
    np.testing.assert_array_equal(soft_weights(X, C, 1e-9).argmax(1), d2.argmin(1))
    np.testing.assert_allclose(soft_weights(X, C, 1e-9), np.eye(4)[d2.argmin(1)], atol=1e-12)


def test_cli_sweeps_n_val_with_all_and_named_estimators(capsys):
    assert main(["evaluate", "zeroeval_math_code", "--trials", "2", "--jobs", "1", "--quiet",
                 "--n-val", "60", "all", "--routers", "knn", "uniroute_backoff",
                 "uniroute_soft_probes"]) == 0
    out = capsys.readouterr().out
    assert "Area against N_val" in out and "Psi: soft probes" in out
    assert "\n60 " in out and "\n284 " in out
    assert main(["evaluate", "zeroeval_math_code", "--n-val", "some"]) == 2
    assert "argument --n-val: expected a whole number or 'all'" in capsys.readouterr().err
