"""The cost-penalised argmin over the pool, hard labels and dense Phi, M = 10/100/1000.

Hard labels: ours is ``_core.route(labels, ...)`` for a batch (builds the choice table
once, then a lookup per prompt) and ``PoolRouter.route_label`` for one prompt (the
table is cached per lam); numpy gathers ``Psi.T[labels] + lam * cost`` (Phi Psi^T with
one-hot Phi, without the product) and takes the argmin. Dense: ours fuses Phi Psi^T,
lam * cost and the argmin per block; numpy materialises the N x M matrix; the floor is
the bare sgemm ``Phi @ Psi.T``.
"""
from __future__ import annotations

import numpy as np
import pytest

from uniroute import _core

from .conftest import run, tag

K = 256
LAM = 0.01


def sizes(full: bool):
    return (100_000 if full else 2_000), (K if full else 32)


@pytest.fixture(scope="module", params=[10, 100, 1000], ids=lambda m: f"M{m}")
def pool(request, full):
    M = request.param
    if not full:
        M = max(2, M // 20)
    n, k = sizes(full)
    rng = np.random.default_rng(M)
    psi = rng.random((M, k))
    cost = rng.uniform(0.1, 10, M)
    labels = rng.integers(0, k, n)
    phi = rng.dirichlet(np.full(k, 0.05), n).astype(np.float32)
    return M, n, k, psi, cost, labels, phi


def hard_ref(psi, cost, labels):
    return np.argmin(psi.T[labels] + LAM * cost, axis=1)


def test_route_hard_batch_uniroute(benchmark, pool):
    M, n, k, psi, cost, labels, _ = pool
    benchmark.group = f"route hard labels batch N={n} M={M}"
    tag(benchmark, "ours", "uniroute")
    out = run(benchmark, _core.route, labels, psi, cost, LAM, rounds=20)
    np.testing.assert_array_equal(out, hard_ref(psi, cost, labels))


def test_route_hard_batch_numpy(benchmark, pool):
    M, n, k, psi, cost, labels, _ = pool
    benchmark.group = f"route hard labels batch N={n} M={M}"
    tag(benchmark, "baseline", "numpy")
    run(benchmark, hard_ref, psi, cost, labels, rounds=5 if M >= 1000 else 20)


def test_route_hard_single_uniroute(benchmark, pool):
    M, n, k, psi, cost, labels, _ = pool
    benchmark.group = f"route hard label single M={M}"
    tag(benchmark, "ours", "uniroute")
    C = np.eye(k, dtype=np.float32)
    pr = _core.PoolRouter(_core.CentroidIndex(C), psi, cost)
    got = run(benchmark, pr.route_label, int(labels[0]), LAM, rounds=5000, warmup=100)
    assert got == hard_ref(psi, cost, labels[:1])[0]


def test_route_hard_single_numpy(benchmark, pool):
    M, n, k, psi, cost, labels, _ = pool
    benchmark.group = f"route hard label single M={M}"
    tag(benchmark, "baseline", "numpy")
    psiT = np.ascontiguousarray(psi.T)
    lc = LAM * cost
    lab = int(labels[0])
    got = run(benchmark, lambda: int(np.argmin(psiT[lab] + lc)), rounds=5000, warmup=100)
    assert got == hard_ref(psi, cost, labels[:1])[0]


def dense_args(pool):
    M, n, k, psi, cost, labels, phi = pool
    if M == 1000:
        M = 1024  # the dense target's shape
        rng = np.random.default_rng(1)
        psi = rng.random((M, k))
        cost = rng.uniform(0.1, 10, M)
    return M, n, phi, psi.astype(np.float32), cost.astype(np.float32)


def test_route_dense_batch_uniroute(benchmark, pool):
    M, n, phi, psi, cost = dense_args(pool)
    benchmark.group = f"route dense batch N={n} K={phi.shape[1]} M={M}"
    tag(benchmark, "ours", "uniroute")
    out = run(benchmark, _core.route, phi, psi, cost, LAM, rounds=10)
    ref = np.argmin(phi.astype(np.float64) @ psi.T.astype(np.float64) + LAM * cost, axis=1)
    assert np.mean(out == ref) > 0.999


def test_route_dense_batch_numpy(benchmark, pool):
    M, n, phi, psi, cost = dense_args(pool)
    benchmark.group = f"route dense batch N={n} K={phi.shape[1]} M={M}"
    tag(benchmark, "baseline", "numpy")
    lc = np.float32(LAM) * cost
    run(benchmark, lambda: np.argmin(phi @ psi.T + lc, axis=1), rounds=10)


def test_route_dense_batch_gemm_floor(benchmark, pool):
    M, n, phi, psi, cost = dense_args(pool)
    benchmark.group = f"route dense batch N={n} K={phi.shape[1]} M={M}"
    tag(benchmark, "floor", "sgemm")
    run(benchmark, lambda: phi @ psi.T, rounds=10)


def test_route_dense_single_uniroute(benchmark, pool):
    M, n, phi, psi, cost = dense_args(pool)
    benchmark.group = f"route dense single K={phi.shape[1]} M={M}"
    # what LearnedMapRouter serves one prompt with: the pool compiled once (DensePool)
    tag(benchmark, "ours", "uniroute")
    x = phi[:1]
    dense = _core.DensePool(psi, cost)
    got = run(benchmark, dense.route, x, LAM, rounds=2000, warmup=100)
    assert got[0] == np.argmin(psi @ phi[0] + np.float32(LAM) * cost)


def test_route_dense_single_numpy(benchmark, pool):
    M, n, phi, psi, cost = dense_args(pool)
    benchmark.group = f"route dense single K={phi.shape[1]} M={M}"
    tag(benchmark, "baseline", "numpy")
    x = phi[0]
    lc = np.float32(LAM) * cost
    run(benchmark, lambda: int(np.argmin(psi @ x + lc)), rounds=2000, warmup=100)
