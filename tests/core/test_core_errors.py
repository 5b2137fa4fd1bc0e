"""Bad input to uniroute._core: a clear ValueError/TypeError, never a crash or a NaN route."""
from __future__ import annotations

import numpy as np
import pytest

from uniroute import _core

X = np.random.default_rng(0).standard_normal((20, 4)).astype(np.float32)
C = np.random.default_rng(1).standard_normal((3, 4)).astype(np.float32)
PSI = np.random.default_rng(2).random((2, 3))
COST = np.array([1.0, 2.0])
LABELS = np.array([0, 1, 2, 1])


@pytest.mark.parametrize("bad", [X.astype(np.complex64), X.astype(bool), X.astype(object),
                                 X.astype(str), np.array([["a", "b"]]),
                                 X.view([(f"f{i}", np.float32) for i in range(4)]).reshape(20, 1),
                                 X.astype("datetime64[s]")])
def test_assign_refuses_non_real_dtypes(bad):
    with pytest.raises(TypeError, match="X has dtype"):
        _core.assign(bad, C)


def test_refused_centroid_dtype_names_centroids():
    with pytest.raises(TypeError, match="centroids has dtype complex"):
        _core.assign(X, C.astype(complex))


@pytest.mark.parametrize("args, match", [
    ((X[0], C), "X must be a 2-D array"),
    ((X[None], C), "X must be a 2-D array"),
    ((X, C[:, :3]), "centroids has 3 columns, expected 4"),
    ((X, C[:0]), "at least one centroid"),
    ((np.zeros((5, 0), np.float32), np.zeros((2, 0), np.float32)), "dim >= 1"),
    ((X, C[0]), "centroids must be a 2-D array"),
])
def test_assign_shape_errors_name_the_argument(args, match):
    with pytest.raises(ValueError, match=match):
        _core.assign(*args)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite_embeddings_and_centroids_are_refused(value):
    Xb = X.copy()
    Xb[7, 2] = value
    with pytest.raises(ValueError, match=r"X contains NaN or inf \(row 7\)"):
        _core.assign(Xb, C)
    Cb = C.copy()
    Cb[1, 0] = value
    with pytest.raises(ValueError, match="centroids contains NaN"):
        _core.assign(X, Cb)
    with pytest.raises(ValueError, match="X contains NaN"):
        _core.assign(Xb.astype(np.float16), C)  # converting path too
    with pytest.raises(ValueError, match="X contains NaN"):
        _core.soft_assign(Xb, C, np.zeros(3))
    with pytest.raises(ValueError, match="b contains NaN"):
        _core.soft_assign(X, C, np.array([0.0, value, 0.0]))


def test_soft_assign_shape_errors():
    with pytest.raises(ValueError, match="b has length 2, expected n_clusters = 3"):
        _core.soft_assign(X, C, np.zeros(2))
    with pytest.raises(ValueError, match="W has 5 columns"):
        _core.soft_assign(X, np.zeros((3, 5)), np.zeros(3))


@pytest.mark.parametrize("lam", [np.nan, np.inf, -1.0])
def test_route_refuses_bad_lam(lam):
    with pytest.raises(ValueError, match="lam must be a finite number >= 0"):
        _core.route(LABELS, PSI, COST, lam)
    with pytest.raises(ValueError, match="lam must be"):
        _core.choice_table(PSI, COST, lam)


@pytest.mark.parametrize("cost, match", [([1.0, np.nan], "cost contains NaN"),
                                         ([1.0, -2.0], r"cost\[1\] is negative"),
                                         ([1.0], "cost has length 1, expected n_models = 2"),
                                         ([[1.0, 2.0]], "cost must be a 1-D array")])
def test_route_refuses_bad_costs(cost, match):
    for call in (lambda: _core.route(LABELS, PSI, np.array(cost), 0.1),
                 lambda: _core.route_path(PSI, np.array(cost)),
                 lambda: _core.choice_table(PSI, np.array(cost))):
        with pytest.raises(ValueError, match=match):
            call()


def test_route_refuses_out_of_range_and_float_labels():
    with pytest.raises(ValueError, match=r"labels\[1\] = 3 is out of range"):
        _core.route(np.array([0, 3]), PSI, COST)
    with pytest.raises(ValueError, match=r"labels\[0\] = -1 is out of range"):
        _core.route(np.array([-1]), PSI, COST)
    with pytest.raises(TypeError, match="labels has dtype float64, expected an integer"):
        _core.route(np.array([0.0, 1.0]), PSI, COST)
    with pytest.raises(TypeError, match="labels has dtype bool"):
        _core.route(np.array([True]), PSI, COST)


def test_route_refuses_empty_pool_and_mismatched_phi():
    with pytest.raises(ValueError, match="no models"):
        _core.route(LABELS, np.zeros((0, 3)), np.zeros(0))
    with pytest.raises(ValueError, match="Phi has 2 columns, expected 3"):
        _core.route(np.ones((4, 2)), PSI, COST)
    with pytest.raises(ValueError, match="Phi contains NaN"):
        _core.route(np.full((1, 3), np.nan), PSI, COST)
    with pytest.raises(ValueError, match="cluster_error contains NaN"):
        _core.route(LABELS, np.full((2, 3), np.nan), COST)


def test_cluster_sums_errors():
    with pytest.raises(ValueError, match="labels has length 3, expected 20"):
        _core.cluster_sums(X, np.zeros(3, np.int64), 2)
    with pytest.raises(ValueError, match="out of range"):
        _core.cluster_sums(X, np.full(20, 5), 2)
    with pytest.raises(ValueError, match="n_clusters must be >= 1"):
        _core.cluster_sums(X, np.zeros(20, np.int64), 0)


def test_lists_are_converted_and_ragged_lists_refused():
    labels, _ = _core.assign([[0.0, 0.0], [5.0, 5.0]], [[0.0, 0.0], [5.0, 5.0]])
    np.testing.assert_array_equal(labels, [0, 1])
    with pytest.raises((TypeError, ValueError)):
        _core.assign([[0.0], [1.0, 2.0]], [[0.0, 0.0]])
    with pytest.raises(TypeError):
        _core.assign(None, C)
