"""Kernel benchmarks against numpy, measured in the same run.

Run alone on the machine: ``python -m pytest benchmarks --benchmark-only``.
Each benchmark also checks that it agrees with the numpy baseline. Speed targets belong
to the performance work; these give the ratio table (see ``--benchmark-group-by=group``).
"""
from __future__ import annotations

import numpy as np
import pytest

from uniroute import _core

N, D, K = 20_000, 768, 256
M = 16


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N, D), dtype=np.float32)
    C = rng.standard_normal((K, D), dtype=np.float32)
    psi = rng.random((M, K)).astype(np.float32)
    cost = rng.random(M).astype(np.float32)
    return X, C, psi, cost


def numpy_assign(X, C, cnorm):
    return np.argmin(cnorm - 2.0 * (X @ C.T), axis=1)


@pytest.mark.benchmark(group="assign batch N=20000 d=768 K=256")
def test_assign_uniroute(benchmark, data):
    X, C, _, _ = data
    labels, _ = benchmark(_core.assign, X, C)
    ref = numpy_assign(X, C, (C * C).sum(1))
    assert np.mean(labels == ref) > 0.999


@pytest.mark.benchmark(group="assign batch N=20000 d=768 K=256")
def test_assign_numpy(benchmark, data):
    X, C, _, _ = data
    cnorm = (C * C).sum(1)
    benchmark(numpy_assign, X, C, cnorm)


@pytest.mark.benchmark(group="assign single prompt d=768 K=256")
def test_assign_single_uniroute(benchmark, data):
    X, C, _, _ = data
    x = X[:1]
    labels, _ = benchmark(_core.assign, x, C)
    assert labels[0] == numpy_assign(x, C, (C * C).sum(1))[0]


@pytest.mark.benchmark(group="assign single prompt d=768 K=256")
def test_assign_single_numpy(benchmark, data):
    X, C, _, _ = data
    cnorm = (C * C).sum(1)
    benchmark(numpy_assign, X[:1], C, cnorm)


@pytest.mark.benchmark(group="route hard labels N=20000 K=256 M=16")
def test_route_labels_uniroute(benchmark, data):
    X, C, psi, cost = data
    labels = np.random.default_rng(1).integers(0, K, N)
    out = benchmark(_core.route, labels, psi, cost, 0.5)
    np.testing.assert_array_equal(out, np.argmin(psi.T[labels] + 0.5 * cost, axis=1))


@pytest.mark.benchmark(group="route hard labels N=20000 K=256 M=16")
def test_route_labels_numpy(benchmark, data):
    _, _, psi, cost = data
    labels = np.random.default_rng(1).integers(0, K, N)
    benchmark(lambda: np.argmin(psi.T[labels] + np.float32(0.5) * cost, axis=1))


@pytest.mark.benchmark(group="route dense Phi N=20000 K=256 M=16")
def test_route_dense_uniroute(benchmark, data):
    _, _, psi, cost = data
    phi = np.random.default_rng(2).dirichlet(np.ones(K), N).astype(np.float32)
    out = benchmark(_core.route, phi, psi, cost, 0.5)
    ref = np.argmin(phi @ psi.T + np.float32(0.5) * cost, axis=1)
    assert np.mean(out == ref) > 0.999


@pytest.mark.benchmark(group="route dense Phi N=20000 K=256 M=16")
def test_route_dense_numpy(benchmark, data):
    _, _, psi, cost = data
    phi = np.random.default_rng(2).dirichlet(np.ones(K), N).astype(np.float32)
    benchmark(lambda: np.argmin(phi @ psi.T + np.float32(0.5) * cost, axis=1))
