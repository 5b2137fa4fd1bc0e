"""The performance paths give the same answers as the plain ones.

Covers: the compiled CentroidIndex (fp16 single-prompt path with fp32 re-check, batch
path with cached norms) and PoolRouter (cached per-lam choice table) against the core
kernels and numpy; labels identical across SIMD paths, thread counts and batch sizes;
the forced-baseline path; show_config; pickling of the compiled state.
"""
from __future__ import annotations

import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

import uniroute
from uniroute import _core

from tests.reference import all_sqdist_ref, route_ref


def exact_labels(X: np.ndarray, C: np.ndarray) -> np.ndarray:
    """argmin_k ||c_k||^2 - 2 x.c_k in float64 (exact up to 1e-16 relative)."""
    X64, C64 = X.astype(np.float64), C.astype(np.float64)
    return np.argmin((C64 * C64).sum(1) - 2.0 * X64 @ C64.T, axis=1)


COMPACT = [dict(half=True, fixed_point=True), dict(half=True, fixed_point=False),
           dict(half=False)]
COMPACT_IDS = ["int16", "fp16", "fp32"]


@pytest.mark.parametrize("compact", COMPACT, ids=COMPACT_IDS)
@pytest.mark.parametrize("K,d", [(1, 1), (3, 5), (9, 17), (64, 40), (256, 384), (100, 768)])
def test_index_single_and_batch_match_exact_labels(rng, compact, K, d):
    C = rng.standard_normal((K, d)).astype(np.float32)
    X = rng.standard_normal((300, d)).astype(np.float32)
    idx = _core.CentroidIndex(C, **compact)
    labels, sqdist = idx.assign(X)
    ref = exact_labels(X, C)
    np.testing.assert_array_equal(labels, ref)
    np.testing.assert_array_equal(labels, _core.assign(X, C)[0])
    single = np.array([idx.nearest(x) for x in X])
    np.testing.assert_array_equal(single, labels)
    D = all_sqdist_ref(X, C)
    np.testing.assert_allclose(sqdist, D[np.arange(len(X)), ref], rtol=1e-4, atol=1e-4 * d)


@pytest.mark.parametrize("compact", COMPACT[:2], ids=COMPACT_IDS[:2])
def test_16bit_paths_are_used_and_exact_on_near_ties(rng, compact):
    # Centroids closer to each other than 16 bits can resolve: the re-check with the
    # canonical score must still find the exact winner.
    d, K = 64, 32
    base = rng.standard_normal(d).astype(np.float32)
    C = (base + 1e-4 * rng.standard_normal((K, d))).astype(np.float32)
    X = (base + 1e-4 * rng.standard_normal((500, d))).astype(np.float32)
    idx = _core.CentroidIndex(C, **compact)
    if _core.simd_info()["simd"] == "avx2":
        assert idx.uses_half
        assert idx.single_path == ("int16" if compact["fixed_point"] else "fp16")
    else:
        assert idx.single_path == "fp32"
    single = np.array([idx.nearest(x) for x in X])
    np.testing.assert_array_equal(single, exact_labels(X, C))
    np.testing.assert_array_equal(single, idx.assign(X)[0])


def test_duplicate_centroids_go_to_lowest_index(rng):
    C = rng.standard_normal((10, 24)).astype(np.float32)
    C[7] = C[2]
    C[9] = C[2]
    idx = _core.CentroidIndex(C)
    X = (C[2] + 1e-3 * rng.standard_normal((50, 24))).astype(np.float32)
    X[0] = C[2]
    assert idx.nearest(X[0]) == 2
    assert set(idx.assign(X)[0]) <= {0, 1, 2, 3, 4, 5, 6, 8}
    np.testing.assert_array_equal([idx.nearest(x) for x in X], idx.assign(X)[0])


def test_labels_do_not_depend_on_thread_count_or_batch_size(rng):
    C = rng.standard_normal((256, 96)).astype(np.float32)
    X = rng.standard_normal((20_000, 96)).astype(np.float32)
    n0 = uniroute.get_num_threads()
    try:
        uniroute.set_num_threads(1)
        one = _core.assign(X, C)[0]
        uniroute.set_num_threads(2)
        two = _core.assign(X, C)[0]
    finally:
        uniroute.set_num_threads(0)
    assert uniroute.get_num_threads() == n0
    np.testing.assert_array_equal(one, two)
    np.testing.assert_array_equal(one[:7], _core.assign(X[:7], C)[0])


def test_set_num_threads_validates():
    with pytest.raises(TypeError):
        uniroute.set_num_threads(1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="n must be"):
        uniroute.set_num_threads(-1)


