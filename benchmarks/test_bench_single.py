"""One prompt in, one model out, called from Python (d = 768, K = 256, M = 100).

Ours is the public API end to end: ``UniRouter.route_indices(x, lam)`` (validation,
fp16 nearest centroid with exact re-check, cached per-lam choice table). Each baseline
makes the same decision: its nearest centroid (numpy's BLAS form, faiss's
``IndexFlatL2.search``, scikit-learn's ``KMeans.predict``), then the per-cluster choice
from a table built once (as ours caches it per lam). Every contender's decisions are
checked on 500 queries against the float64 brute force; a different nearest centroid
is accepted only on a tie within 1e-4 of the squared distance (float32 rounding).
Medians and p99 over many single calls.
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


def decisions_ref(router, C, queries):
    """Float64 brute force: nearest centroid, then the cheapest-tie argmin of the pool."""
    Q, C64 = queries.astype(np.float64), C.astype(np.float64)
    D = (Q * Q).sum(1)[:, None] - 2.0 * Q @ C64.T + (C64 * C64).sum(1)
    table = np.argmin(router.cluster_error_.T + 0.01 * router.costs, axis=1)
    return D, table


def check_many(decide, router, C, queries):
    D, table = decisions_ref(router, C, queries)
    got = np.array([decide(q) for q in queries])
    nearest = D.argmin(1)
    ok = got == table[nearest]
    if not ok.all():  # allowed only where the two clusters tie within float32 rounding
        rows = np.flatnonzero(~ok)
        for i in rows:
            alt = np.flatnonzero(table == got[i])
            assert (D[i, alt].min() - D[i].min()) <= 1e-4 * D[i].min(), i
    assert ok.mean() > 0.99


def choice_table(router):
    return np.argmin(router.cluster_error_.T + 0.01 * router.costs, axis=1)


def test_single_uniroute_route_indices(benchmark, setup):
    router, C, queries, rounds = setup
    benchmark.group = benchmark_group[0]
    tag(benchmark, "ours", "uniroute.route_indices")
    x = queries[0]
    got = run(benchmark, router.route_indices, x, 0.01, rounds=rounds, warmup=200)
    assert got == router.route_indices(x[None], 0.01)[0]
    check_many(lambda q: router.route_indices(q, 0.01), router, C, queries)


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
    table = choice_table(router)

    def decide(q):
        return int(table[((q[None] @ C.T) * -2 + cn).argmin()])

    run(benchmark, decide, queries[0], rounds=rounds, warmup=200)
    check_many(decide, router, C, queries)


def test_single_faiss(benchmark, setup):
    faiss = importorskip_baseline("faiss")
    router, C, queries, rounds = setup
    benchmark.group = benchmark_group[0]
    tag(benchmark, "baseline", "faiss")
    index = faiss.IndexFlatL2(C.shape[1])
    index.add(C)
    table = choice_table(router)

    def decide(q):
        return int(table[index.search(q[None], 1)[1][0, 0]])

    run(benchmark, decide, queries[0], rounds=rounds, warmup=200)
    check_many(decide, router, C, queries)


def test_single_sklearn(benchmark, setup):
    cluster = importorskip_baseline("sklearn.cluster")
    router, C, queries, rounds = setup
    benchmark.group = benchmark_group[0]
    tag(benchmark, "baseline", "sklearn")
    km = cluster.KMeans(n_clusters=len(C), init=C, n_init=1, max_iter=1).fit(C)
    km.cluster_centers_ = C.copy()
    table = choice_table(router)

    def decide(q):
        return int(table[km.predict(q[None])[0]])

    run(benchmark, decide, queries[0], rounds=max(rounds // 20, 50), warmup=20)
    check_many(decide, router, C, queries)
