"""Batch nearest-centroid assignment against numpy, faiss and scikit-learn.

Contenders, all float32 and all free to use both cores:
- uniroute: ``CentroidIndex.assign`` (what a router calls; norms cached);
- numpy BLAS form ``argmin(||c||^2 - 2 X C^T)`` with the norms precomputed;
- faiss ``IndexFlatL2.search(X, 1)``; scikit-learn ``KMeans.predict``;
- the floor: a bare numpy sgemm ``X @ C.T`` of the same shape (no argmin at all).
Every contender's labels are checked at the measured size (N = 100,000 included)
against the float64 answer: ours must equal it; a float32 baseline may pick another
centroid only on a tie within 1e-5 of the squared distance scale (||x||^2 + ||c||^2).
"""
from __future__ import annotations

import numpy as np
import pytest

from uniroute import _core

from .conftest import importorskip_baseline, run, tag

# Every batch size a gateway or an evaluation sends, at the routing shape (d=768, K=256),
# and Nordlys's large shapes (K = 1000 and 2000 at d = 1536, N = 100,000), where only
# ours and faiss run (the numpy / sgemm forms would hold an 800 MB N x K matrix).
FULL = [(n, 768, 256) for n in (1, 8, 64, 1_000, 10_000, 100_000)]
LARGE = [(100_000, 1536, 1000), (100_000, 1536, 2000)]
SMALL = [(1, 32, 8), (8, 48, 16), (257, 40, 16), (3000, 64, 33)]


def shapes(full_grid: bool, large: bool = False):
    if full_grid:
        return FULL + (LARGE if large else [])
    return SMALL


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "shape" in metafunc.fixturenames:
        full = metafunc.config.getoption("--bench-size") == "full"
        large = metafunc.function.__name__ in ("test_assign_uniroute", "test_assign_faiss")
        grid = shapes(full, large)
        metafunc.parametrize("shape", grid, ids=[f"N{n}-d{d}-K{k}" for n, d, k in grid],
                             scope="module")


_cache: dict = {}


def problem(shape):
    if shape not in _cache:
        _cache.clear()
        n, d, k = shape
        rng = np.random.default_rng(n * 7 + d * 3 + k)
        C = rng.standard_normal((k, d), dtype=np.float32)
        X = (C[rng.integers(0, k, n)] + rng.standard_normal((n, d), dtype=np.float32)
             ).astype(np.float32)
        _cache[shape] = (X, C, exact_assign(X, C))
    return _cache[shape]


def exact_assign(X, C, block=4096):
    """Float64 nearest centroid in row blocks (bounded memory at N = 100,000): labels,
    the minimum squared distance and the distance scale of each row."""
    C64 = C.astype(np.float64)
    cn = (C64 * C64).sum(1)
    labels = np.empty(X.shape[0], np.int64)
    dmin, scale = np.empty(X.shape[0]), np.empty(X.shape[0])
    for lo in range(0, X.shape[0], block):
        X64 = X[lo:lo + block].astype(np.float64)
        xn = (X64 * X64).sum(1)
        D = xn[:, None] - 2.0 * X64 @ C64.T + cn
        labels[lo:lo + block] = D.argmin(1)
        dmin[lo:lo + block] = D.min(1)
        scale[lo:lo + block] = xn + cn.max()
    return labels, dmin, scale


def rounds_for(shape) -> int:
    n, d, k = shape
    work = n * d * k
    return 200 if work < 1e7 else (20 if work < 1e9 else 5)


def group(shape) -> str:
    n, d, k = shape
    return f"assign N={n} d={d} K={k}"


def check(labels, shape, tol=1e-5) -> None:
    """A baseline's labels: the exact ones, or a tie within ``tol`` x the distance scale."""
    X, C, (exact, dmin, scale) = problem(shape)
    labels = np.asarray(labels).ravel()
    off = np.flatnonzero(labels != exact)
    if off.size:
        d = ((X[off].astype(np.float64) - C[labels[off]].astype(np.float64)) ** 2).sum(1)
        assert np.all(d - dmin[off] <= tol * scale[off]), "a baseline got a clear case wrong"


def test_assign_uniroute(benchmark, shape):
    X, C, exact = problem(shape)
    benchmark.group = group(shape)
    tag(benchmark, "ours", "uniroute")
    idx = _core.CentroidIndex(C)
    labels, _ = run(benchmark, idx.assign, X, rounds=rounds_for(shape))
    np.testing.assert_array_equal(labels, exact[0])


def test_assign_numpy(benchmark, shape):
    X, C, _ = problem(shape)
    benchmark.group = group(shape)
    tag(benchmark, "baseline", "numpy")
    cn = (C * C).sum(1)
    check(run(benchmark, lambda: np.argmin(cn - 2.0 * (X @ C.T), axis=1),
              rounds=rounds_for(shape)), shape)


def test_assign_sgemm_floor(benchmark, shape):
    X, C, _ = problem(shape)
    benchmark.group = group(shape)
    tag(benchmark, "floor", "sgemm")
    G = run(benchmark, lambda: X @ C.T, rounds=rounds_for(shape))
    assert G.shape == (X.shape[0], C.shape[0])


def test_assign_faiss(benchmark, shape):
    faiss = importorskip_baseline("faiss")
    X, C, _ = problem(shape)
    benchmark.group = group(shape)
    tag(benchmark, "baseline", "faiss")
    index = faiss.IndexFlatL2(C.shape[1])
    index.add(C)
    _, I = run(benchmark, index.search, X, 1, rounds=rounds_for(shape))
    check(I, shape)


def test_assign_sklearn(benchmark, shape):
    cluster = importorskip_baseline("sklearn.cluster")
    X, C, _ = problem(shape)
    benchmark.group = group(shape)
    tag(benchmark, "baseline", "sklearn")
    # Fitted on the centroids from init=C (one step), then given exactly C.
    km = cluster.KMeans(n_clusters=len(C), init=C, n_init=1, max_iter=1).fit(C)
    km.cluster_centers_ = C.copy()
    check(run(benchmark, km.predict, X, rounds=rounds_for(shape)), shape)
