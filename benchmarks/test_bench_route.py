"""The cost-penalised argmin over the pool, hard labels and dense Phi, M = 10/100/1000.

Hard labels, the same work on both sides: ours is ``_core.route(labels, ...)`` for a
batch (builds the K-entry choice table, then one lookup per prompt); numpy builds the
same table, ``argmin(Psi.T + lam * cost)`` (K x M), and gathers ``table[labels]``. One
prompt: ``PoolRouter.route_label`` (table cached per lam) against a numpy lookup in a
table built once. Both answers are checked at the measured size (no exact ties: costs
and errors are random floats). Dense: ours fuses Phi Psi^T, lam * cost and the argmin
per block; numpy materialises the N x M matrix (the same work); the floor is the bare
sgemm ``Phi @ Psi.T``; both answers are checked (ties within 1e-5 in float32 scores).
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
    """The decision by brute force (float64 N x M scores): checks both sides."""
    out = np.empty(labels.shape[0], np.int64)
    for lo in range(0, labels.shape[0], 8192):
        out[lo:lo + 8192] = np.argmin(psi.T[labels[lo:lo + 8192]] + LAM * cost, axis=1)
    return out


def table_lookup(psi, cost, labels):
    """The numpy baseline: the per-cluster choice table, then one gather."""
    return np.argmin(psi.T + LAM * cost, axis=1)[labels]


def test_route_hard_batch_uniroute(benchmark, pool):
    M, n, k, psi, cost, labels, _ = pool
    benchmark.group = f"route hard labels batch N={n} M={M}"
    tag(benchmark, "ours", "uniroute")
    out = run(benchmark, _core.route, labels, psi, cost, LAM, rounds=20)
    np.testing.assert_array_equal(out, hard_ref(psi, cost, labels))


def test_route_hard_batch_numpy(benchmark, pool):
    M, n, k, psi, cost, labels, _ = pool
    benchmark.group = f"route hard labels batch N={n} M={M}"
    tag(benchmark, "baseline", "numpy table lookup")
    out = run(benchmark, table_lookup, psi, cost, labels, rounds=20)
    np.testing.assert_array_equal(out, hard_ref(psi, cost, labels))


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
    tag(benchmark, "baseline", "numpy table lookup")
    table = np.argmin(psi.T + LAM * cost, axis=1)  # built once, as ours caches it per lam
    lab = int(labels[0])
    got = run(benchmark, lambda: int(table[lab]), rounds=5000, warmup=100)
    assert got == hard_ref(psi, cost, labels[:1])[0]
    assert [int(table[k]) for k in labels[:2000]] == list(hard_ref(psi, cost, labels[:2000]))


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
    dense_check(out, phi, psi, cost)


def test_route_dense_batch_numpy(benchmark, pool):
    M, n, phi, psi, cost = dense_args(pool)
    benchmark.group = f"route dense batch N={n} K={phi.shape[1]} M={M}"
    tag(benchmark, "baseline", "numpy")
    lc = np.float32(LAM) * cost
    out = run(benchmark, lambda: np.argmin(phi @ psi.T + lc, axis=1), rounds=10)
    dense_check(out, phi, psi, cost)


def dense_check(out, phi, psi, cost, tol=1e-5):
    """Each chosen model's float64 score is within ``tol`` of the row's minimum."""
    for lo in range(0, phi.shape[0], 8192):
        S = phi[lo:lo + 8192].astype(np.float64) @ psi.T.astype(np.float64) + LAM * cost
        rows = np.arange(S.shape[0])
        assert np.all(S[rows, out[lo:lo + 8192]] - S.min(1) <= tol)


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
    many = np.array([dense.route(phi[i:i + 1], LAM)[0] for i in range(500)])
    dense_check(np.concatenate([got, many]), phi[np.r_[0, :500]], psi, cost)


def test_route_dense_single_numpy(benchmark, pool):
    M, n, phi, psi, cost = dense_args(pool)
    benchmark.group = f"route dense single K={phi.shape[1]} M={M}"
    tag(benchmark, "baseline", "numpy")
    x = phi[0]
    lc = np.float32(LAM) * cost
    run(benchmark, lambda: int(np.argmin(psi @ x + lc)), rounds=2000, warmup=100)
    many = np.array([int(np.argmin(psi @ phi[i] + lc)) for i in range(500)])
    dense_check(many, phi[:500], psi, cost)
