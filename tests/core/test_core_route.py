"""uniroute._core.route / choice_table / route_path against the numpy references."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from uniroute import _core

from tests.reference import path_choice_ref, route_ref


@pytest.mark.parametrize("N,K,M", [(0, 3, 2), (1, 1, 1), (1, 4, 6), (500, 1, 3), (2000, 32, 12)])
def test_route_hard_labels_match_reference(rng, N, K, M):
    labels = rng.integers(0, K, N)
    psi = rng.random((M, K))
    cost = rng.random(M)
    for lam in [0.0, 0.1, 1.0, 100.0]:
        np.testing.assert_array_equal(_core.route(labels, psi, cost, lam),
                                      route_ref(labels, psi, cost, lam))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("N,K,M", [(0, 3, 2), (1, 1, 1), (7, 4, 6), (3000, 16, 40)])
def test_route_dense_matches_reference(rng, dtype, N, K, M):
    phi = rng.dirichlet(np.ones(K), size=N).astype(dtype)
    psi = rng.random((M, K))
    cost = rng.random(M)
    for lam in [0.0, 0.3, 5.0]:
        got = _core.route(phi, psi, cost, lam)
        ref = route_ref(phi, psi, cost, lam)
        if dtype == np.float64:
            np.testing.assert_array_equal(got, ref)
        else:  # float32 rounding may flip near-ties only
            scores = phi.astype(np.float64) @ psi.T + lam * cost
            rows = np.arange(N)
            assert np.all(scores[rows, got] - scores[rows, ref] <= 1e-5)


def test_route_tie_goes_to_cheaper_then_lower_index():
    psi = np.array([[0.2], [0.2], [0.2], [0.5]])
    cost = np.array([3.0, 1.0, 1.0, 0.0])
    labels = np.zeros(4, dtype=np.int64)
    np.testing.assert_array_equal(_core.route(labels, psi, cost, 0.0), [1, 1, 1, 1])
    phi = np.ones((2, 1), np.float32)
    np.testing.assert_array_equal(_core.route(phi, psi, cost, 0.0), [1, 1])
    # At lam = 0.3 model 1 scores 0.5 and model 3 scores 0.5: the cheaper (3) wins.
    np.testing.assert_array_equal(_core.choice_table(psi, cost, 0.3), [3])


def test_choice_table_matches_reference(rng):
    psi = rng.random((9, 13))
    cost = rng.random(9)
    for lam in [0.0, 0.05, 0.5, 50.0]:
        np.testing.assert_array_equal(_core.choice_table(psi, cost, lam),
                                      path_choice_ref(psi, cost, lam))


def choice_from_path(path, k, lam):
    offsets, model, lo, hi = path
    for j in range(offsets[k], offsets[k + 1]):
        if lo[j] <= lam < hi[j]:
            return model[j]
    raise AssertionError(f"lam {lam} not covered in cluster {k}")


def check_path(psi: np.ndarray, cost: np.ndarray) -> None:
    path = _core.route_path(psi, cost)
    offsets, model, lo, hi = path
    K = psi.shape[1]
    assert offsets.shape == (K + 1,) and offsets[0] == 0 and offsets[-1] == model.size
    for k in range(K):
        seg = slice(offsets[k], offsets[k + 1])
        assert offsets[k + 1] > offsets[k]
        assert lo[seg][0] == 0.0 and np.isinf(hi[seg][-1])
        np.testing.assert_array_equal(lo[seg][1:], hi[seg][:-1])  # contiguous intervals
        assert np.all(hi[seg] > lo[seg])
        assert np.all(np.diff(cost[model[seg]]) < 0)  # ever cheaper as lam grows
        # Every interval's interior, and beyond the last breakpoint, agrees with brute force.
        ends = np.concatenate([lo[seg], [hi[seg][-2] * 2 + 1 if model[seg].size > 1 else 1.0]])
        probes = [(a + b) / 2 for a, b in zip(ends[:-1], ends[1:])] + [ends[-1] * 10]
        for lam in probes:
            assert choice_from_path(path, k, lam) == path_choice_ref(psi, cost, lam)[k]


def test_route_path_matches_brute_force(rng):
    for M, K in [(1, 1), (2, 3), (5, 4), (12, 20), (40, 5)]:
        check_path(rng.random((M, K)), rng.random(M))


def test_route_path_hand_worked_hull():
    # Points (cost, error): A(3, .1) B(2, .2) C(1, .5) D(0, .9) E(2.5, .5) (dominated).
    psi = np.array([[0.1], [0.2], [0.5], [0.9], [0.5]])
    cost = np.array([3.0, 2.0, 1.0, 0.0, 2.5])
    offsets, model, lo, hi = _core.route_path(psi, cost)
    np.testing.assert_array_equal(model, [0, 1, 2, 3])
    np.testing.assert_allclose(lo, [0.0, 0.1, 0.3, 0.4])
    np.testing.assert_allclose(hi, [0.1, 0.3, 0.4, np.inf])


def test_route_path_collinear_middle_point_is_skipped():
    psi = np.array([[0.0], [0.5], [1.0]])
    cost = np.array([2.0, 1.0, 0.0])  # all on one line: lam = 0.5 ties all three
    offsets, model, lo, hi = _core.route_path(psi, cost)
    np.testing.assert_array_equal(model, [0, 2])
    np.testing.assert_allclose(lo, [0.0, 0.5])


@settings(max_examples=80, deadline=None)
@given(M=st.integers(1, 8), K=st.integers(1, 4), seed=st.integers(0, 10_000),
       grid=st.booleans())
def test_route_path_property(M, K, seed, grid):
    r = np.random.default_rng(seed)
    psi = r.random((M, K))
    cost = r.random(M)
    if grid:  # coarse values make exact ties and equal costs common
        psi = np.round(psi * 4) / 4
        cost = np.round(cost * 3) / 3
    check_path(psi, cost)


def test_route_with_single_model_always_picks_it(rng):
    labels = rng.integers(0, 3, 10)
    np.testing.assert_array_equal(_core.route(labels, rng.random((1, 3)), [2.0], 7.0), 0)


@pytest.mark.parametrize("N,K,M", [(0, 3, 2), (1, 1, 1), (1, 8, 1024), (7, 4, 6), (3000, 16, 40)])
def test_dense_pool_matches_the_functional_route(rng, N, K, M):
    phi = rng.dirichlet(np.ones(K), size=N).astype(np.float32)
    psi = rng.random((M, K))
    cost = rng.random(M)
    pool = _core.DensePool(psi, cost)
    assert (pool.n_models, pool.n_clusters) == (M, K)
    for lam in [0.0, 0.3, 5.0]:
        np.testing.assert_array_equal(pool.route(phi, lam), _core.route(phi, psi, cost, lam))


def test_dense_route_ties_go_to_cheaper_then_lower_index():
    psi = np.array([[0.2, 0.2], [0.2, 0.2], [0.2, 0.2], [0.5, 0.5]])
    cost = np.array([3.0, 1.0, 1.0, 5.0])
    phi = np.array([[0.5, 0.5], [1.0, 0.0]], dtype=np.float32)
    np.testing.assert_array_equal(_core.route(phi, psi, cost, 0.0), [1, 1])
    np.testing.assert_array_equal(_core.DensePool(psi, cost).route(phi, 0.0), [1, 1])
    # a single prompt against many models takes the path that does not reorder Psi
    psi8 = np.vstack([psi, np.full((6, 2), 0.9), [[0.2, 0.2]], [[0.2, 0.2]]])
    cost8 = np.concatenate([cost, np.zeros(6), [1.0, 0.5]])
    for lam in (0.0, 0.01):
        want = route_ref(phi[:1].astype(np.float64), psi8, cost8, lam)
        np.testing.assert_array_equal(_core.route(phi[:1], psi8, cost8, lam), want)
        np.testing.assert_array_equal(_core.route(phi, psi8, cost8, lam),
                                      route_ref(phi.astype(np.float64), psi8, cost8, lam))
    assert _core.route(phi[:1], psi8, cost8, 0.0)[0] == 11


def test_dense_pool_bad_input():
    pool = _core.DensePool(np.ones((2, 3)), [1.0, 2.0])
    with pytest.raises(ValueError, match="Phi has 2 columns, expected 3"):
        pool.route(np.ones((1, 2), np.float32))
    with pytest.raises(ValueError, match="lam must be a finite number >= 0"):
        pool.route(np.ones((1, 3), np.float32), -1.0)
    with pytest.raises(ValueError, match="Phi"):
        pool.route(np.full((1, 3), np.nan, np.float32))
    with pytest.raises(ValueError, match="cost has length 1"):
        _core.DensePool(np.ones((2, 3)), [1.0])
    with pytest.raises(ValueError, match="negative"):
        _core.DensePool(np.ones((2, 3)), [1.0, -2.0])
    with pytest.raises(ValueError, match="cluster_error"):
        _core.DensePool(np.array([[np.inf, 0, 0], [0, 0, 0]]), [1.0, 2.0])


@pytest.mark.parametrize("bad", [np.nan, -np.nan, np.inf, -np.inf])
def test_checked_inputs_name_the_row_holding_nan_or_inf(bad):
    phi = np.full((5, 3), 1 / 3, np.float32)
    phi[3, 1] = bad
    for call in (lambda: _core.route(phi, np.ones((2, 3)), [1.0, 2.0], 0.1),
                 lambda: _core.DensePool(np.ones((2, 3)), [1.0, 2.0]).route(phi, 0.1),
                 lambda: _core.route(phi.astype(np.float64), np.ones((2, 3)), [1.0, 2.0])):
        with pytest.raises(ValueError, match=r"Phi contains NaN or inf \(row 3\)"):
            call()
    with pytest.raises(ValueError, match=r"queries contains NaN or inf \(row 3\)"):
        _core.top_k_inner(phi, np.ones((4, 3), np.float32), 2)
