"""The base every router stands on: a pool of LLMs over one compiled decision path.

A router is a prompt map (K-means clusters for :class:`~uniroute.UniRouter`, a learned
soft map for :class:`~uniroute.LearnedMapRouter`; :class:`~uniroute.KNNRouter` has no
cluster table and stands alone) plus a pool of LLMs described by their per-cluster errors ``Psi``. This base
holds what does not depend on the map:

- the pool API: :meth:`add_model`, :meth:`remove_model`, :meth:`update_model`,
  :meth:`observe`, :meth:`tune_shrinkage` (each builds a new immutable
  :class:`~uniroute._pool.PoolSnapshot` and swaps it in, so routing never locks);
- the routing entry points (:mod:`uniroute._routing`): every request is validated once
  and answered by one call to the snapshot's compiled pool (``_core.CompiledPool``);
- the properties, persistence (:mod:`uniroute._router_file`) and pickling by value.
- the probe settings (:mod:`uniroute._probe_settings`): ``"auto"`` settings resolved in
  ``_fit_clusters``, hard or soft probe counts, the safe option applied to every snapshot
  installed (the ``_state`` setter), and their fields in the router file.

A subclass (a sibling router) provides ``fit`` and, when its map is not the hard
clusters, puts its map into the snapshot (``map_weight``/``map_bias``) and names its
file kind (``_FILE_KIND``). Conventions (scikit-learn): ``__init__`` stores its
parameters under their public names and nothing else; learned state ends in ``_`` and
exists after ``fit`` (``pool_``, ``shrinkage_``, ...).
"""
from __future__ import annotations

import threading
from typing import Any

import numpy as np

from uniroute import _probe_settings
from uniroute._pool import PoolSnapshot
from uniroute._router_file import RouterFileMixin
from uniroute._routing import RoutingMixin
from uniroute._validation import (
    as_array,
    as_correct,
    as_correct_matrix,
    as_cost,
    as_embeddings,
    as_float_matrix,
    as_name,
)
from uniroute.clustering import KMeans
from uniroute.exceptions import EmptyPoolError, NotFittedError
from uniroute.features import SHRINKAGE_GRID, shrunk_cluster_error

_WRITE_LOCK = threading.RLock()  # serialises pool changes (rare); routing never takes it


def encoder_identity(encoder: Any) -> tuple[str | None, int | None]:
    """The recorded name and dim (if known) of an ``encoder`` parameter."""
    if encoder is None:
        return None, None
    if isinstance(encoder, str):
        return as_name(encoder, "encoder"), None
    name = getattr(encoder, "name", None)
    if not isinstance(name, str):
        raise TypeError("encoder must be None, a name (str) or an object with a str 'name'")
    dim = getattr(encoder, "dim", None)
    return as_name(name, "encoder.name"), (None if dim is None else int(dim))


def check_shrinkage(value: Any, allow_auto: bool) -> None:
    """``shrinkage`` must be a number >= 0 (or "auto" where the router can resolve it)."""
    if isinstance(value, str):
        if allow_auto and value == "auto":
            return
        hint = ("" if allow_auto else " (UniRouter.fit has no labels to resolve 'auto': pass "
                "train_correct, val_embeddings and val_correct to fit, or fit with a number "
                "and call tune_shrinkage())")
        raise ValueError(f"shrinkage must be a number >= 0{' or ' + repr('auto') if allow_auto else ''}"
                         f", got {value!r}{hint}")
    as_cost(value, "shrinkage")


