from __future__ import annotations

import numpy as np
import pytest

import uniroute
from uniroute import KMeans

from tests.conftest import shared_data
from tests.reference import assign_ref


def blobs(rng, n=600, k=5, d=6):
    centers = rng.standard_normal((k, d)) * 6
    return (centers[rng.integers(0, k, n)] + rng.standard_normal((n, d))).astype(np.float32)


def test_fit_finds_blobs_and_predict_matches_labels(rng):
    X = blobs(rng)
    km = KMeans(5, random_state=0).fit(X)
    assert km.cluster_centers_.shape == (5, 6) and km.cluster_centers_.dtype == np.float32
    np.testing.assert_array_equal(km.predict(X), km.labels_)
    d2 = ((X[:, None] - km.cluster_centers_[None]) ** 2).sum(-1).min(1)
    assert km.inertia_ == pytest.approx(d2.sum(), rel=1e-4)
    assert 1 <= km.n_iter_ <= km.max_iter


def test_same_seed_same_clustering(rng):
    X = blobs(rng)
    a = KMeans(7, random_state=3).fit(X).cluster_centers_
    b = KMeans(7, random_state=3).fit(X).cluster_centers_
    np.testing.assert_array_equal(a, b)


def real_embeddings():
    path = shared_data("zeroeval_math_code") / "embeddings_minilm.npz"
    return np.load(path)["embeddings"].astype(np.float32)


@pytest.mark.parametrize("K", [8, 32])
def test_inertia_within_one_percent_of_scikit_learn(K):
    sklearn_cluster = pytest.importorskip("sklearn.cluster")
    X = real_embeddings()
    ours = KMeans(K, n_init=3, random_state=0).fit(X).inertia_
    theirs = sklearn_cluster.KMeans(K, n_init=3, random_state=0).fit(X).inertia_
    assert ours <= theirs * 1.01, (ours, theirs)


def test_empty_clusters_are_reseeded_not_nan():
    # 4 distinct points, duplicated: K = 4 forces every centroid onto a distinct point.
    X = np.repeat(np.eye(4, dtype=np.float32), 25, axis=0)
    km = KMeans(4, n_init=1, random_state=0).fit(X)
    assert np.isfinite(km.cluster_centers_).all()
    assert km.inertia_ == pytest.approx(0.0, abs=1e-6)
    # All points identical: centroids duplicate, nothing NaN.
    km = KMeans(3, n_init=2, random_state=0).fit(np.ones((10, 2)))
    assert np.isfinite(km.cluster_centers_).all() and km.inertia_ == 0.0


def test_float64_input_gives_float64_centroids(rng):
    X = blobs(rng).astype(np.float64)
    assert KMeans(3, random_state=0).fit(X).cluster_centers_.dtype == np.float64


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"n_clusters": 0}, ValueError, "n_clusters must be >= 1"),
    ({"n_clusters": 2.5}, TypeError, "n_clusters must be an int"),
    ({"n_clusters": 2, "n_init": 0}, ValueError, "n_init must be >= 1"),
    ({"n_clusters": 2, "max_iter": 0}, ValueError, "max_iter must be >= 1"),
    ({"n_clusters": 2, "tol": -1.0}, ValueError, "tol must be"),
    ({"n_clusters": 500}, ValueError, "fewer than n_clusters"),
])
def test_bad_parameters(rng, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        KMeans(**kwargs).fit(blobs(rng, n=50))


def test_bad_data_and_unfitted_predict(rng):
    with pytest.raises(ValueError, match="X contains NaN"):
        KMeans(2).fit(np.full((5, 2), np.nan))
    with pytest.raises(TypeError, match="X has dtype complex"):
        KMeans(2).fit(np.ones((5, 2), complex))
    with pytest.raises(uniroute.NotFittedError):
        KMeans(2).predict(np.ones((5, 2)))
    km = KMeans(2, random_state=0).fit(blobs(rng, n=50))
    with pytest.raises(ValueError, match="X has dim 3, the router was fitted with dim 6"):
        km.predict(np.ones((2, 3)))
    X = blobs(rng, n=50)
    labels = km.fit_predict(X)
    np.testing.assert_array_equal(labels, km.labels_)
    np.testing.assert_array_equal(labels, assign_ref(X, km.cluster_centers_)[0])


def test_variance_scale_is_numpys_mean_variance():
    from uniroute.clustering import variance_scale

    rng = np.random.default_rng(3)
    for X in (rng.standard_normal((5000, 33)).astype(np.float32) * 5 + 3,
              rng.standard_normal((7, 4)), np.full((3, 2), 2.5, np.float32)):
        ref = float(np.mean(np.var(X.astype(np.float64), axis=0)))
        assert variance_scale(X, block=64) == pytest.approx(ref, rel=1e-12, abs=1e-300)


def test_tol_is_relative_to_the_data_variance():
    # Scaling X by a power of two scales every distance exactly, so the whole run is the
    # same -- iterations included -- only if tol is relative to X's variance.
    rng = np.random.default_rng(8)
    X = (rng.standard_normal((600, 5)) + rng.integers(0, 4, (600, 1))).astype(np.float32)
    runs = [KMeans(6, random_state=0, n_init=1, max_iter=300, tol=1e-3).fit(X * s)
            for s in (1.0, 1024.0, 1.0 / 1024.0)]
    assert runs[0].n_iter_ > 2  # a run that a stopping rule can cut short
    for r in runs[1:]:
        assert r.n_iter_ == runs[0].n_iter_
        np.testing.assert_array_equal(r.labels_, runs[0].labels_)
