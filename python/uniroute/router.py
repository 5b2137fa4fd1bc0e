"""UniRouter: UniRoute with K-means clusters (Jitkrittum et al., section 2.1).

A prompt x goes to ``argmin_m Psi[m, k(x)] + lam * cost[m]``, where ``k(x)`` is the
nearest training centroid and ``Psi[m, k]`` (the cluster error) is model m's error
rate on the probe prompts of cluster k. A model joins the pool by answering the probe
prompts (``add_model``): no refit.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from uniroute import _core
from uniroute._validation import (as_correct, as_cost, as_embeddings, as_lam, as_name,
                                  as_positive_int)
from uniroute.clustering import KMeans, RandomState
from uniroute.exceptions import EmptyPoolError, NotFittedError, RouterFileError
from uniroute.features import probe_statistics, shrunk_cluster_error
from uniroute.io import DEFAULT_MAX_BYTES, read_archive, write_archive


@dataclass(frozen=True)
class RoutePath:
    """The exact lam-path of a hard-cluster router.

    For cluster ``k``, entries ``offsets[k]:offsets[k+1]`` list the models chosen as lam
    grows: ``model[j]`` is the argmin for lam in ``[lam_lo[j], lam_hi[j])``.
    """

    offsets: np.ndarray
    model: np.ndarray
    lam_lo: np.ndarray
    lam_hi: np.ndarray

    def segments(self, cluster: int) -> list[tuple[int, float, float]]:
        """``(model, lam_lo, lam_hi)`` triples of one cluster."""
        s = slice(int(self.offsets[cluster]), int(self.offsets[cluster + 1]))
        return [(int(m), float(lo), float(hi))
                for m, lo, hi in zip(self.model[s], self.lam_lo[s], self.lam_hi[s])]


def _encoder_identity(encoder: Any) -> tuple[str | None, int | None]:
    if encoder is None:
        return None, None
    if isinstance(encoder, str):
        return as_name(encoder, "encoder"), None
    name = getattr(encoder, "name", None)
    if not isinstance(name, str):
        raise TypeError("encoder must be None, a name (str) or an object with a str 'name'")
    dim = getattr(encoder, "dim", None)
    return as_name(name, "encoder.name"), (None if dim is None else int(dim))


class UniRouter:
    """Route prompts to the cheapest LLM expected to answer them well.

    Parameters
    ----------
    n_clusters : int
        K, the number of K-means clusters of the training prompts.
    random_state : int, numpy Generator or None
        Seed of the K-means fit.
    encoder : str, encoder object or None
        The prompt encoder (or its name) that made the embeddings. Recorded with the
        router; embeddings declared to come from another encoder are refused.
    shrinkage : float
        Strength, in probe prompts, of the pull of each cluster error toward the model's
        overall error (see :mod:`uniroute.features`).
    n_init, max_iter, tol : K-means settings (see :class:`uniroute.KMeans`).

    Examples
    --------
    >>> import numpy as np, uniroute
    >>> rng = np.random.default_rng(0)
    >>> r = uniroute.UniRouter(n_clusters=4, random_state=0).fit(rng.standard_normal((200, 8)))
    >>> probes = rng.standard_normal((50, 8))
    >>> _ = r.add_model("small", 0.1, probes, rng.random(50) < 0.5)
    >>> _ = r.add_model("large", 1.0, probes, rng.random(50) < 0.9)
    >>> r.route(probes[:3], lam=0.0).shape
    (3,)
    """

    def __init__(self, n_clusters: int = 8, *, random_state: RandomState = None,
                 encoder: Any = None, shrinkage: float = 1.0, n_init: int = 3,
                 max_iter: int = 100, tol: float = 1e-4) -> None:
        self._n_clusters = n_clusters
        self.random_state = random_state
        self.encoder = encoder
        self.shrinkage = shrinkage
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self._encoder_name, self._encoder_dim = _encoder_identity(encoder)
        self._centroids: np.ndarray | None = None
        self._names: list[str] = []
        self._cost = np.zeros(0, dtype=np.float64)
        self._error_sum = np.zeros((0, 0), dtype=np.float64)
        self._probe_count = np.zeros((0, 0), dtype=np.float64)
        self._psi = np.zeros((0, 0), dtype=np.float64)
        # Compiled state (uniroute._core), rebuilt when the arrays it was built from change.
        self._compiled: dict[str, Any] = {}

    # ------------------------------------------------------------------ fitting
    def fit(self, train_embeddings: Any) -> UniRouter:
        """Cluster the training prompts ``(n_train, dim)``; returns ``self``.

        Refitting discards the pool: cluster errors belong to the old clusters.
        """
        X, _ = as_embeddings(train_embeddings, "train_embeddings", self._encoder_dim)
        km = KMeans(as_positive_int(self._n_clusters, "n_clusters"), n_init=self.n_init,
                    max_iter=self.max_iter, tol=self.tol, random_state=self.random_state)
        try:
            km.fit(X)
        except ValueError as exc:
            raise ValueError(str(exc).replace("X ", "train_embeddings ", 1)) from exc
        self._set_centroids(km.cluster_centers_)
        return self

    def _set_centroids(self, centroids: np.ndarray) -> None:
        self._centroids = np.ascontiguousarray(centroids, dtype=np.float32)
        K = self._centroids.shape[0]
        self._names = []
        self._cost = np.zeros(0, dtype=np.float64)
        self._error_sum = np.zeros((0, K), dtype=np.float64)
        self._probe_count = np.zeros((0, K), dtype=np.float64)
        self._psi = np.zeros((0, K), dtype=np.float64)

    # ------------------------------------------------------------------ the pool
    def add_model(self, name: str, cost: float, embeddings: Any, correct: Any,
                  *, encoder: str | None = None) -> UniRouter:
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
        """
        self._check_fitted()
        self._check_encoder(encoder)
        name = as_name(name)
        if name in self._names:
            raise ValueError(f"a model named {name!r} is already in the pool; remove it first")
        cost = as_cost(cost)
        X, _ = as_embeddings(embeddings, "embeddings", self.embedding_dim)
        correct = as_correct(correct, "correct", X.shape[0])
        if np.isnan(correct).all():
            raise ValueError(f"correct has no answered probe for model {name!r} "
                             "(all NaN or empty); cannot estimate its error")
        labels = self._assign(X, "embeddings")
        err_sum, count = probe_statistics(labels, correct, self.n_clusters)
        psi = shrunk_cluster_error(err_sum, count, self.shrinkage)
        self._names.append(name)
        self._cost = np.append(self._cost, cost)
        self._error_sum = np.vstack([self._error_sum, err_sum])
        self._probe_count = np.vstack([self._probe_count, count])
        self._psi = np.vstack([self._psi, psi])
        return self

    def remove_model(self, name: str) -> UniRouter:
        """Remove a model from the pool."""
        i = self._index(name)
        del self._names[i]
        self._cost = np.delete(self._cost, i)
        self._error_sum = np.delete(self._error_sum, i, axis=0)
        self._probe_count = np.delete(self._probe_count, i, axis=0)
        self._psi = np.delete(self._psi, i, axis=0)
        return self

    def _index(self, name: str) -> int:
        try:
            return self._names.index(name)
        except ValueError:
            raise KeyError(f"unknown model {name!r}; the pool holds {self._names}") from None

    # ------------------------------------------------------------------ routing
    def assign(self, embeddings: Any) -> np.ndarray | int:
        """Nearest cluster of each prompt: int64 ``(n,)``, or an int for one prompt."""
        self._check_fitted()
        X, single = as_embeddings(embeddings, "embeddings", self.embedding_dim)
        labels = self._assign(X, "embeddings")
        return int(labels[0]) if single else labels

    def predict_error(self, embeddings: Any, *, encoder: str | None = None) -> np.ndarray:
        """Predicted error ``gamma(x, h_m) = Psi[m, k(x)]``: ``(n, M)``, or ``(M,)`` for one."""
        self._check_pool()
        self._check_encoder(encoder)
        X, single = as_embeddings(embeddings, "embeddings", self.embedding_dim)
        err = self._psi.T[self._assign(X, "embeddings")]
        return err[0] if single else err

    def route_indices(self, embeddings: Any, lam: float = 0.0, *,
                      encoder: str | None = None) -> np.ndarray | int:
        """Pool index of the chosen model per prompt: int64 ``(n,)``, or an int for one.

        The choice is ``argmin_m Psi[m, k(x)] + lam * cost[m]``; ties go to the cheaper
        model, then to the earlier-added one.
        """
        c = self._compiled
        if (encoder is None and type(embeddings) is np.ndarray and embeddings.ndim == 1
                and type(lam) in (float, int) and c.get("psi") is self._psi
                and c.get("cost") is self._cost and c.get("centroids") is self._centroids):
            # One prompt, pool compiled: the core checks x (dim, finite) and lam itself.
            try:
                return c["pool"].route_one(embeddings, lam)
            except (ValueError, TypeError):
                pass  # the checks below raise the public error
        self._check_pool()
        self._check_encoder(encoder)
        lam = as_lam(lam)
        X, single = as_embeddings(embeddings, "embeddings", self.embedding_dim)
        pool = self._compiled_pool()
        try:
            return pool.route_one(X, lam) if single else pool.route(X, lam)
        except ValueError as exc:
            raise ValueError(str(exc).replace("X ", "embeddings ", 1)
                             .replace("x ", "embeddings ", 1)) from None

    def route(self, embeddings: Any, lam: float = 0.0, *,
              encoder: str | None = None) -> np.ndarray | str:
        """Name of the chosen model per prompt: ``(n,)`` str array, or a str for one."""
        idx = self.route_indices(embeddings, lam, encoder=encoder)
        return self._names[idx] if isinstance(idx, int) else np.asarray(self._names)[idx]

    def route_path(self) -> RoutePath:
        """The exact lam-path per cluster (the lower convex hull of (cost, Psi[:, k]))."""
        self._check_pool()
        return RoutePath(*_core.route_path(self._psi, self._cost))

    def _assign(self, X: np.ndarray, name: str) -> np.ndarray:
        try:
            return self._compiled_index().assign(X)[0]
        except ValueError as exc:
            raise ValueError(str(exc).replace("X ", f"{name} ", 1)) from None

    def _compiled_index(self) -> _core.CentroidIndex:
        """Centroids with cached norms and an fp16 copy, built once per set of centroids."""
        c = self._compiled
        if c.get("centroids") is not self._centroids:
            c.clear()
            c["index"], c["centroids"] = _core.CentroidIndex(self._centroids), self._centroids
        return c["index"]

    def _compiled_pool(self) -> _core.PoolRouter:
        """The pool with its per-lam choice table, rebuilt when the pool arrays change."""
        index, c = self._compiled_index(), self._compiled
        if c.get("psi") is not self._psi or c.get("cost") is not self._cost:
            c["pool"] = _core.PoolRouter(index, self._psi, self._cost)
            c["psi"], c["cost"] = self._psi, self._cost
        return c["pool"]

    # ------------------------------------------------------------------ checks
    def _check_fitted(self) -> None:
        if self._centroids is None:
            raise NotFittedError("this UniRouter is not fitted yet; call fit(train_embeddings)")

    def _check_pool(self) -> None:
        self._check_fitted()
        if not self._names:
            raise EmptyPoolError("the pool is empty; add a model with add_model() first")

    def _check_encoder(self, encoder: str | None) -> None:
        if encoder is not None and self._encoder_name is not None and encoder != self._encoder_name:
            raise ValueError(f"embeddings come from encoder {encoder!r}, but the router was "
                             f"fitted with encoder {self._encoder_name!r}")

    # ------------------------------------------------------------------ properties
    @property
    def models(self) -> list[str]:
        """Names of the models in the pool, in the order they were added."""
        return list(self._names)

    @property
    def costs(self) -> np.ndarray:
        """Price per query of each model: float64 ``(M,)`` (a copy)."""
        return self._cost.copy()

    @property
    def n_clusters(self) -> int:
        """K: the number of clusters (the parameter, before ``fit``)."""
        if self._centroids is None:
            return int(self._n_clusters)
        return int(self._centroids.shape[0])

    @property
    def embedding_dim(self) -> int:
        """Dimension of the embeddings the router was fitted on."""
        self._check_fitted()
        assert self._centroids is not None
        return int(self._centroids.shape[1])

    @property
    def encoder_name(self) -> str | None:
        """Name of the recorded encoder, if any."""
        return self._encoder_name

    @property
    def centroids_(self) -> np.ndarray:
        """The K-means centroids: float32 ``(K, dim)`` (a copy)."""
        self._check_fitted()
        assert self._centroids is not None
        return self._centroids.copy()

    @property
    def cluster_error_(self) -> np.ndarray:
        """``Psi``: per-model, per-cluster error, float64 ``(M, K)`` (a copy)."""
        return self._psi.copy()

    @property
    def probe_count_(self) -> np.ndarray:
        """Answered probe prompts per model and cluster, float64 ``(M, K)`` (a copy)."""
        return self._probe_count.copy()

    def __repr__(self) -> str:
        state = "unfitted" if self._centroids is None else f"dim={self.embedding_dim}"
        return (f"UniRouter(n_clusters={self.n_clusters}, {state}, "
                f"models={len(self._names)}, encoder={self._encoder_name!r})")

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the router to one file (see :mod:`uniroute.io`), atomically."""
        self._check_fitted()
        assert self._centroids is not None
        fields = {
            "models": list(self._names),
            "n_clusters": self.n_clusters,
            "embedding_dim": self.embedding_dim,
            "encoder": {"name": self._encoder_name, "dim": self._encoder_dim},
            "hyperparameters": {"shrinkage": float(self.shrinkage), "n_init": int(self.n_init),
                                "max_iter": int(self.max_iter), "tol": float(self.tol)},
        }
        arrays = {"centroids": self._centroids, "cost": self._cost,
                  "cluster_error": self._psi, "error_sum": self._error_sum,
                  "probe_count": self._probe_count}
        write_archive(path, "UniRouter", arrays, fields)

    @classmethod
    def load(cls, path: str | os.PathLike[str], *,
             max_bytes: int = DEFAULT_MAX_BYTES) -> UniRouter:
        """Read a router written by :meth:`save`; raises RouterFileError if it is not valid."""
        arrays, meta = read_archive(path, "UniRouter", max_bytes)
        where = os.fspath(path)
        try:
            if not isinstance(meta["models"], list):
                raise TypeError("'models' must be a list")
            names = [as_name(n, "model name") for n in meta["models"]]
            K, d = int(meta["n_clusters"]), int(meta["embedding_dim"])
            hyper = meta["hyperparameters"]
            enc = meta["encoder"]
            router = cls(K, shrinkage=float(hyper["shrinkage"]), n_init=int(hyper["n_init"]),
                         max_iter=int(hyper["max_iter"]), tol=float(hyper["tol"]),
                         encoder=None if enc["name"] is None else as_name(enc["name"], "encoder"))
            router._encoder_dim = None if enc["dim"] is None else int(enc["dim"])
        except (KeyError, TypeError, ValueError) as exc:
            raise RouterFileError(f"{where}: bad metadata: {exc!r}") from exc
        M = len(names)
        shapes = {"centroids": (K, d), "cost": (M,), "cluster_error": (M, K),
                  "error_sum": (M, K), "probe_count": (M, K)}
        for key, shape in shapes.items():
            if arrays.get(key) is None or arrays[key].shape != shape:
                raise RouterFileError(f"{where}: array {key!r} must have shape {shape}")
            if not np.isfinite(arrays[key]).all():
                raise RouterFileError(f"{where}: array {key!r} holds NaN or inf")
        if len(set(names)) != M or K < 1 or d < 1 or (arrays["cost"] < 0).any():
            raise RouterFileError(f"{where}: inconsistent router (duplicate names or bad sizes)")
        router._set_centroids(arrays["centroids"])
        router._names = names
        router._cost = arrays["cost"].astype(np.float64)
        router._psi = arrays["cluster_error"].astype(np.float64)
        router._error_sum = arrays["error_sum"].astype(np.float64)
        router._probe_count = arrays["probe_count"].astype(np.float64)
        return router
