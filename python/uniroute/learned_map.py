"""UniRoute (LearnedMap): a learned soft cluster map (Jitkrittum et al., section 2.2).

The prompt map becomes ``Phi_k(x) = softmax_k(theta_k . x + b_k)`` while the LLM
features stay the per-cluster errors ``Psi`` of the K-means clusters, so new LLMs join
exactly as in :class:`~uniroute.UniRouter` (``add_model``, no refit). The map is fitted
on the *training* LLMs: minimise the binary cross-entropy of ``Phi(x) . Psi(h)`` against
their correctness on the training prompts, with their ``Psi`` computed from the
validation prompts (the paper's reading; ``psi_source="train"`` is the alternative),
starting from the K-means soft nearest-centroid map, with Adam, an L2 pull toward that
start, and early stopping on validation log loss. The training LLMs shape the map only:
they are not in the routing pool afterwards.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from uniroute import _core, _probe_settings
from uniroute._learned_map_fit import (
    FitHistory,
    MapParams,
    auto_temperature,
    centroid_init,
    fit_adam,
    fit_lbfgs,
)
from uniroute._validation import as_correct_matrix, as_embeddings, as_lam
from uniroute.clustering import RandomState
from uniroute.constraints import _no_feasible, allowed_mask, cap_mask
from uniroute.exceptions import RouterFileError
from uniroute.features import shrunk_cluster_error
from uniroute.router import UniRouter


class LearnedMapRouter(UniRouter):
    """UniRoute with a learned soft cluster map; same public methods as UniRouter.

    Parameters
    ----------
    n_clusters, random_state, encoder, n_init, max_iter, tol
        As in :class:`~uniroute.UniRouter` (the K-means clusters and the LLM features).
    shrinkage : float or "auto"
        As in :class:`~uniroute.UniRouter`; ``"auto"`` chooses it in :meth:`fit` by
        held-out likelihood on the training LLMs (:meth:`~uniroute.UniRouter.tune_shrinkage`
        with their validation answers as probes and their train answers held out); the
        value chosen is ``shrinkage_``.
    temperature : float or None
        Temperature T of the initial map ``softmax(-||x - c_k||^2 / T)``. None picks
        T from the training prompts: the median gap between the nearest and the
        second-nearest squared centroid distance, divided by ln 10 (a typical prompt
        starts with 10:1 odds on its nearest cluster).
    l2 : float
        Strength of the L2 pull of the map weights toward the initial map.
    learning_rate, max_epochs, patience, batch_size : Adam settings; training stops
        when the validation log loss has not improved for ``patience`` epochs and the
        best epoch's map is kept.
    psi_source : {"validation", "train"}
        Prompts the training LLMs' cluster errors are computed from while fitting.
    optimizer : {"adam", "lbfgs"}
        ``"adam"`` (numpy only; mini-batches of ``batch_size``) or ``"lbfgs"``
        (full-batch L-BFGS-B from scipy, which must be installed; ``max_epochs`` caps
        its iterations, ``patience`` its non-improving validation checks, and
        ``learning_rate`` and ``batch_size`` are unused).

    Examples
    --------
    >>> import numpy as np, uniroute
    >>> rng = np.random.default_rng(0)
    >>> X, V = rng.standard_normal((300, 8)), rng.standard_normal((100, 8))
    >>> r = uniroute.LearnedMapRouter(n_clusters=4, random_state=0, max_epochs=5)
    >>> r = r.fit(X, rng.random((300, 3)) < 0.6, V, rng.random((100, 3)) < 0.6)
    >>> _ = r.add_model("a", 1.0, V, rng.random(100) < 0.5)
    >>> r.route(V[:2]).shape
    (2,)
    """

    _FILE_KIND = "LearnedMapRouter"

    def __init__(self, n_clusters: int = 8, *, random_state: RandomState = None,
                 encoder: Any = None, shrinkage: float | str = 1.0, n_init: int = 3,
                 max_iter: int = 100, tol: float = 1e-4, temperature: float | None = None,
                 l2: float = 1e-3, learning_rate: float = 0.01, max_epochs: int = 100,
                 patience: int = 5, batch_size: int | None = 512,
                 psi_source: str = "validation", optimizer: str = "adam",
                 probe_temperature: float | str | None = None,
                 safe_level: float | str | None = None) -> None:
        super().__init__(n_clusters, random_state=random_state, encoder=encoder,
                         shrinkage=shrinkage, n_init=n_init, max_iter=max_iter, tol=tol,
                         probe_temperature=probe_temperature, safe_level=safe_level)
        self.temperature = temperature
        self.l2 = l2
        self.learning_rate = learning_rate
        self.max_epochs = max_epochs
        self.patience = patience
        self.batch_size = batch_size
        self.psi_source = psi_source
        self.optimizer = optimizer
        self._map: MapParams | None = None
        self.history_: FitHistory | None = None

    # ------------------------------------------------------------------ fitting
    def fit(self, train_embeddings: Any, train_correct: Any = None,
            val_embeddings: Any = None, val_correct: Any = None, *,
            cost: Any = None) -> LearnedMapRouter:
        """Fit the clusters and the map.

        Parameters
        ----------
        train_embeddings : (n_train, dim)
        train_correct : (n_train, M_train) correctness of the training LLMs (NaN = missing)
        val_embeddings : (n_val, dim)
        val_correct : (n_val, M_train) the same LLMs on the validation prompts
        cost : (M_train,) optional, the training LLMs' prices: settings given as "auto"
            are chosen by the probe-aware selection (see :meth:`UniRouter.fit`)
        """
        if train_correct is None or val_embeddings is None or val_correct is None:
            raise TypeError("LearnedMapRouter.fit needs train_embeddings, train_correct, "
                            "val_embeddings and val_correct (the training LLMs' labels)")
        if self.psi_source not in ("validation", "train"):
            raise ValueError(f"psi_source must be 'validation' or 'train', got {self.psi_source!r}")
        if self.optimizer not in ("adam", "lbfgs"):
            raise ValueError(f"optimizer must be 'adam' or 'lbfgs', got {self.optimizer!r}")
        if isinstance(self.shrinkage, str) and self.shrinkage != "auto":
            raise ValueError(f"shrinkage must be a number >= 0 or 'auto', got {self.shrinkage!r}")
        # issue 13 hook: the "auto" settings are resolved from the same labels
        super().fit(train_embeddings, train_correct, val_embeddings, val_correct, cost=cost)
        X = np.ascontiguousarray(as_embeddings(train_embeddings, "train_embeddings")[0],
                                 dtype=np.float64)
        V = np.ascontiguousarray(as_embeddings(val_embeddings, "val_embeddings",
                                               X.shape[1])[0], dtype=np.float64)
        Y = as_correct_matrix(train_correct, "train_correct", X.shape[0])
        Yv = as_correct_matrix(val_correct, "val_correct", V.shape[0])
        if Y.shape[1] != Yv.shape[1] or Y.shape[1] < 1:
            raise ValueError(f"train_correct has {Y.shape[1]} LLMs and val_correct "
                             f"{Yv.shape[1]}; expected the same training LLMs (at least one)")
        if self.shrinkage == "auto" and self.shrinkage_ is None:  # issue 13: selection ran
            self.tune_shrinkage(V, Yv, X, Y)
        pool = self._fitted()
        src_X, src_Y = (V, Yv) if self.psi_source == "validation" else (X, Y)
        labels = _core.assign(src_X, pool.centroids)[0]
        # issue 13 hook: hard or soft probe statistics, as the routed LLMs get them
        psi = shrunk_cluster_error(*_probe_settings.probe_stats(
            self, pool.centroids, src_X, labels, src_Y), self._strength)
        T = self.temperature if self.temperature is not None else auto_temperature(
            X, pool.centroids)
        init = centroid_init(pool.centroids, float(T))
        if self.optimizer == "lbfgs":
            params, self.history_ = fit_lbfgs(
                init, X, 1.0 - Y, psi, X_val=V, errors_val=1.0 - Yv, l2=float(self.l2),
                max_iter=int(self.max_epochs), patience=int(self.patience))
        else:
            rng = np.random.default_rng(self.random_state)
            params, self.history_ = fit_adam(
                init, X, 1.0 - Y, psi, X_val=V, errors_val=1.0 - Yv, l2=float(self.l2),
                learning_rate=float(self.learning_rate), max_epochs=int(self.max_epochs),
                patience=int(self.patience), batch_size=self.batch_size, rng=rng)
        self._map = MapParams(np.ascontiguousarray(params.W, dtype=np.float32),
                              np.ascontiguousarray(params.b, dtype=np.float32))
        self.temperature_ = float(T)
        return self

    # ------------------------------------------------------------------ routing
    def soft_assign(self, embeddings: Any) -> np.ndarray:
        """``Phi(x)``: soft cluster weights ``(n, K)``, or ``(K,)`` for one prompt."""
        X, single = as_embeddings(embeddings, "embeddings", self.embedding_dim)
        phi = self._phi(X)
        return phi[0] if single else phi

    def _phi(self, X: np.ndarray) -> np.ndarray:
        if self._map is None:
            from uniroute.exceptions import NotFittedError

            raise NotFittedError("this LearnedMapRouter is not fitted yet; call fit(...)")
        try:
            return _core.soft_assign(X, self._map.W, self._map.b)
        except ValueError as exc:
            raise ValueError(str(exc).replace("X ", "embeddings ", 1)) from None

    def predict_error(self, embeddings: Any, *, encoder: str | None = None) -> np.ndarray:
        """Predicted error ``Phi(x) . Psi[m]``: ``(n, M)``, or ``(M,)`` for one prompt."""
        pool = self._pool()
        self._check_encoder(encoder)
        X, single = as_embeddings(embeddings, "embeddings", self.embedding_dim)
        err = self._phi(X).astype(np.float64) @ pool.cluster_error.T
        return err[0] if single else err

    def _decide(self, pool: Any, embeddings: Any, lam: float | None, encoder: str | None,
                allowed: Any, max_cost: Any, strict: bool,
                budget: Any) -> tuple[np.ndarray, bool, tuple[Any, ...]]:
        self._check_encoder(encoder)
        if budget is not None:
            raise NotImplementedError("budget calibration uses the exact lam-path of hard "
                                      "clusters; it is not available for LearnedMapRouter")
        X, single = as_embeddings(embeddings, "embeddings", self.embedding_dim)
        lam_v = as_lam(0.0 if lam is None else lam)
        phi = self._phi(X)
        n, M = X.shape[0], pool.n_models
        allow = allowed_mask(pool, allowed, n)
        cap = cap_mask(pool, max_cost, n)
        if allow is None and cap is None:
            return pool.compiled_dense_pool().route(phi, lam_v), single, ()
        allow_rows = np.broadcast_to(np.ones(M, bool) if allow is None else allow, (n, M))
        feasible = allow_rows if cap is None else allow_rows & np.broadcast_to(cap, (n, M))
        return _masked_route(phi, pool, lam_v, allow_rows, feasible, strict), single, ()

    def explain(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("explain() reports the hard cluster of a prompt; use "
                                  "soft_assign() and predict_error() with LearnedMapRouter")

    def calibrate(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("calibrate() walks the exact lam-path of hard clusters; it "
                                  "is not available for LearnedMapRouter")

    def route_path(self) -> Any:
        raise NotImplementedError("a soft cluster map has no per-cluster lam-path; sweep lam "
                                  "with route() instead")

    # ------------------------------------------------------------------ persistence
    def _archive(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        arrays, fields = super()._archive()
        if self._map is None:
            raise RouterFileError("a LearnedMapRouter must be fitted before it is saved")
        arrays.update(map_weight=self._map.W, map_bias=self._map.b)
        fields["learned_map"] = {"temperature": self.temperature_, "l2": float(self.l2),
                                 "psi_source": self.psi_source, "optimizer": self.optimizer}
        return arrays, fields

    def _restore_extra(self, arrays: dict[str, np.ndarray], meta: dict[str, Any],
                       where: str) -> None:
        super()._restore_extra(arrays, meta, where)  # issue 13 hook: probe settings
        pool = self._fitted()
        K, d = pool.n_clusters, pool.centroids.shape[1]
        W, b = arrays.get("map_weight"), arrays.get("map_bias")
        if W is None or b is None or W.shape != (K, d) or b.shape != (K,) \
                or W.dtype != np.float32 or b.dtype != np.float32:
            raise RouterFileError(f"{where}: map_weight must be float32 ({K}, {d}) and "
                                  f"map_bias float32 ({K},)")
        if not (np.isfinite(W).all() and np.isfinite(b).all()):
            raise RouterFileError(f"{where}: the learned map holds NaN or inf")
        lm = meta.get("learned_map")
        if not isinstance(lm, dict):
            raise RouterFileError(f"{where}: metadata has no 'learned_map' table")
        self._map = MapParams(W, b)
        self.temperature_ = float(lm.get("temperature", 0.0))
        self.l2 = float(lm.get("l2", self.l2))
        self.psi_source = str(lm.get("psi_source", self.psi_source))
        self.optimizer = str(lm.get("optimizer", self.optimizer))

    def __reduce__(self) -> tuple[Any, ...]:
        if self._map is None:
            return (LearnedMapRouter, (self.n_clusters,))
        return super().__reduce__()

    def __repr__(self) -> str:
        return super().__repr__().replace("UniRouter(", "LearnedMapRouter(", 1)


def _masked_route(phi: np.ndarray, pool: Any, lam: float, allow: np.ndarray,
                  feasible: np.ndarray, strict: bool) -> np.ndarray:
    """Dense route restricted per prompt to ``feasible`` models (same tie rule and the
    same fallback as :func:`uniroute.constraints.route_constrained`)."""
    scores = phi.astype(np.float64) @ pool.cluster_error.T + lam * pool.cost
    order = pool.cost_order()  # cheaper first, then lower index
    idx = order[np.argmin(np.where(feasible, scores, np.inf)[:, order], axis=1)]
    empty = ~feasible.any(axis=1)
    if empty.any():
        _no_feasible(~allow[empty].any(axis=1), np.flatnonzero(empty), strict, 0)
        rank = np.where(allow[empty][:, order], np.arange(pool.n_models), pool.n_models)
        idx[empty] = order[np.argmin(rank, axis=1)]
    return idx