def test_nearest_accepts_other_dtypes_and_rejects_bad_input(rng):
    C = rng.standard_normal((5, 8)).astype(np.float32)
    idx = _core.CentroidIndex(C)
    x = rng.standard_normal(8)
    want = idx.nearest(x.astype(np.float32))
    assert idx.nearest(x) == want  # float64, converted
    assert idx.nearest(x.astype(np.float32)[None, :]) == want  # (1, d)
    assert idx.nearest(list(x.astype(np.float32))) == want
    with pytest.raises(ValueError, match="dim 8"):
        idx.nearest(np.zeros(7, np.float32))
    with pytest.raises(ValueError, match="NaN or inf"):
        idx.nearest(np.full(8, np.nan, np.float32))
    with pytest.raises(ValueError, match="NaN or inf"):
        idx.assign(np.full((3, 8), np.inf, np.float32))
    with pytest.raises(ValueError, match="columns"):
        idx.assign(np.zeros((3, 7), np.float32))
    with pytest.raises(ValueError, match="centroids"):
        _core.CentroidIndex(np.zeros((0, 8), np.float32))
    with pytest.raises(ValueError, match="NaN or inf"):
        _core.CentroidIndex(np.full((2, 8), np.nan))


def test_index_keeps_float64_semantics(rng):
    C = rng.standard_normal((7, 5))
    X = rng.standard_normal((40, 5))
    labels, sqdist = _core.CentroidIndex(C).assign(X)
    assert sqdist.dtype == np.float64
    ref_l, ref_d = _core.assign(X, C.astype(np.float32))
    np.testing.assert_array_equal(labels, ref_l)
    np.testing.assert_allclose(sqdist, ref_d, rtol=1e-5)


@pytest.mark.parametrize("scale", [1e6, 1e-6])
def test_huge_and_tiny_centroids_stay_exact(rng, scale):
    C = (rng.standard_normal((20, 8)) * scale).astype(np.float32)
    X = (rng.standard_normal((200, 8)) * scale).astype(np.float32)
    fp16 = _core.CentroidIndex(C, fixed_point=False)
    if scale > 1:
        assert not fp16.uses_half  # beyond fp16's range: fp32 only
    for idx in (fp16, _core.CentroidIndex(C)):
        np.testing.assert_array_equal([idx.nearest(x) for x in X], exact_labels(X, C))


def test_mixed_scale_coordinates_stay_exact(rng):
    # One huge coordinate makes the int16 grid coarse for the others.
    C = rng.standard_normal((40, 30)).astype(np.float32)
    C[:, 0] *= 1e4
    X = C[rng.integers(0, 40, 300)] + rng.standard_normal((300, 30)).astype(np.float32)
    idx = _core.CentroidIndex(C)
    np.testing.assert_array_equal([idx.nearest(x) for x in X], idx.assign(X)[0])
    np.testing.assert_array_equal(idx.assign(X)[0], exact_labels(X, C))


@pytest.mark.parametrize("M", [1, 3, 40])
def test_pool_router_matches_core_route(rng, M):
    K, d = 12, 16
    C = rng.standard_normal((K, d)).astype(np.float32)
    psi = rng.random((M, K))
    cost = rng.integers(1, 4, M).astype(np.float64)  # repeated costs: ties by index
    psi[:, 0] = 0.5  # exact ties in cluster 0
    idx = _core.CentroidIndex(C)
    pool = _core.PoolRouter(idx, psi, cost)
    X = rng.standard_normal((200, d)).astype(np.float32)
    labels = idx.assign(X)[0]
    for lam in [0.0, 0.05, 0.3, 10.0, 0.05]:
        want = route_ref(labels, psi, cost, lam)
        np.testing.assert_array_equal(pool.route(X, lam), want)
        np.testing.assert_array_equal([pool.route_one(x, lam) for x in X[:30]], want[:30])
        np.testing.assert_array_equal(pool.choice_table(lam), _core.choice_table(psi, cost, lam))
        assert [pool.route_label(k, lam) for k in range(K)] == list(pool.choice_table(lam))
    with pytest.raises(ValueError, match="lam"):
        pool.route_one(X[0], -1.0)
    with pytest.raises(ValueError, match="lam"):
        pool.route(X, float("nan"))
    with pytest.raises(ValueError, match="clusters"):
        _core.PoolRouter(idx, psi[:, :5], cost)
    with pytest.raises(ValueError, match="out of range"):
        pool.route_label(K, 0.0)


def test_compiled_state_pickles(rng):
    C = rng.standard_normal((6, 10)).astype(np.float32)
    idx = _core.CentroidIndex(C)
    pool = _core.PoolRouter(idx, rng.random((3, 6)), np.array([1.0, 2.0, 3.0]))
    X = rng.standard_normal((30, 10)).astype(np.float32)
    pool2 = pickle.loads(pickle.dumps(pool))
    np.testing.assert_array_equal(pool2.route(X, 0.1), pool.route(X, 0.1))
    np.testing.assert_array_equal(pool2.index.centroids, C)


def test_router_uses_compiled_state_and_invalidates_it(rng):
    X = rng.standard_normal((400, 12)).astype(np.float32)
    r = uniroute.UniRouter(n_clusters=6, random_state=0, n_init=1).fit(X)
    probes = rng.standard_normal((120, 12)).astype(np.float32)
    r.add_model("a", 1.0, probes, rng.random(120) < 0.5)
    first = r.route_indices(X, 0.0)
    r.add_model("b", 0.0, probes, np.ones(120))  # perfect and free: always chosen
    assert set(r.route_indices(X, 0.0)) == {1}
    assert r.route_indices(X[0], 0.0) == 1
    r.remove_model("b")
    np.testing.assert_array_equal(r.route_indices(X, 0.0), first)
    assert r.route(X[3]) == "a"


