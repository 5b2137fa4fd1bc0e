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


def test_float32_gradient_product_matches_float64(rng):
    X, errors, psi, params = problem(rng, n=500, d=40, K=8)
    W0 = rng.standard_normal(params.W.shape)
    loss64, g64 = loss_and_grad(params, X, errors, psi, 0.3, W0)
    loss32, g32 = loss_and_grad(params, X, errors, psi, 0.3, W0, X.astype(np.float32))
    assert loss32 == loss64  # the loss never touches the float32 copy
    np.testing.assert_array_equal(g32.b, g64.b)
    # the (K, d) product in float32: each entry within float32 rounding of its terms
    data = np.abs(g64.W - 0.3 * (params.W - W0))
    scale = np.abs(X).max() * data.max() + 1e-300
    assert np.abs(g32.W - g64.W).max() <= 1e-5 * scale * np.sqrt(X.shape[0])
    assert np.abs(g32.W - g64.W).max() > 0  # (it did run in float32)


def _adam_reference(init, X, errors, psi, *, l2, lr, epochs, batch, seed):
    """Plain float64 mini-batch Adam on the same loss (no early stopping, no buffers)."""
    rng = np.random.default_rng(seed)
    W, b, W0 = init.W.copy(), init.b.copy(), init.W.copy()
    mW, vW, mb, vb = (np.zeros_like(W), np.zeros_like(W), np.zeros_like(b), np.zeros_like(b))
    step = 0
    for _ in range(epochs):
        order = rng.permutation(X.shape[0])
        for s in range(0, X.shape[0], batch):
            rows = order[s:s + batch]
            _, g = loss_and_grad(MapParams(W, b), X[rows], errors[rows], psi, l2, W0)
            step += 1
            for par, grad, mom, var in ((W, g.W, mW, vW), (b, g.b, mb, vb)):
                mom[:] = 0.9 * mom + 0.1 * grad
                var[:] = 0.999 * var + 0.001 * grad * grad
                par -= lr * (mom / (1 - 0.9**step)) / (np.sqrt(var / (1 - 0.999**step)) + 1e-8)
    return W, b


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_minibatch_adam_matches_a_plain_reference(rng, dtype):
    X, errors, psi, params = problem(rng, n=250, d=12, K=5)
    X = X.astype(dtype)
    p, h = fit_adam(params, X, errors, psi, X_val=None, errors_val=None, l2=1e-2,
                    learning_rate=0.05, max_epochs=7, patience=100, batch_size=40,
                    rng=np.random.default_rng(3))
    W, b = _adam_reference(params, X.astype(np.float64), errors, psi, l2=1e-2, lr=0.05,
                           epochs=7, batch=40, seed=3)
    assert len(h.train_loss) == 7
    # the same steps on the same batches; only the float32 gradient product differs
    np.testing.assert_allclose(p.W, W, rtol=0, atol=1e-5 * np.abs(W).max())
    np.testing.assert_allclose(p.b, b, rtol=0, atol=1e-5 * np.abs(b).max())


def test_float32_input_runs_the_products_in_float32_and_fits_the_float64_map(rng):
    X, errors, psi, params = problem(rng, n=300, d=16, K=6)
    X32 = X.astype(np.float32)
    args = dict(X_val=X[:40], errors_val=errors[:40], l2=1e-3, learning_rate=0.05,
                max_epochs=5, patience=100, batch_size=64)
    a, ha = fit_adam(params, X32, errors, psi, rng=np.random.default_rng(0), **args)
    b, hb = fit_adam(params, X32.astype(np.float64), errors, psi,
                     rng=np.random.default_rng(0), **args)
    assert not np.array_equal(a.W, b.W)  # float32 products (the router's default path)
    np.testing.assert_allclose(a.W, b.W, rtol=0, atol=1e-5 * np.abs(b.W).max())
    np.testing.assert_allclose(ha.val_loss, hb.val_loss, rtol=1e-6)
    # and the float32 loss/gradient agree with float64 on the same values
    W0 = params.W.copy()
    l32, g32 = loss_and_grad(params, X32, errors, psi, 0.1, W0)
    l64, g64 = loss_and_grad(params, X32.astype(np.float64), errors, psi, 0.1, W0)
    assert l32 == pytest.approx(l64, rel=1e-6)
    np.testing.assert_allclose(g32.W, g64.W, rtol=0, atol=1e-5 * np.abs(g64.W).max())
    np.testing.assert_allclose(g32.b, g64.b, rtol=0, atol=1e-5 * np.abs(g64.b).max())
