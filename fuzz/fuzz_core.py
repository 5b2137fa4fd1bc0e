"""Random fuzzing of every uniroute._core entry point and the public Python API.

Usage:  python fuzz/fuzz_core.py [--calls N] [--seed S] [--seconds T]

Every call must return a correct-looking result or raise ValueError/TypeError (for
the Python API also KeyError, NotFittedError, EmptyPoolError). Anything else -- another
exception, a NaN route, an out-of-range index -- is reported with its seed and the
driver exits 1. A crash (segfault, abort) kills the process: run it as a subprocess
(tests/core/test_fuzz.py does) and read the exit status. Prints the number of calls made.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import inputs as gen  # noqa: E402

from uniroute import EmptyPoolError, NotFittedError, UniRouter, _core  # noqa: E402

ALLOWED = (ValueError, TypeError)


def check_labels(out: np.ndarray, n: int, K: int) -> None:
    assert out.shape == (n,), out.shape
    assert out.dtype == np.int64
    if n:
        assert 0 <= out.min() and out.max() < K, (out.min(), out.max(), K)


def call_assign(rng):
    N, K, d = gen.dim(rng), max(gen.dim(rng), 0), gen.dim(rng)
    X, C = gen.array(rng, (N, d)), gen.array(rng, (K, d))
    labels, sqdist = _core.assign(X, C)
    check_labels(labels, len(labels), np.asarray(C).shape[0])
    assert np.all(sqdist >= 0) and not np.isnan(sqdist).any()


def call_soft_assign(rng):
    N, K, d = gen.dim(rng), gen.dim(rng), gen.dim(rng)
    P = _core.soft_assign(gen.array(rng, (N, d)), gen.array(rng, (K, d)), gen.array(rng, (K,)))
    assert P.shape[1] >= 1 and not np.isnan(P).any()
    if P.size:
        assert np.allclose(P.sum(1), 1.0, atol=1e-3)


def pool(rng):
    M, K = gen.dim(rng), gen.dim(rng)
    psi = gen.array(rng, (M, K)) if rng.random() < 0.3 else rng.random((M, K))
    cost = gen.array(rng, (M,)) if rng.random() < 0.3 else rng.random(M)
    return M, K, psi, cost


def call_route_labels(rng):
    M, K, psi, cost = pool(rng)
    n = gen.dim(rng)
    out = _core.route(gen.labels(rng, n, K), psi, cost, gen.scalar(rng))
    check_labels(out, n, np.asarray(psi).shape[0])


def call_route_dense(rng):
    M, K, psi, cost = pool(rng)
    n = gen.dim(rng)
    phi = gen.array(rng, (n, K))
    out = _core.route(phi, psi, cost, gen.scalar(rng))
    check_labels(out, len(np.asarray(phi)), len(np.asarray(psi)))


def call_choice_table(rng):
    M, K, psi, cost = pool(rng)
    table = _core.choice_table(psi, cost, gen.scalar(rng))
    M, K = np.asarray(psi).shape  # the generator may have changed the shape
    check_labels(table, K, M)


def call_route_path(rng):
    M, K, psi, cost = pool(rng)
    offsets, model, lo, hi = _core.route_path(psi, cost)
    M, K = np.asarray(psi).shape
    assert offsets.shape == (K + 1,) and offsets[-1] == model.size
    check_labels(model, model.size, M)
    assert np.all(hi > lo) and not np.isnan(lo).any()


def call_cluster_sums(rng):
    N, K, d = gen.dim(rng), gen.dim(rng), gen.dim(rng)
    sums, counts = _core.cluster_sums(gen.array(rng, (N, d)), gen.labels(rng, N, K), K)
    assert counts.sum() == N


def call_pairwise_sqdist(rng):
    N, K, d = gen.dim(rng), gen.dim(rng), gen.dim(rng)
    D = _core.pairwise_sqdist(gen.array(rng, (N, d)), gen.array(rng, (K, d)))
    assert not np.isnan(D).any() and (D >= 0).all()


def call_top_k_inner(rng):
    N, K, d = gen.dim(rng), gen.dim(rng), gen.dim(rng)
    k = int(rng.integers(-1, K + 3))
    keys = gen.array(rng, (K, d))
    out = _core.top_k_inner(gen.array(rng, (N, d)), keys, k)
    if out.size:
        assert out.min() >= 0 and out.max() < len(np.asarray(keys))


def call_centroid_index(rng):
    K, d = gen.dim(rng), gen.dim(rng)
    idx = _core.CentroidIndex(gen.array(rng, (K, d)), bool(rng.random() < 0.7),
                              bool(rng.random() < 0.7))
    n = gen.dim(rng)
    X = gen.array(rng, (n, d) if rng.random() < 0.9 else (n, gen.dim(rng)))
    labels, sqdist = idx.assign(X)
    check_labels(labels, labels.size, idx.n_clusters)
    assert not np.isnan(sqdist).any()
    x = gen.array(rng, (d,) if rng.random() < 0.9 else (gen.dim(rng),))
    k = idx.nearest(x)
    assert 0 <= k < idx.n_clusters


def call_pool_router(rng):
    K, d = max(1, gen.dim(rng)), max(1, gen.dim(rng))
    index = _core.CentroidIndex(rng.standard_normal((K, d)).astype(np.float32))
    M = gen.dim(rng)
    psi = gen.array(rng, (M, K)) if rng.random() < 0.3 else rng.random((M, K))
    cost = gen.array(rng, (M,)) if rng.random() < 0.3 else rng.random(M)
    pool = _core.PoolRouter(index, psi, cost)
    lam = gen.scalar(rng)
    n = gen.dim(rng)
    X = gen.array(rng, (n, d))
    check_labels(pool.route(X, lam), len(np.asarray(X)), pool.n_models)
    m = pool.route_one(gen.array(rng, (d,)), lam)
    assert 0 <= m < pool.n_models
    m = pool.route_label(int(rng.integers(-2, K + 2)), lam)
    assert 0 <= m < pool.n_models
    check_labels(pool.choice_table(lam), K, pool.n_models)


_ROUTERS: dict[int, UniRouter] = {}


def router(rng) -> UniRouter:
    d = int(rng.choice([1, 3, 8]))
    if d not in _ROUTERS:
        r = UniRouter(n_clusters=3, random_state=0).fit(np.random.default_rng(d).random((30, d)))
        r.add_model("a", 1.0, np.random.default_rng(1).random((20, d)), np.ones(20))
        r.add_model("b", 0.1, np.random.default_rng(2).random((20, d)), np.zeros(20))
        _ROUTERS[d] = r
    return _ROUTERS[d]


def call_router_route(rng):
    r = router(rng)
    n = gen.dim(rng)
    X = gen.array(rng, (n, r.embedding_dim) if rng.random() < 0.9 else (n, gen.dim(rng)))
    out = r.route_indices(X, lam=gen.scalar(rng))
    out = np.atleast_1d(out)
    check_labels(out, out.size, len(r.models))


def call_router_add(rng):
    r = router(rng)
    n = gen.dim(rng)
    name = str(rng.choice(["new", "new", "a", "", "x\x00y", "ok"]))
    options = [np.ones(n), (rng.random(n) < 0.5).astype(float), rng.random(n) < 0.5,
               rng.random(n) * 2 - 0.5, np.full(n, np.nan), rng.random(n + 1)]
    correct = options[int(rng.integers(len(options)))]
    try:
        r.add_model(name, gen.scalar(rng), gen.array(rng, (n, r.embedding_dim)), correct)
    except KeyError:
        raise AssertionError("add_model raised KeyError")
    if name in r.models and name not in ("a", "b"):
        assert np.isfinite(r.cluster_error_).all()
        r.remove_model(name)


def call_router_unfitted(rng):
    r = UniRouter(n_clusters=int(rng.integers(1, 4)))
    try:
        r.route(gen.array(rng, (2, 3)))
    except NotFittedError:
        pass


ENTRY_POINTS = [call_assign, call_soft_assign, call_route_labels, call_route_dense,
                call_choice_table, call_route_path, call_cluster_sums, call_pairwise_sqdist,
                call_top_k_inner, call_centroid_index, call_pool_router, call_router_route,
                call_router_add, call_router_unfitted]


def run(calls: int, seed: int, seconds: float, failures: list[str] | None = None) -> Counter:
    """Make up to ``calls`` calls; failures are appended to ``failures`` (or raised)."""
    stats: Counter = Counter()
    start = time.monotonic()
    for i in range(calls):
        if time.monotonic() - start > seconds:
            break
        rng = np.random.default_rng([seed, i])
        fn = ENTRY_POINTS[i % len(ENTRY_POINTS)]
        try:
            with np.errstate(all="ignore"):
                fn(rng)
            stats[f"{fn.__name__}:ok"] += 1
        except ALLOWED + (EmptyPoolError, NotFittedError) as exc:
            if not str(exc):
                raise AssertionError(f"{fn.__name__} seed {[seed, i]}: empty error message")
            stats[f"{fn.__name__}:refused"] += 1
        except Exception as exc:
            msg = f"{fn.__name__} seed {[seed, i]}: {type(exc).__name__}: {exc}"
            if failures is None:
                raise AssertionError(msg) from exc
            failures.append(msg)
            stats["failures"] += 1
        stats["calls"] += 1
    return stats


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--calls", type=int, default=100_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--seconds", type=float, default=float("inf"))
    args = p.parse_args()
    t0 = time.monotonic()
    failures: list[str] = []
    stats = run(args.calls, args.seed, args.seconds, failures)
    for key in sorted(stats):
        print(f"{key:40s} {stats[key]}")
    for msg in failures[:20]:
        print("FAIL", msg)
    print(f"calls {stats['calls']} in {time.monotonic() - t0:.1f} s, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