def test_show_config_reports_the_path(capsys):
    uniroute.show_config()
    out = capsys.readouterr().out
    info = uniroute.config()
    assert info["simd"] in ("avx2", "baseline")
    assert f"simd path            {info['simd']}" in out
    assert info["num_threads"] >= 1


def _run(code: str, **env: str) -> str:
    full = {**os.environ, **env}
    return subprocess.run([sys.executable, "-c", code], env=full, check=True,
                          capture_output=True, text=True).stdout.strip()


def test_env_forces_baseline_path_with_identical_labels(tmp_path, rng):
    C = rng.standard_normal((64, 50)).astype(np.float32)
    X = rng.standard_normal((3000, 50)).astype(np.float32)
    np.save(tmp_path / "C.npy", C)
    np.save(tmp_path / "X.npy", X)
    code = (f"import numpy as np; from uniroute import _core; "
            f"C = np.load(r'{tmp_path / 'C.npy'}'); X = np.load(r'{tmp_path / 'X.npy'}'); "
            f"i = _core.CentroidIndex(C); l = i.assign(X)[0]; "
            f"s = np.array([i.nearest(x) for x in X[:200]]); "
            f"np.save(r'{tmp_path}/' + _core.simd_info()['simd'] + '.npy', l); "
            f"assert (s == l[:200]).all(); print(_core.simd_info()['simd'])")
    assert _run(code, UNIROUTE_SIMD="baseline") == "baseline"
    assert "forced" in _run("from uniroute import _core; print(_core.simd_info()['reason'])",
                            UNIROUTE_SIMD="baseline")
    assert _run("from uniroute import _core; print(_core.get_num_threads())",
                UNIROUTE_NUM_THREADS="3") == "3"
    base = np.load(tmp_path / "baseline.npy")
    np.testing.assert_array_equal(base, exact_labels(X, C))
    if _core.simd_info()["cpu_avx2_fma_f16c"]:
        assert _run(code, UNIROUTE_SIMD="") == "avx2"
        np.testing.assert_array_equal(np.load(tmp_path / "avx2.npy"), base)


@pytest.mark.parametrize("n,m,d,k", [(0, 5, 3, 2), (1, 1, 1, 1), (37, 50, 9, 5), (600, 300, 33, 50)])
def test_top_k_inner_matches_numpy(rng, n, m, d, k):
    Q = rng.standard_normal((n, d)).astype(np.float32)
    Kx = rng.standard_normal((m, d)).astype(np.float32)
    got = _core.top_k_inner(Q, Kx, k)
    assert got.shape == (n, k)
    S = Q.astype(np.float64) @ Kx.T.astype(np.float64)
    want = np.sort(np.argsort(-S, axis=1, kind="stable")[:, :k], axis=1)
    np.testing.assert_array_equal(got, want)


def test_top_k_inner_ties_take_lowest_indices():
    keys = np.ones((6, 2), np.float32)
    np.testing.assert_array_equal(_core.top_k_inner(np.ones((1, 2), np.float32), keys, 3),
                                  [[0, 1, 2]])
    with pytest.raises(ValueError, match="k must be"):
        _core.top_k_inner(np.ones((1, 2), np.float32), keys, 7)
    with pytest.raises(ValueError, match="columns"):
        _core.top_k_inner(np.ones((1, 3), np.float32), keys, 1)


def test_pairwise_sqdist_matches_numpy(rng):
    X = rng.standard_normal((300, 17)).astype(np.float32)
    C = rng.standard_normal((6, 17)).astype(np.float32)
    np.testing.assert_allclose(_core.pairwise_sqdist(X, C), all_sqdist_ref(X, C),
                               rtol=1e-5, atol=1e-4)
    assert _core.pairwise_sqdist(X[:0], C).shape == (0, 6)


@pytest.mark.parametrize("t", [1, 2, 3, 5, 7, 8, 9, 17])
@pytest.mark.parametrize("d", [5, 8, 67, 768])
def test_pairwise_sqdist_every_few_column_count(rng, t, d):
    # t <= 8 takes the streaming kernel (one instantiation per count), more the GEMM;
    # 130 rows cross the 64-row sub-blocks in which norms are taken
    X = rng.standard_normal((130, d)).astype(np.float32)
    C = rng.standard_normal((t, d)).astype(np.float32)
    ref = all_sqdist_ref(X, C)
    np.testing.assert_allclose(_core.pairwise_sqdist(X, C), ref, rtol=1e-5,
                               atol=1e-5 * float(np.abs(ref).max()))


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_pairwise_sqdist_names_the_bad_row_of_x(rng, bad):
    # X is no longer scanned up front: the kernel's NaN rows must still be reported as X's
    X = rng.standard_normal((200, 16)).astype(np.float32)
    X[137, 3] = bad
    with pytest.raises(ValueError, match=r"X contains NaN or inf \(row 137\)"):
        _core.pairwise_sqdist(X, X[:3].copy())
