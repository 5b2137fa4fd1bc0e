"""One prompt in, one model out, called from Python (d = 768, K = 256, M = 100).

Ours is the public API end to end: ``UniRouter.route_indices(x, lam)`` (validation,
fp16 nearest centroid with exact re-check, cached per-lam choice table). The baselines
only find the nearest centroid (less work than a decision): numpy's BLAS form, faiss's
``IndexFlatL2.search`` and scikit-learn's ``KMeans.predict``. Medians and p99 over many
single calls.
"""
from __future__ import annotations

import numpy as np
import pytest

import uniroute
from uniroute import _core

from .conftest import importorskip_baseline, run, tag

D, K, M = 768, 256, 100


@pytest.fixture(scope="module")
def setup(full):
    d, k, m = (D, K, M) if full else (48, 16, 5)
    rng = np.random.default_rng(0)
    blobs = rng.standard_normal((k, d), dtype=np.float32)
    train = (blobs[rng.integers(0, k, 8 * k)]
             + 0.3 * rng.standard_normal((8 * k, d), dtype=np.float32)).astype(np.float32)
    router = uniroute.UniRouter(n_clusters=k, random_state=0, n_init=1, max_iter=10)
    router.fit(train)
    probes = train[: 4 * k]
    for j in range(m):
        router.add_model(f"llm{j}", float(rng.uniform(0.1, 10)), probes,
                         rng.random(len(probes)) < rng.uniform(0.3, 0.9))
    C = router.centroids_
    queries = (blobs[rng.integers(0, k, 500)]
               + 0.3 * rng.standard_normal((500, d), dtype=np.float32)).astype(np.float32)
    benchmark_group[0] = f"single prompt decision d={d} K={k} M={m}"
    return router, C, queries, (1000 if not full else 20_000)


benchmark_group = ["single prompt decision"]


def test_single_uniroute_route_indices(benchmark, setup):
    router, C, queries, rounds = setup
    benchmark.group = benchmark_group[0]
    tag(benchmark, "ours", "uniroute.route_indices")
    x = queries[0]
    got = run(benchmark, router.route_indices, x, 0.01, rounds=rounds, warmup=200)
    labels = _core.assign(queries, C)[0]
    want = _core.route(labels, router.cluster_error_, router.costs, 0.01)
    assert got == want[0]
    assert [router.route_indices(q, 0.01) for q in queries] == list(want)


def test_single_uniroute_kernel_fp32(benchmark, setup):
    """For reference: the fp32 single-prompt kernel (no fp16 copy), via the index."""
    router, C, queries, rounds = setup
    benchmark.group = benchmark_group[0]
    tag(benchmark, "info", "uniroute fp32 nearest")
    idx = _core.CentroidIndex(C, half=False)
    run(benchmark, idx.nearest, queries[0], rounds=rounds, warmup=200)
    assert [idx.nearest(q) for q in queries] == list(_core.assign(queries, C)[0])


@pytest.mark.parametrize("fixed_point", [True, False], ids=["int16", "fp16"])
def test_single_uniroute_kernel_16bit(benchmark, setup, fixed_point):
    """For reference: the 16-bit nearest-centroid kernels alone, via the index."""
    router, C, queries, rounds = setup
    benchmark.group = benchmark_group[0]
    tag(benchmark, "info", f"uniroute {'int16' if fixed_point else 'fp16'} nearest")
    idx = _core.CentroidIndex(C, fixed_point=fixed_point)
    run(benchmark, idx.nearest, queries[0], rounds=rounds, warmup=200)
    assert [idx.nearest(q) for q in queries] == list(_core.assign(queries, C)[0])


def test_single_numpy(benchmark, setup):
    router, C, queries, rounds = setup
    benchmark.group = benchmark_group[0]
    tag(benchmark, "baseline", "numpy")
    cn = (C * C).sum(1)
    x = queries[:1]
    k = run(benchmark, lambda: ((x @ C.T) * -2 + cn).argmin(), rounds=rounds, warmup=200)
    assert k == _core.assign(x, C)[0][0]


def test_single_faiss(benchmark, setup):
    faiss = importorskip_baseline("faiss")
    router, C, queries, rounds = setup
    benchmark.group = benchmark_group[0]
    tag(benchmark, "baseline", "faiss")
    index = faiss.IndexFlatL2(C.shape[1])
    index.add(C)
    x = queries[:1]
    _, I = run(benchmark, index.search, x, 1, rounds=rounds, warmup=200)
    assert I[0, 0] == _core.assign(x, C)[0][0]


def test_single_sklearn(benchmark, setup):
    cluster = importorskip_baseline("sklearn.cluster")
    router, C, queries, rounds = setup
    benchmark.group = benchmark_group[0]
    tag(benchmark, "baseline", "sklearn")
    km = cluster.KMeans(n_clusters=len(C), init=C, n_init=1, max_iter=1).fit(C)
    km.cluster_centers_ = C.copy()
    x = queries[:1]
    got = run(benchmark, km.predict, x, rounds=max(rounds // 20, 50), warmup=20)
    assert got[0] == _core.assign(x, C)[0][0]