class RouterBase(RoutingMixin, RouterFileMixin):
    """The pool of LLMs and the decision path shared by every router (see module doc)."""

    _FILE_KIND = "UniRouter"
    _NAME = "router"
    # K candidates of the probe-aware selection when n_clusters="auto"
    selection_grid: tuple[int, ...] = (3, 5, 10, 15, 20, 30, 50, 75, 100, 150, 200, 300)

    # ------------------------------------------------------------------ state
    @property
    def _state(self) -> PoolSnapshot | None:
        """The current snapshot (``pool_``), or None before ``fit``."""
        return self.__dict__.get("pool_")

    @_state.setter
    def _state(self, pool: PoolSnapshot | None) -> None:
        # every new snapshot gets the safe option's Psi when safe_level_ is set (issue 13)
        pool = _probe_settings.with_safe_option(self, pool)
        self.__dict__["pool_"] = pool  # one reference assignment: atomic for readers

    def _encoder_identity(self) -> tuple[str | None, int | None]:
        # checked once per value of the ``encoder`` parameter (route_text reads it per call)
        enc, cached = self.__dict__.get("encoder_identity_", (None, None))
        if cached is None or enc is not self.encoder:
            cached = encoder_identity(self.encoder)
            self.__dict__["encoder_identity_"] = (self.encoder, cached)
        return cached  # type: ignore[no-any-return]

    @property
    def _encoder_name(self) -> str | None:
        return self._encoder_identity()[0]

    @property
    def _encoder_dim(self) -> int | None:
        dim = self.__dict__.get("encoder_dim_")
        return self._encoder_identity()[1] if dim is None else int(dim)

    @_encoder_dim.setter
    def _encoder_dim(self, dim: int | None) -> None:
        self.__dict__["encoder_dim_"] = dim

    def _fitted(self) -> PoolSnapshot:
        pool = self._state
        if pool is None:
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit(...)")
        return pool

    def _pool(self) -> PoolSnapshot:
        pool = self._fitted()
        if not pool.names:
            raise EmptyPoolError("the pool is empty; add a model with add_model() first")
        return pool

    def _start_pool(self, centroids: np.ndarray, **map_arrays: Any) -> None:
        with _WRITE_LOCK:
            old = self._state
            self._state = PoolSnapshot(np.ascontiguousarray(centroids, dtype=np.float32),
                                       version=0 if old is None else old.version + 1,
                                       **map_arrays)

    def _fit_clusters(self, train_embeddings: Any, train_correct: Any = None,
                      val_embeddings: Any = None, val_correct: Any = None,
                      cost: Any = None, **map_arrays: Any) -> np.ndarray:
        """K-means on the training prompts; starts an empty pool on these clusters.

        With the training LLMs' labels, the settings given as ``"auto"`` are resolved
        first (:func:`uniroute._probe_settings.resolve`: the probe-aware selection, whose
        clusters at the chosen K are kept); the probe settings in use become
        ``probe_temperature_`` and ``safe_level_``.
        """
        X, _ = as_embeddings(train_embeddings, "train_embeddings", self._encoder_dim)
        self.shrinkage_: float | None = None  # a tuned strength belongs to the old clusters
        self.safe_level_: float | None = None  # (the old pool is not re-derived)
        X = as_float_matrix(X, "train_embeddings")  # checked here: errors name it
        K, centroids = _probe_settings.resolve(self, X, train_correct, val_embeddings,
                                               val_correct, cost)
        if centroids is None:
            if X.shape[0] < K:
                raise ValueError(f"train_embeddings has {X.shape[0]} samples, fewer than "
                                 f"n_clusters = {K}")
            centroids = KMeans(K, n_init=self.n_init, max_iter=self.max_iter, tol=self.tol,
                               random_state=self.random_state).fit(X).cluster_centers_
        if self._encoder_name is not None:
            self._encoder_dim = int(X.shape[1])
        self._start_pool(centroids, **map_arrays)
        return centroids

    # ------------------------------------------------------------------ the pool
    def add_model(self, name: str, cost: float, embeddings: Any, correct: Any,
                  *, encoder: str | None = None, probe_cost: Any = None) -> Any:
        """Add an LLM from its answers to the probe prompts.

        Parameters
        ----------
        name : str
            Unique model name.
        cost : float
            Price per query (any unit, the same for every model), >= 0.
        embeddings : (n_probes, dim) array
            Embeddings of the probe (validation) prompts the model answered.
        correct : (n_probes,) array
            Correctness in [0, 1] (1 = right); NaN = not answered, ignored.
        encoder : str, optional
            Name of the encoder that made ``embeddings``; refused if it is not the
            router's.
        probe_cost : (n_probes,) array, optional
            The realised cost of each probe answer (NaN = unknown). Routing still uses
            the one price ``cost``; these give the expected cost per cluster that
            :meth:`calibrate` predicts spend with (prices often depend on the prompt).
        """
        self._check_encoder(encoder)
        name = as_name(name)
        cost = as_cost(cost)
        with _WRITE_LOCK:
            pool = self._fitted()
            if name in pool.names:
                raise ValueError(f"a model named {name!r} is already in the pool; remove it first")
            rows = self._probe_stats(pool, embeddings, correct, name, probe_cost)
            self._state = pool.with_model(name, cost, **rows)
        return self

    def remove_model(self, name: str) -> Any:
        """Remove a model from the pool."""
        with _WRITE_LOCK:
            pool = self._fitted()
            self._state = pool.without_model(pool.index_of(name))
        return self

    def update_model(self, name: str, cost: float | None = None, embeddings: Any = None,
                     correct: Any = None, *, encoder: str | None = None,
                     probe_cost: Any = None) -> Any:
        """Change a model's price and/or replace its probe answers, keeping its place.

        ``embeddings`` and ``correct`` (and ``probe_cost``, as in :meth:`add_model`) come
        together and replace the model's probe statistics; ``cost`` alone reprices it.
        """
        self._check_encoder(encoder)
        if (embeddings is None) != (correct is None):
            raise ValueError("embeddings and correct must be given together")
        cost = None if cost is None else as_cost(cost)
        with _WRITE_LOCK:
            pool = self._fitted()
            i = pool.index_of(name)
            if embeddings is None:
                self._state = pool.with_row(i, cost=cost)
            else:
                rows = self._probe_stats(pool, embeddings, correct, name, probe_cost)
                self._state = pool.with_row(i, cost=cost, **rows)
        return self

    def observe(self, name: str, embeddings: Any, correct: Any, *,
                encoder: str | None = None, probe_cost: Any = None) -> Any:
        """Fold production feedback into a model's per-cluster counts (incremental).

        ``embeddings`` ``(n, dim)`` of prompts the model answered and ``correct`` ``(n,)``
        their labels (NaN ignored) are added to its probe statistics; its cluster
        error is recomputed with the same shrinkage rule. ``probe_cost`` (optional, the
        realised cost of each answer) is folded into its expected cost per cluster.
        A budget (:class:`~uniroute.Calibration`) made before is re-solved on the new pool.
        """
        self._check_encoder(encoder)
        with _WRITE_LOCK:
            pool = self._fitted()
            i = pool.index_of(name)
            new = self._probe_stats(pool, embeddings, correct, name, probe_cost,
                                    allow_unlabelled=True)
            rows = {key: getattr(pool, key)[i] + new[key]
                    for key in ("error_sum", "probe_count", "cost_sum", "cost_count")}
            rows["cluster_error"] = shrunk_cluster_error(rows["error_sum"], rows["probe_count"],
                                                         self._strength)
            self._state = pool.with_row(i, **rows)
        return self

    @property
    def _strength(self) -> float:
        """The shrinkage strength in use: the tuned ``shrinkage_`` if any, else the parameter."""
        value = self.__dict__.get("shrinkage_")
        if value is None:
            if isinstance(self.shrinkage, str):
                raise ValueError(f"shrinkage={self.shrinkage!r} is resolved by fitting with the "
                                 "training LLMs' labels (LearnedMapRouter.fit) or by "
                                 "tune_shrinkage(); UniRouter.fit alone needs a number")
            return float(self.shrinkage)
        return float(value)

    def tune_shrinkage(self, probe_embeddings: Any, probe_correct: Any,
                       heldout_embeddings: Any, heldout_correct: Any, *,
                       grid: tuple[float, ...] = SHRINKAGE_GRID) -> dict[float, float]:
        """Choose the shrinkage strength by held-out likelihood, from LLMs with labels.

        For LLMs you have more labels for (e.g. the LLMs used to build the router, not
        the ones it routes to): their ``Psi`` is estimated from their answers to the
        probe prompts with each strength of ``grid``, and scored by the Bernoulli
        log-likelihood of their answers to other (held-out) prompts under their
        clusters. The best strength becomes ``shrinkage_`` (used from then on, saved with
        the router) and every model already in the pool is re-estimated with it.

        Returns ``{strength: mean held-out log-likelihood}`` for every candidate.
        """
        from uniroute.features import choose_shrinkage

        pool = self._fitted()
        P, _ = as_embeddings(probe_embeddings, "probe_embeddings", pool.centroids.shape[1])
        H, _ = as_embeddings(heldout_embeddings, "heldout_embeddings", pool.centroids.shape[1])
        Yp = as_correct_matrix(probe_correct, "probe_correct", P.shape[0])
        Yh = as_correct_matrix(heldout_correct, "heldout_correct", H.shape[0])
        if Yp.shape[1] != Yh.shape[1] or Yp.shape[1] < 1:
            raise ValueError(f"probe_correct has {Yp.shape[1]} LLMs and heldout_correct "
                             f"{Yh.shape[1]}; expected the same LLMs (at least one)")
        for arr, what in ((Yp, "probe_correct"), (Yh, "heldout_correct")):
            if not np.isfinite(arr).any():
                raise ValueError(f"{what} holds no answered label (all NaN or empty); "
                                 "the strength is chosen from labels")
        grid = tuple(float(g) for g in grid)
        if not grid or not all(np.isfinite(g) and g >= 0 for g in grid):
            raise ValueError(f"grid must hold finite strengths >= 0, got {grid}")
        best, scores = choose_shrinkage(self._labels(pool, P, "probe_embeddings"), Yp,
                                        self._labels(pool, H, "heldout_embeddings"), Yh,
                                        pool.n_clusters, grid=grid)
        with _WRITE_LOCK:
            self.shrinkage_ = float(best)
            pool = self._fitted()
            if pool.n_models:
                self._state = pool._evolve(cluster_error=shrunk_cluster_error(
                    pool.error_sum, pool.probe_count, self.shrinkage_))
        return scores

    @staticmethod
    def _labels(pool: PoolSnapshot, X: np.ndarray, name: str) -> np.ndarray:
        """Nearest K-means cluster of each row (the clusters ``Psi`` is estimated on)."""
        return pool.compiled_index().assign(np.ascontiguousarray(X, dtype=np.float32))[0]

    def _probe_stats(self, pool: PoolSnapshot, embeddings: Any, correct: Any, name: str,
                     probe_cost: Any = None,
                     allow_unlabelled: bool = False) -> dict[str, np.ndarray]:
        X, _ = as_embeddings(embeddings, "embeddings", pool.centroids.shape[1])
        correct = as_correct(correct, "correct", X.shape[0])
        if not allow_unlabelled and np.isnan(correct).all():
            raise ValueError(f"correct has no answered probe for model {name!r} "
                             "(all NaN or empty); cannot estimate its error")
        labels = self._labels(pool, X, "embeddings")
        # hard counts, or soft ones with a probe temperature (issue 13)
        err_sum, count = _probe_settings.probe_stats(self, pool.centroids, X, labels, correct)
        rows = {"error_sum": err_sum, "probe_count": count,
                "cluster_error": shrunk_cluster_error(err_sum, count, self._strength),
                "cost_sum": np.zeros(pool.n_clusters), "cost_count": np.zeros(pool.n_clusters)}
        if probe_cost is not None:
            c = as_array(probe_cost, "probe_cost").astype(np.float64).reshape(-1)
            if c.shape[0] != X.shape[0]:
                raise ValueError(f"probe_cost has length {c.shape[0]}, expected {X.shape[0]}")
            known = ~np.isnan(c)
            if np.isinf(c).any() or (c[known] < 0).any():
                raise ValueError("probe_cost must be finite and >= 0 (NaN = unknown)")
            rows["cost_sum"] = np.bincount(labels[known], weights=c[known],
                                           minlength=pool.n_clusters).astype(np.float64)
            rows["cost_count"] = np.bincount(labels[known],
                                             minlength=pool.n_clusters).astype(np.float64)
        return rows

    def _check_encoder(self, encoder: str | None) -> None:
        if encoder is not None and self._encoder_name is not None and encoder != self._encoder_name:
            raise ValueError(f"embeddings come from encoder {encoder!r}, but the router was "
                             f"fitted with encoder {self._encoder_name!r}")

    # ------------------------------------------------------------------ persistence
    def _archive(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        arrays, fields = super()._archive()
        settings = _probe_settings.file_fields(self)
        if settings:  # files without them: hard probes, no safe option
            fields["probe_settings"] = settings
        return arrays, fields

    def _restore_extra(self, arrays: dict[str, np.ndarray], meta: dict[str, Any],
                       where: str) -> None:
        _probe_settings.restore(self, meta, where)

    # ------------------------------------------------------------------ properties
    @property
    def n_clusters_(self) -> int:
        """K in use: the number of clusters of the fitted router (``n_clusters`` may be
        ``"auto"``)."""
        return self._fitted().n_clusters

    @property
    def models(self) -> list[str]:
        """Names of the models in the pool, in the order they were added."""
        return [] if self._state is None else list(self._state.names)

    @property
    def costs(self) -> np.ndarray:
        """Price per query of each model: float64 ``(M,)`` (a copy)."""
        return np.zeros(0) if self._state is None else self._state.cost.copy()

    @property
    def embedding_dim(self) -> int:
        """Dimension of the embeddings the router was fitted on."""
        return int(self._fitted().centroids.shape[1])

    @property
    def encoder_name(self) -> str | None:
        """Name of the recorded encoder, if any."""
        return self._encoder_name

    @property
    def centroids_(self) -> np.ndarray:
        """The K-means centroids: float32 ``(K, dim)`` (a copy)."""
        return self._fitted().centroids.copy()

    @property
    def cluster_error_(self) -> np.ndarray:
        """``Psi``: per-model, per-cluster error, float64 ``(M, K)`` (a copy)."""
        return np.zeros((0, 0)) if self._state is None else np.array(self._state.cluster_error)

    @property
    def probe_count_(self) -> np.ndarray:
        """Answered probe prompts per model and cluster, float64 ``(M, K)`` (a copy)."""
        return np.zeros((0, 0)) if self._state is None else np.array(self._state.probe_count)

    def __repr__(self) -> str:
        pool = self._state
        state = "unfitted" if pool is None else f"dim={pool.centroids.shape[1]}"
        return (f"{type(self).__name__}(n_clusters={self.n_clusters}, {state}, "
                f"models={0 if pool is None else pool.n_models}, "
                f"encoder={self._encoder_name!r})")
