"""One routing decision against Nordlys (PyPI ``nordlys-core``), the newest C++ peer.

Both are given the same centroids and the same per-cluster errors (Nordlys's checkpoint
holds ``scores = 1 - error``; it has no cost term, so both decide at lam = 0), and both
route one prompt at a time from Python: ``UniRouter.route(x)`` against
``Nordlys.route(x)``. The shapes are Nordlys's own benchmark sizes -- K=10 d=128 M=3,
its "medium" K=100 d=512 M=10, and the large K=1000 / 2000 at d=1536, M=10 -- plus ours,
K=256 d=768 M=100. Before timing, the two must choose the same model on 300 prompts
(the per-cluster errors are continuous, so there are no ties to break differently).
"""
from __future__ import annotations

import json

import numpy as np
import pytest
import uniroute

from .conftest import importorskip_baseline, run, tag

SHAPES = [(10, 128, 3), (100, 512, 10), (256, 768, 100), (1000, 1536, 10), (2000, 1536, 10)]
SMALL = [(4, 16, 3), (12, 32, 5)]


def _checkpoint(r: uniroute.UniRouter) -> str:
    psi = r.cluster_error_
    k = psi.shape[1]
    return json.dumps({
        "cluster_centers": r.centroids_.tolist(),
        "models": [{"model_id": n, "scores": (1.0 - psi[i]).tolist()}  # higher is better
                   for i, n in enumerate(r.models)],
        "embedding": {"model": "none", "trust_remote_code": False, "embedding_prompt_name": "",
                      "embedding_prompt": "", "max_seq_length": 512},
        "clustering": {"n_clusters": k, "random_state": 0, "max_iter": 10, "n_init": 1,
                       "algorithm": "kmeans", "normalization": "none"},
        "reduction": None, "metrics": {}})


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "shape" in metafunc.fixturenames:
        full = metafunc.config.getoption("--bench-size") == "full"
        grid = SHAPES if full else SMALL
        metafunc.parametrize("shape", grid, ids=[f"K{k}-d{d}-M{m}" for k, d, m in grid],
                             scope="module")


_cache: dict = {}


def setup(shape):
    """(router, Nordlys engine, one prompt, group, rounds), decisions checked once."""
    if shape in _cache:
        return _cache[shape]
    _cache.clear()
    nc = importorskip_baseline("nordlys_core")
    k, d, m = shape
    rng = np.random.default_rng(k + d + m)
    blobs = rng.standard_normal((k, d), dtype=np.float32)
    X = (blobs[rng.integers(0, k, 4 * k + 300)]
         + 0.3 * rng.standard_normal((4 * k + 300, d), dtype=np.float32)).astype(np.float32)
    # K-means on the K blob centres (the centroids are those centres; fast at K = 2000)
    r = uniroute.UniRouter(k, random_state=0, n_init=1, max_iter=1).fit(blobs)
    for j in range(m):
        # soft per-prompt quality: continuous cluster errors, hence no ties
        r.add_model(f"p/m{j}", float(rng.uniform(0.1, 10)), X[: 4 * k], rng.random(4 * k))
    engine = nc.Nordlys.from_checkpoint(nc.NordlysCheckpoint.from_json_string(_checkpoint(r)))
    Q = np.ascontiguousarray(X[4 * k:])
    ours = r.route(Q, 0.0)
    theirs = [engine.route(np.ascontiguousarray(q)).selected_model for q in Q]
    assert list(ours) == theirs  # same centroids, same errors: the same decisions
    full = k * d >= 1280
    rounds = (2_000 if k >= 1000 else 20_000) if full else 200
    _cache[shape] = (r, engine, Q[0], f"single decision vs Nordlys K={k} d={d} M={m}", rounds)
    return _cache[shape]


def test_single_ours(benchmark, shape):
    r, _, x, group, rounds = setup(shape)
    benchmark.group = group
    tag(benchmark, "ours", "uniroute route(x)")
    got = run(benchmark, r.route, x, 0.0, rounds=rounds, warmup=100)
    assert got == r.route(x[None], 0.0)[0]


def test_single_nordlys(benchmark, shape):
    r, engine, x, group, rounds = setup(shape)
    benchmark.group = group
    tag(benchmark, "baseline", "nordlys route(x)")
    got = run(benchmark, engine.route, x, rounds=rounds, warmup=100)
    assert got.selected_model == r.route(x, 0.0)
