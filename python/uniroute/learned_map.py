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
    MapParams,
    auto_temperature,
    centroid_init,
    fit_adam,
    fit_lbfgs,
)
from uniroute._pool import PoolSnapshot
from uniroute._router_base import RouterBase, check_shrinkage
from uniroute._validation import as_correct_matrix, as_embeddings
from uniroute.clustering import RandomState
from uniroute.exceptions import NotFittedError, RouterFileError
from uniroute.features import shrunk_cluster_error


class LearnedMapRouter(RouterBase):
    """UniRoute with a learned soft cluster map.

    A sibling of :class:`~uniroute.UniRouter` on the same base: the same pool API,
    routing entry points (``route``, ``route_indices``, ``route_text``, ``explain``,
    ``predict_error``, ``calibrate``, with every constraint and budgets), persistence.
    Its prompt map is ``Phi(x)``, so it has ``soft_assign`` and no hard ``route_path``.

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
        ``"adam"`` (numpy only; mini-batches of ``batch_size``; each step's products and
        softmax in float32, the loss and the validation loss in float64) or ``"lbfgs"``
        (full-batch L-BFGS-B from scipy, which must be installed; float64 logits;
        ``max_epochs`` caps its iterations, ``patience`` its non-improving validation
        checks, and ``learning_rate`` and ``batch_size`` are unused).
    probe_temperature, safe_level
        As in :class:`~uniroute.UniRouter` (soft probes; the safe option), except that
        ``safe_level="auto"`` chooses the level on this router's own soft route once
        the map is fitted: the selection's safe-level draws are replayed through
        ``Phi(x) . Psi`` (:func:`uniroute._soft_safe.soft_safe_levels`) and the least
        level whose curve reached the pooled best LLM in at least 95% of them is kept
        (``safe_level_``; each level's reach rate: ``safe_reach_``).

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
        self.n_clusters = n_clusters
        self.random_state = random_state
        self.encoder = encoder
        self.shrinkage = shrinkage
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.temperature = temperature
        self.l2 = l2
        self.learning_rate = learning_rate
        self.max_epochs = max_epochs
        self.patience = patience
        self.batch_size = batch_size
        self.psi_source = psi_source
        self.optimizer = optimizer
        self.probe_temperature = probe_temperature
        self.safe_level = safe_level

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
        check_shrinkage(self.shrinkage, allow_auto=True)
        # the "auto" settings are resolved from the same labels (the probe-aware selection)
        self._fit_clusters(train_embeddings, train_correct, val_embeddings, val_correct, cost)
        Xe = as_embeddings(train_embeddings, "train_embeddings")[0]  # float32 (or float64)
        X = np.ascontiguousarray(Xe, dtype=np.float64)
        X32 = np.ascontiguousarray(Xe, dtype=np.float32)  # Adam's products (float32 map)
        V = np.ascontiguousarray(as_embeddings(val_embeddings, "val_embeddings",
                                               X.shape[1])[0], dtype=np.float64)
        Y = as_correct_matrix(train_correct, "train_correct", X.shape[0])
        Yv = as_correct_matrix(val_correct, "val_correct", V.shape[0])
        if Y.shape[1] != Yv.shape[1] or Y.shape[1] < 1:
            raise ValueError(f"train_correct has {Y.shape[1]} LLMs and val_correct "
                             f"{Yv.shape[1]}; expected the same training LLMs (at least one)")
        if self.shrinkage == "auto" and self.shrinkage_ is None:  # (no selection ran)
            self.tune_shrinkage(V, Yv, X, Y)
        pool = self._fitted()
        src_X, src_Y = (V, Yv) if self.psi_source == "validation" else (X, Y)
        labels = _core.assign(src_X, pool.centroids)[0]
        # hard or soft probe statistics, as the routed LLMs get them
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
                init, X32, 1.0 - Y, psi, X_val=V, errors_val=1.0 - Yv, l2=float(self.l2),
                learning_rate=float(self.learning_rate), max_epochs=int(self.max_epochs),
                patience=int(self.patience), batch_size=self.batch_size, rng=rng)
        self.temperature_ = float(T)
        self._set_map(params.W, params.b)
        sel, self.safe_reach_ = self.selection_, None
        if self.safe_level == "auto" and sel is not None and sel.draws:
            self._choose_soft_safe_level(X32, V, Y, Yv, cost)
        return self

    def _choose_soft_safe_level(self, X: Any, V: Any, Y: Any, Yv: Any, cost: Any) -> None:
        """``safe_level_`` (and ``safe_reach_``) from ``selection_``'s safe-level draws
        replayed on the fitted map, at the levels the selection scored: train and
        validation prompts and the training LLMs' labels on them, as it had them."""
        from uniroute._safe_level import least_level
        from uniroute._soft_safe import soft_safe_levels

        sel = self.selection_
        levels = tuple(sorted({float(k[3]) for k in sel.reach}))
        Y = np.asarray(Y, np.float64)
        c = np.zeros(Y.shape[1]) if cost is None else np.asarray(cost, np.float64).reshape(-1)
        reach = soft_safe_levels(self, np.vstack([np.asarray(X, np.float32),
                                                  np.asarray(V, np.float32)]),
                                 np.vstack([Y, np.asarray(Yv, np.float64)]), c,
                                 sel.draws, levels)
        self.safe_reach_ = reach
        self.safe_level_ = least_level(reach)

    def _set_map(self, W: np.ndarray, b: np.ndarray) -> None:
        self.map_ = MapParams(np.ascontiguousarray(W, dtype=np.float32),
                              np.ascontiguousarray(b, dtype=np.float32))
        pool = self._fitted()
        self._state = pool._evolve(map_weight=self.map_.W, map_bias=self.map_.b)

    def _complete(self) -> bool:
        return self.__dict__.get("map_") is not None

    # ------------------------------------------------------------------ routing
    def _mapped(self) -> PoolSnapshot:
        pool = self._fitted()
        if pool.map_weight is None:
            raise NotFittedError("this LearnedMapRouter is not fitted yet; call fit(...)")
        return pool

    def _pool(self) -> PoolSnapshot:
        self._mapped()
        return super()._pool()

    def soft_assign(self, embeddings: Any) -> np.ndarray:
        """``Phi(x)``: soft cluster weights ``(n, K)``, or ``(K,)`` for one prompt."""
        pool = self._mapped()
        X, single = as_embeddings(embeddings, "embeddings", self.embedding_dim)
        phi = pool.compiled().soft_assign(X)
        return phi[0] if single else phi

    def _calibration_sample(self, pool: PoolSnapshot, X: np.ndarray) -> tuple[str, np.ndarray]:
        """What a budget keeps of its sample: the sample's soft weights ``Phi``."""
        return "soft", pool.compiled().soft_assign(X)

    # ------------------------------------------------------------------ persistence
    def _archive(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        if not self._complete():
            raise RouterFileError("a LearnedMapRouter must be fitted before it is saved")
        arrays, fields = super()._archive()
        arrays.update(map_weight=self.map_.W, map_bias=self.map_.b)
        fields["learned_map"] = {"temperature": self.temperature_, "l2": float(self.l2),
                                 "psi_source": self.psi_source, "optimizer": self.optimizer}
        return arrays, fields

    def _restore_extra(self, arrays: dict[str, np.ndarray], meta: dict[str, Any],
                       where: str) -> None:
        super()._restore_extra(arrays, meta, where)  # the probe settings
        pool = self._state
        assert pool is not None
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
        self._set_map(W, b)
        self.temperature_ = float(lm.get("temperature", 0.0))
        self.l2 = float(lm.get("l2", self.l2))
        self.psi_source = str(lm.get("psi_source", self.psi_source))
        self.optimizer = str(lm.get("optimizer", self.optimizer))
