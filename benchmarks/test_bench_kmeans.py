"""K-means fit against scikit-learn with the same initial centroids and iterations.

Full size: 100,000 x 768 float32, K = 256, 10 Lloyd iterations from the same K rows
(tol = 0 on both sides, so both run every iteration unless the labels stop changing).
Ours is ``uniroute.clustering._lloyd`` (what ``KMeans.fit`` runs after its seeding);
scikit-learn's is ``KMeans(init=C0, n_init=1, algorithm="lloyd")``. The inertias must
agree within 1% and the iteration counts must match.
"""
from __future__ import annotations

import numpy as np
import pytest

from uniroute.clustering import _lloyd

from .conftest import importorskip_baseline, run, tag

ITERS = 10


@pytest.fixture(scope="module")
def problem(full):
    n, d, k = (100_000, 768, 256) if full else (3_000, 32, 16)
    rng = np.random.default_rng(0)
    centers = rng.standard_normal((k, d), dtype=np.float32)
    X = (centers[rng.integers(0, k, n)]
         + 0.8 * rng.standard_normal((n, d), dtype=np.float32)).astype(np.float32)
    init = X[rng.choice(n, k, replace=False)].copy()
    GROUP[0] = f"kmeans fit N={n} d={d} K={k} {ITERS} iterations"
    return X, init, (3 if full else 2)


GROUP = ["kmeans fit"]
_results: dict[str, tuple[float, int]] = {}


def test_kmeans_uniroute(benchmark, problem):
    X, init, rounds = problem
    benchmark.group = GROUP[0]
    tag(benchmark, "ours", "uniroute")
    centers, labels, inertia, n_iter = run(benchmark, _lloyd, X, init.copy(), ITERS, 0.0,
                                           rounds=rounds)
    benchmark.extra_info.update(inertia=inertia, n_iter=n_iter)
    _results["ours"] = (inertia, n_iter)


def test_kmeans_sklearn(benchmark, problem):
    cluster = importorskip_baseline("sklearn.cluster")
    X, init, rounds = problem
    benchmark.group = GROUP[0]
    tag(benchmark, "baseline", "sklearn")
    km = cluster.KMeans(n_clusters=len(init), init=init, n_init=1, max_iter=ITERS, tol=0.0,
                        algorithm="lloyd")
    run(benchmark, km.fit, X, rounds=rounds)
    benchmark.extra_info.update(inertia=float(km.inertia_), n_iter=int(km.n_iter_))
    ours = _results.get("ours")
    if ours is not None:
        assert abs(ours[0] - km.inertia_) <= 0.01 * km.inertia_
        assert ours[1] == km.n_iter_
