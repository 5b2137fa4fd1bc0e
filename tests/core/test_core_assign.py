"""uniroute._core.assign / soft_assign / cluster_sums against the numpy references."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from uniroute import _core

from tests.reference import all_sqdist_ref, assign_ref, soft_assign_ref


def check_assign(X: np.ndarray, C: np.ndarray) -> None:
    labels, sqdist = _core.assign(X, C)
    assert labels.dtype == np.int64 and labels.shape == (X.shape[0],)
    assert sqdist.shape == (X.shape[0],)
    if X.shape[0] == 0:
        return
    D = all_sqdist_ref(X, C)
    best = D.min(1)
    scale = 1.0 + (np.asarray(X, np.float64) ** 2).sum(1) + (np.asarray(C, np.float64) ** 2).sum(1).max()
    rtol = 1e-4 if sqdist.dtype == np.float32 else 1e-10
    # The chosen centroid is (within rounding) a nearest one ...
    chosen = D[np.arange(len(X)), labels]
    assert np.all(chosen - best <= rtol * scale)
    # ... and is exactly the reference's where the runner-up is clearly farther.
    ref_labels, _ = assign_ref(X, C)
    second = np.partition(D, 1, axis=1)[:, 1] if C.shape[0] > 1 else np.full(len(X), np.inf)
    clear = (second - best) > 10 * rtol * scale
    np.testing.assert_array_equal(labels[clear], ref_labels[clear])
    assert np.all(sqdist >= 0)
    np.testing.assert_allclose(sqdist, best, rtol=0, atol=10 * rtol * scale.max())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("N,K,d", [(0, 3, 4), (1, 1, 1), (1, 5, 3), (7, 1, 2), (1000, 16, 32),
                                   (3000, 300, 8), (257, 3, 700)])
def test_assign_matches_numpy_reference(rng, dtype, N, K, d):
    X = rng.standard_normal((N, d)).astype(dtype)
    C = rng.standard_normal((K, d)).astype(dtype)
    check_assign(X, C)
    labels, sqdist = _core.assign(X, C)
    assert sqdist.dtype == dtype


def test_assign_ties_go_to_lowest_index(rng):
    C = rng.standard_normal((4, 6)).astype(np.float32)
    C = np.vstack([C, C])  # centroids 4..7 duplicate 0..3
    X = np.vstack([C[:4], rng.standard_normal((50, 6)).astype(np.float32)])
    labels, sqdist = _core.assign(X, C)
    assert np.all(labels < 4)
    np.testing.assert_array_equal(labels[:4], np.arange(4))
    assert np.all(sqdist[:4] >= 0) and np.all(sqdist[:4] < 1e-5)


def test_assign_equidistant_point_goes_to_lowest_index():
    C = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    labels, _ = _core.assign(np.zeros((3, 2), np.float32), C)
    np.testing.assert_array_equal(labels, [0, 0, 0])


def test_assign_non_contiguous_and_fortran_inputs(rng):
    base = rng.standard_normal((400, 40))
    C = rng.standard_normal((9, 20))
    views = [base[::2, ::2], np.asfortranarray(base[:, :20]), base[::-1, 5:25],
             base[:, :20].astype(np.float32)[::3]]
    for X in views:
        ref = _core.assign(np.ascontiguousarray(X), C)
        got = _core.assign(X, C)
        np.testing.assert_array_equal(got[0], ref[0])
        np.testing.assert_allclose(got[1], ref[1], rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float16, np.int8, np.int16, np.int32, np.int64, np.uint8,
                                   np.uint16, np.uint32, np.uint64, np.longdouble])
def test_assign_converts_real_dtypes(rng, dtype):
    X = (rng.random((300, 7)) * 100).astype(dtype)
    C = (rng.random((5, 7)) * 100).astype(np.float32)
    labels, sqdist = _core.assign(X, C)
    # the reference sees the values the kernel sees: X converted as documented
    Xc = X.astype(np.float64 if np.dtype(dtype).kind == "f" and np.dtype(dtype).itemsize >= 8
                  else np.float32)
    D = all_sqdist_ref(Xc, C)
    ref_labels = D.argmin(1)
    gap = D[np.arange(300), labels] - D.min(1)
    # float32 rounding may flip a near-tie; never a clear decision
    assert np.all((labels == ref_labels) | (gap <= 1e-5 * D.min(1) + 1e-3))
    np.testing.assert_allclose(sqdist, D[np.arange(300), labels], rtol=1e-4, atol=1e-2)
    want = np.float64 if np.dtype(dtype).kind == "f" and np.dtype(dtype).itemsize >= 8 else np.float32
    assert sqdist.dtype == want


def test_assign_big_endian_and_misaligned(rng):
    X = rng.standard_normal((100, 12))
    C = rng.standard_normal((4, 12))
    ref = _core.assign(X, C)[0]
    np.testing.assert_array_equal(_core.assign(X.astype(">f8"), C.astype(">f4"))[0], ref)
    raw = np.zeros(X.size * 4 + 1, dtype=np.uint8)
    mis = raw[1:].view(np.float32).reshape(X.shape)
    mis[...] = X
    assert not mis.flags.aligned
    np.testing.assert_array_equal(_core.assign(mis, C.astype(np.float32))[0],
                                  _core.assign(X.astype(np.float32), C.astype(np.float32))[0])


def test_assign_read_only_input(rng):
    X = rng.standard_normal((50, 3)).astype(np.float32)
    X.flags.writeable = False
    C = rng.standard_normal((2, 3)).astype(np.float32)
    C.flags.writeable = False
    np.testing.assert_array_equal(_core.assign(X, C)[0], assign_ref(X, C)[0])


def test_assign_streams_blocks_larger_than_one_block(rng):
    # More rows than one streamed block (2**20 elements) through the converting path.
    X = rng.standard_normal((70_000, 16)).astype(np.float64)[:, ::1]
    Xf = np.asfortranarray(X.astype(np.float32))
    C = rng.standard_normal((8, 16)).astype(np.float32)
    np.testing.assert_array_equal(_core.assign(Xf, C)[0], _core.assign(np.ascontiguousarray(Xf), C)[0])


@settings(max_examples=60, deadline=None)
@given(data=st.data(), N=st.integers(0, 40), K=st.integers(1, 12), d=st.integers(1, 9),
       dtype=st.sampled_from([np.float32, np.float64]))
def test_assign_property(data, N, K, d, dtype):
    elems = st.floats(-100, 100, width=32)
    X = data.draw(hnp.arrays(dtype, (N, d), elements=elems))
    C = data.draw(hnp.arrays(dtype, (K, d), elements=elems))
    check_assign(X, C)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("N,K,d", [(0, 2, 3), (1, 1, 1), (50, 7, 5), (2000, 40, 16)])
def test_soft_assign_matches_reference(rng, dtype, N, K, d):
    X = rng.standard_normal((N, d)).astype(dtype)
    W = rng.standard_normal((K, d)).astype(dtype)
    b = rng.standard_normal(K).astype(dtype)
    P = _core.soft_assign(X, W, b)
    assert P.shape == (N, K) and P.dtype == dtype
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(P, soft_assign_ref(X, W, b), atol=tol)
    if N:
        np.testing.assert_allclose(P.sum(1), 1.0, atol=tol * 10)


def test_soft_assign_is_stable_for_huge_logits():
    X = np.array([[1000.0, -1000.0]], dtype=np.float32)
    W = np.eye(2, dtype=np.float32) * 50
    P = _core.soft_assign(X, W, np.zeros(2, np.float32))
    assert np.isfinite(P).all()
    np.testing.assert_allclose(P, [[1.0, 0.0]])


@given(N=st.integers(0, 60), K=st.integers(1, 6), d=st.integers(1, 5), seed=st.integers(0, 99))
@settings(max_examples=40, deadline=None)
def test_cluster_sums_matches_bincount(N, K, d, seed):
    r = np.random.default_rng(seed)
    X = r.standard_normal((N, d)).astype(np.float32)
    labels = r.integers(0, K, N)
    sums, counts = _core.cluster_sums(X, labels, K)
    np.testing.assert_array_equal(counts, np.bincount(labels, minlength=K))
    ref = np.zeros((K, d))
    np.add.at(ref, labels, X.astype(np.float64))
    np.testing.assert_allclose(sums, ref, atol=1e-9)


@pytest.mark.parametrize("n", [2, 3, 17, 64, 257, 4096, 4097])
@pytest.mark.parametrize("K, d", [(256, 768), (9, 33), (40, 2100)])
def test_index_batches_equal_rows_one_at_a_time(rng, n, K, d):
    # Up to kFewRows (4,096) rows go through the int16 kernel two at a time (d > 2,048
    # falls back to one at a time), more through the GEMM: every row's label and distance
    # must equal the single-prompt call's, and the labels the float64 answer.
    C = rng.standard_normal((K, d)).astype(np.float32)
    X = (C[rng.integers(0, K, n)] + rng.standard_normal((n, d))).astype(np.float32)
    idx = _core.CentroidIndex(C)
    labels, sqdist = idx.assign(X)
    ref = np.concatenate([assign_ref(X[lo:lo + 64], C)[0] for lo in range(0, n, 64)])
    np.testing.assert_array_equal(labels, ref)
    if n <= 257:
        one = [idx.assign(X[i:i + 1]) for i in range(n)]
        np.testing.assert_array_equal(labels, [o[0][0] for o in one])
        alone = np.array([o[1][0] for o in one])
        if idx.single_path == "int16" and n <= 4096:  # the same kernel: bit for bit
            np.testing.assert_array_equal(sqdist, alone)
        else:  # the baseline path's GEMM rounds a lone row and a block differently
            np.testing.assert_allclose(sqdist, alone, rtol=1e-5)


@pytest.mark.parametrize("row", [0, 1, 4, 5])
def test_index_pairs_report_the_bad_row(rng, row):
    C = rng.standard_normal((16, 40)).astype(np.float32)
    X = rng.standard_normal((6, 40)).astype(np.float32)
    X[row, 7] = np.nan
    with pytest.raises(ValueError, match=rf"row {row}\b"):
        _core.CentroidIndex(C).assign(X)
