"""Fitting the LearnedMap prompt map (Jitkrittum et al., section 2.2).

The map is ``Phi(x) = softmax(W x + b)`` over K clusters; the predicted error of a
training LLM h on prompt x is ``gamma = Phi(x) . Psi[h]`` with ``Psi[h]`` held fixed.
The loss is the binary cross-entropy of gamma against h's errors (NaN labels masked),
averaged over observed (prompt, LLM) pairs, plus ``l2 / 2 * ||W - W0||^2`` -- an L2 pull
toward the initial map (the K-means soft nearest-centroid map), which keeps the learned
clusters close to the ones the LLM features were computed on.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

EPS = 1e-6


@dataclass
class MapParams:
    W: np.ndarray  # (K, d)
    b: np.ndarray  # (K,)


@dataclass
class FitHistory:
    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    best_epoch: int = 0


def softmax(Z: np.ndarray) -> np.ndarray:
    """Row-wise softmax (max-shifted) of a new array; ``Z`` is left alone."""
    return _softmax_in_place(np.array(Z, copy=True))


def _softmax_in_place(Z: np.ndarray) -> np.ndarray:
    """:func:`softmax` of a scratch array, written over it (the same values)."""
    Z -= Z.max(axis=1, keepdims=True)
    np.exp(Z, out=Z)
    Z /= Z.sum(axis=1, keepdims=True)
    return Z


def centroid_init(centroids: np.ndarray, temperature: float) -> MapParams:
    """The soft nearest-centroid map: ``softmax(-||x - c_k||^2 / T)`` as (W, b)."""
    C = centroids.astype(np.float64)
    return MapParams(W=2.0 * C / temperature, b=-(C * C).sum(1) / temperature)


def auto_temperature(X: np.ndarray, centroids: np.ndarray, sample: int = 5000) -> float:
    """T of the initial map: the median gap between the nearest and second-nearest squared
    centroid distance over (a sample of) X, divided by ln 10 (10:1 odds on the nearest)."""
    C = centroids.astype(np.float64)
    if C.shape[0] < 2:
        return 1.0
    # the sample in float64 (the same values as converting all of X first, at a fraction
    # of the cost: the selection calls this once per candidate K)
    Xs = np.asarray(X[np.linspace(0, X.shape[0] - 1, min(sample, X.shape[0])).astype(int)],
                    np.float64)
    d2 = (Xs * Xs).sum(1)[:, None] - 2 * Xs @ C.T + (C * C).sum(1)
    two = np.partition(d2, 1, axis=1)[:, :2]
    gap = float(np.median(two[:, 1] - two[:, 0]))
    return max(gap, 1e-12) / np.log(10.0)


def loss_and_grad(params: MapParams, X: np.ndarray, errors: np.ndarray, psi: np.ndarray,
                  l2: float, W0: np.ndarray,
                  X32: np.ndarray | None = None) -> tuple[float, MapParams]:
    """Masked BCE of ``softmax(X W^T + b) @ psi.T`` against ``errors`` and its gradient.

    Parameters
    ----------
    X : (n, d) float64, or float32
        The embeddings. float32: both (n, K, d) products -- the logits ``X W^T`` and the
        gradient's ``dZ^T X`` -- and the softmax run in float32 (sklearn's
        ``LogisticRegression`` does the same with float32 data): ~1e-7 relative in the
        logits, far below the mini-batch noise of a gradient. The loss, its log terms
        and the gradient's other steps stay float64.
    errors : (n, M) float64 in [0, 1]; NaN = unlabelled (ignored).
    psi : (M, K) float64 cluster errors of the training LLMs.
    X32 : (n, d) float32, optional
        ``X`` in float32 when ``X`` is float64: the logits stay float64 and only the
        gradient's product runs in float32 (what full-batch L-BFGS uses: its line search
        compares losses, which so keep float64 logits).
    """
    if X.dtype == np.float32:
        X32 = X
        Z = X @ params.W.T.astype(np.float32)
        Z += params.b.astype(np.float32)
        Phi = _softmax_in_place(Z).astype(np.float64)
    else:
        Z = X @ params.W.T
        Z += params.b
        Phi = _softmax_in_place(Z)
    gamma = np.clip(Phi @ psi.T, EPS, 1.0 - EPS)
    mask = ~np.isnan(errors)
    n_obs = max(int(mask.sum()), 1)
    e = np.where(mask, errors, 0.0)
    bce = -(e * np.log(gamma) + (1.0 - e) * np.log1p(-gamma))
    diff = params.W - W0
    loss = float(bce[mask].sum() / n_obs + 0.5 * l2 * (diff * diff).sum())
    dgamma = np.where(mask, (gamma - e) / (gamma * (1.0 - gamma)), 0.0) / n_obs
    dZ = dgamma @ psi  # dPhi, then (in place) dZ = Phi * (dPhi - sum(Phi * dPhi))
    dZ -= (Phi * dZ).sum(axis=1, keepdims=True)
    dZ *= Phi
    if X32 is None:
        gW = dZ.T @ X
    else:
        gW = (dZ.astype(np.float32).T @ X32).astype(np.float64)
    gW += l2 * diff
    return loss, MapParams(W=gW, b=dZ.sum(axis=0))


def val_loss(params: MapParams, X: np.ndarray, errors: np.ndarray, psi: np.ndarray) -> float:
    Phi = softmax(X @ params.W.T + params.b)
    gamma = np.clip(Phi @ psi.T, EPS, 1.0 - EPS)
    mask = ~np.isnan(errors)
    e = errors[mask]
    g = gamma[mask]
    return float(-(e * np.log(g) + (1.0 - e) * np.log1p(-g)).mean()) if e.size else 0.0


def fit_adam(init: MapParams, X: np.ndarray, errors: np.ndarray, psi: np.ndarray, *,
             X_val: np.ndarray | None, errors_val: np.ndarray | None, l2: float,
             learning_rate: float, max_epochs: int, patience: int,
             batch_size: int | None, rng: np.random.Generator) -> tuple[MapParams, FitHistory]:
    """Adam on the masked BCE; early stopping on validation log loss (best epoch kept).

    ``X`` is float32 (the router's path: each step's products in float32) or float64
    (logits in float64, the gradient's product in float32); see :func:`loss_and_grad`.
    The validation loss that early stopping compares is always float64. A mini-batch's
    rows are gathered once, into buffers reused from step to step."""
    W0 = init.W.copy()
    p = MapParams(init.W.copy(), init.b.copy())
    m = MapParams(np.zeros_like(p.W), np.zeros_like(p.b))
    v = MapParams(np.zeros_like(p.W), np.zeros_like(p.b))
    beta1, beta2, step = 0.9, 0.999, 0
    hist = FitHistory()
    best, best_val, waited = MapParams(p.W.copy(), p.b.copy()), np.inf, 0
    n = X.shape[0]
    bs = n if not batch_size or batch_size >= n else batch_size
    has_val = X_val is not None and errors_val is not None and X_val.shape[0] > 0
    if has_val:
        best_val = val_loss(p, X_val, errors_val, psi)  # type: ignore[arg-type]
        hist.val_loss.append(best_val)
    # float32 X: one gather per step; float64 X: one gather and one cast (the gradient's
    # float32 copy). Rows go into buffers reused from step to step.
    work_W = (np.empty_like(p.W), np.empty_like(p.W))
    work_b = (np.empty_like(p.b), np.empty_like(p.b))
    single = X.dtype == np.float32
    X32 = X if single else X.astype(np.float32)
    batched = bs < n
    buf = np.empty((bs if batched else 0, X.shape[1]), X.dtype)
    buf32 = buf if single or not batched else np.empty((bs, X.shape[1]), np.float32)
    for epoch in range(1, max_epochs + 1):
        order = rng.permutation(n) if batched else np.arange(n)
        total = 0.0
        for start in range(0, n, bs):
            rows = order[start:start + bs]
            if batched:  # X[rows] (mode="clip": unbuffered; the rows are in range)
                Xb = np.take(X, rows, axis=0, out=buf[:rows.size], mode="clip")
                Xb32 = Xb if single else buf32[:rows.size]
                if not single:
                    Xb32[...] = Xb
                loss, g = loss_and_grad(p, Xb, errors[rows], psi, l2, W0, Xb32)
            else:
                loss, g = loss_and_grad(p, X, errors, psi, l2, W0, X32)
            total += loss * rows.size
            step += 1
            for par, grad, mom, var, t1, t2 in ((p.W, g.W, m.W, v.W, *work_W),
                                                (p.b, g.b, m.b, v.b, *work_b)):
                # mom = b1 mom + (1 - b1) g;  var = b2 var + (1 - b2) g g;
                # par -= lr mhat / (sqrt(vhat) + 1e-8), in scratch arrays
                mom *= beta1
                mom += np.multiply(grad, 1 - beta1, out=t1)
                var *= beta2
                np.multiply(grad, 1 - beta2, out=t1)
                var += np.multiply(t1, grad, out=t1)
                np.divide(mom, 1 - beta1**step, out=t1)  # mhat
                np.divide(var, 1 - beta2**step, out=t2)  # vhat
                np.sqrt(t2, out=t2)
                t2 += 1e-8
                t1 *= learning_rate
                par -= np.divide(t1, t2, out=t1)
        hist.train_loss.append(total / n)
        if has_val:
            current = val_loss(p, X_val, errors_val, psi)  # type: ignore[arg-type]
            hist.val_loss.append(current)
            if current < best_val - 1e-7:
                best, best_val, waited = MapParams(p.W.copy(), p.b.copy()), current, 0
                hist.best_epoch = epoch
            else:
                waited += 1
                if waited >= patience:
                    break
        else:
            best, hist.best_epoch = MapParams(p.W.copy(), p.b.copy()), epoch
    return best, hist


class _Stop(Exception):
    """Raised from the L-BFGS callback when the validation loss stops improving."""


def fit_lbfgs(init: MapParams, X: np.ndarray, errors: np.ndarray, psi: np.ndarray, *,
              X_val: np.ndarray | None, errors_val: np.ndarray | None, l2: float,
              max_iter: int, patience: int) -> tuple[MapParams, FitHistory]:
    """Full-batch L-BFGS (scipy) on the same loss and gradient as :func:`fit_adam`;
    early stopping on the validation log loss after each iteration (best kept)."""
    try:
        from scipy.optimize import minimize
    except ImportError as exc:  # pragma: no cover - scipy is in the test extras
        raise ImportError("optimizer='lbfgs' needs scipy (pip install scipy); the default "
                          "optimizer='adam' needs numpy only") from exc
    K, d = init.W.shape
    W0 = init.W.copy()
    hist = FitHistory()
    has_val = X_val is not None and errors_val is not None and X_val.shape[0] > 0

    def unpack(z: np.ndarray) -> MapParams:
        return MapParams(z[:K * d].reshape(K, d), z[K * d:])

    X32 = X.astype(np.float32)  # the gradient's product in float32 (see loss_and_grad)

    def fun(z: np.ndarray) -> tuple[float, np.ndarray]:
        loss, g = loss_and_grad(unpack(z), X, errors, psi, l2, W0, X32)
        return loss, np.concatenate([g.W.ravel(), g.b])

    z0 = np.concatenate([init.W.ravel(), init.b]).astype(np.float64)
    state = {"best": z0.copy(), "best_val": np.inf, "waited": 0, "iter": 0}
    if has_val:
        state["best_val"] = val_loss(init, X_val, errors_val, psi)  # type: ignore[arg-type]
        hist.val_loss.append(state["best_val"])

    def callback(zk: np.ndarray) -> None:
        state["iter"] += 1
        if not has_val:
            state["best"], hist.best_epoch = zk.copy(), state["iter"]
            return
        current = val_loss(unpack(zk), X_val, errors_val, psi)  # type: ignore[arg-type]
        hist.val_loss.append(current)
        if current < state["best_val"] - 1e-7:
            state.update(best=zk.copy(), best_val=current, waited=0)
            hist.best_epoch = state["iter"]
        else:
            state["waited"] += 1
            if state["waited"] >= patience:
                raise _Stop

    try:
        res = minimize(fun, z0, jac=True, method="L-BFGS-B", callback=callback,
                       options={"maxiter": int(max_iter)})
        if not has_val:
            state["best"] = res.x
    except _Stop:
        pass
    best = unpack(np.asarray(state["best"], dtype=np.float64))
    hist.train_loss.append(fun(np.concatenate([best.W.ravel(), best.b]))[0])
    return MapParams(best.W.copy(), best.b.copy()), hist
