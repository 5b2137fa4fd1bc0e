from __future__ import annotations

import numpy as np
import pytest

from uniroute._learned_map_fit import (MapParams, centroid_init, fit_adam, fit_lbfgs,
                                       loss_and_grad, softmax, val_loss)


def problem(rng, n=60, d=5, K=4, M=3):
    X = rng.standard_normal((n, d))
    psi = rng.uniform(0.05, 0.95, (M, K))
    errors = (rng.random((n, M)) < 0.4).astype(float)
    errors[rng.random((n, M)) < 0.2] = np.nan
    params = MapParams(rng.standard_normal((K, d)), rng.standard_normal(K))
    return X, errors, psi, params


def test_gradient_matches_finite_differences(rng):
    X, errors, psi, params = problem(rng)
    W0 = rng.standard_normal(params.W.shape)
    loss, grad = loss_and_grad(params, X, errors, psi, 0.3, W0)
    h = 1e-6
    for which, analytic in (("W", grad.W), ("b", grad.b)):
        arr = getattr(params, which)
        numeric = np.zeros_like(arr)
        for idx in np.ndindex(arr.shape):
            old = arr[idx]
            arr[idx] = old + h
            up = loss_and_grad(params, X, errors, psi, 0.3, W0)[0]
            arr[idx] = old - h
            down = loss_and_grad(params, X, errors, psi, 0.3, W0)[0]
            arr[idx] = old
            numeric[idx] = (up - down) / (2 * h)
        np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-8)


def test_centroid_init_is_soft_nearest_centroid(rng):
    C = rng.standard_normal((6, 4))
    X = rng.standard_normal((100, 4))
    p = centroid_init(C, temperature=1e-3)
    Phi = softmax(X @ p.W.T + p.b)
    d2 = ((X[:, None] - C[None]) ** 2).sum(-1)
    np.testing.assert_array_equal(Phi.argmax(1), d2.argmin(1))
    assert np.all(Phi.max(1) > 0.99)


def test_adam_lowers_the_loss_and_is_deterministic(rng):
    X, errors, psi, params = problem(rng, n=300)
    args = dict(X_val=X[:50], errors_val=errors[:50], l2=1e-3, learning_rate=0.05,
                max_epochs=60, patience=100, batch_size=None)
    p1, h1 = fit_adam(params, X, errors, psi, rng=np.random.default_rng(0), **args)
    p2, h2 = fit_adam(params, X, errors, psi, rng=np.random.default_rng(0), **args)
    np.testing.assert_array_equal(p1.W, p2.W)
    assert h1.train_loss[-1] < h1.train_loss[0]
    assert val_loss(p1, X[:50], errors[:50], psi) <= h1.val_loss[0]


def test_early_stopping_keeps_the_best_epoch(rng):
    X, errors, psi, params = problem(rng, n=200)
    noise = (rng.random((100, 3)) < 0.5).astype(float)  # unrelated validation labels
    p, h = fit_adam(params, X, errors, psi, X_val=rng.standard_normal((100, 5)), errors_val=noise,
                    l2=0.0, learning_rate=0.2, max_epochs=200, patience=3, batch_size=64,
                    rng=np.random.default_rng(1))
    assert len(h.train_loss) < 200
    assert h.val_loss[h.best_epoch] == min(h.val_loss)


def test_lbfgs_minimises_the_same_loss_at_least_as_well_as_adam(rng):
    pytest.importorskip("scipy")
    X, errors, psi, params = problem(rng, n=300)
    W0 = params.W.copy()
    start = loss_and_grad(params, X, errors, psi, 1e-3, W0)[0]
    p, h = fit_lbfgs(params, X, errors, psi, X_val=None, errors_val=None, l2=1e-3,
                     max_iter=200, patience=5)
    end = loss_and_grad(p, X, errors, psi, 1e-3, W0)[0]
    pa, _ = fit_adam(params, X, errors, psi, X_val=None, errors_val=None, l2=1e-3,
                     learning_rate=0.05, max_epochs=200, patience=5, batch_size=None,
                     rng=np.random.default_rng(0))
    assert end < start and end <= loss_and_grad(pa, X, errors, psi, 1e-3, W0)[0] + 1e-6
    assert h.train_loss[-1] == pytest.approx(end)
    # deterministic, and the initial parameters are left alone
    again, _ = fit_lbfgs(params, X, errors, psi, X_val=None, errors_val=None, l2=1e-3,
                         max_iter=200, patience=5)
    np.testing.assert_array_equal(p.W, again.W)
    np.testing.assert_array_equal(params.W, W0)


def test_lbfgs_early_stopping_keeps_the_best_iterate(rng):
    pytest.importorskip("scipy")
    X, errors, psi, params = problem(rng, n=200)
    noise = (rng.random((100, 3)) < 0.5).astype(float)
    Xv = rng.standard_normal((100, 5))
    p, h = fit_lbfgs(params, X, errors, psi, X_val=Xv, errors_val=noise, l2=0.0,
                     max_iter=500, patience=3)
    assert len(h.val_loss) < 500
    assert h.val_loss[h.best_epoch] == min(h.val_loss)
    assert val_loss(p, Xv, noise, psi) == pytest.approx(min(h.val_loss))
