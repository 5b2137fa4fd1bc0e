"""UniRoute (K-means) with each per-cluster error estimator, for the few-probes comparison.

With few validation (probe) prompts, many clusters hold few probes. These routers share
UniRoute (K-means)'s K choice and clusters (same trial, same seed) and differ only in how
a test LLM's ``Psi[k]`` is estimated from its probe answers:

``backoff``
    the plain per-cluster mean, an empty cluster backing off to the LLM's overall error
    (:func:`uniroute.features.mean_backoff_cluster_error`) -- the baseline;
``shrinkage``
    the mean pulled toward the overall error by a fixed ``shrinkage`` (1 probe prompt,
    ``UniRouter``'s default; :func:`uniroute.features.shrunk_cluster_error`);
``shrinkage_ll``
    the same rule with the strength chosen per trial by held-out likelihood on the
    *training* LLMs: their ``Psi`` from their answers to the validation prompts, scored
    on their answers to the train prompts (:func:`uniroute.features.choose_shrinkage`)
    -- the same numbers as ``uniroute_kmeans``, whose default it became;
``soft``
    soft probes: each probe counts toward every cluster by its soft assignment
    ``softmax_k(-||x - c_k||^2 / T)`` (T as in :class:`uniroute.LearnedMapRouter`'s
    initial map), then the default shrinkage rule on those soft sums.

None is registered for the default table; name them in ``--routers`` (the CLI) or
``routers=`` (:func:`uniroute.evaluation.evaluate`): ``uniroute_backoff``,
``uniroute_shrinkage``, ``uniroute_shrinkage_ll``, ``uniroute_soft_probes``.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from uniroute import _core
from uniroute._learned_map_fit import auto_temperature, centroid_init, softmax
from uniroute.evaluation.decisions import ClusterErrors, Decisions
from uniroute.evaluation.protocol import TrialView
from uniroute.evaluation.routers import UniRouteKMeans
from uniroute.evaluation.selection import DEFAULT_K_GRID
from uniroute.features import (
    SHRINKAGE_GRID,
    choose_shrinkage,
    mean_backoff_cluster_error,
    probe_statistics,
    shrunk_cluster_error,
    soft_probe_statistics,
)

ESTIMATORS = ("backoff", "shrinkage", "shrinkage_ll", "soft")


def soft_weights(X: np.ndarray, centroids: np.ndarray, temperature: float) -> np.ndarray:
    """``softmax_k(-||x - c_k||^2 / T)`` per row, ``(n, K)`` float64: LearnedMap's initial
    map (:func:`uniroute._learned_map_fit.centroid_init`)."""
    init = centroid_init(np.asarray(centroids, np.float64), temperature)
    return softmax(np.asarray(X, np.float64) @ init.W.T + init.b)


class UniRouteEstimator(UniRouteKMeans):
    """UniRoute (K-means) whose test LLMs' ``Psi`` comes from one named estimator."""

    name = "uniroute_estimator"

    def __init__(self, estimator: str = "shrinkage", grid: tuple[int, ...] = DEFAULT_K_GRID,
                 n_clusters: int | None = None, n_init: int = 3, max_iter: int = 100,
                 shrinkage: float = 1.0, selection_n_init: int = 1,
                 shrinkage_grid: tuple[float, ...] = SHRINKAGE_GRID) -> None:
        if estimator not in ESTIMATORS:
            raise ValueError(f"estimator must be one of {ESTIMATORS}, got {estimator!r}")
        super().__init__(grid, n_clusters, n_init, max_iter, shrinkage, selection_n_init,
                         "f1")
        self.estimator = estimator
        self.shrinkage_grid = tuple(shrinkage_grid)

    def _centroids(self, view: TrialView, K: int) -> np.ndarray:
        key = ("centroids", K, self.n_init, self.max_iter)
        if key not in view.scratch:  # the same fit as UniRouteKMeans (same seed)
            from uniroute import UniRouter

            router = UniRouter(K, random_state=view.seed, n_init=self.n_init,
                               max_iter=self.max_iter).fit(view.train_embeddings)
            view.scratch[key] = router.centroids_
        return view.scratch[key]

    def psi(self, view: TrialView, centroids: np.ndarray) -> np.ndarray:
        """The test LLMs' ``Psi (n_test_llms, K)`` from their probe answers."""
        K = centroids.shape[0]
        quality = np.asarray(view.val_quality, np.float64)
        if self.estimator == "soft":
            T = auto_temperature(view.train_embeddings, centroids)  # (converts its sample)
            W = soft_weights(view.val_embeddings, centroids, T)
            self.info["temperature"] = float(T)
            return shrunk_cluster_error(*soft_probe_statistics(W, quality), self.shrinkage)
        val_labels = _core.assign(view.val_embeddings, centroids)[0]
        err_sum, count = probe_statistics(val_labels, quality, K)
        if self.estimator == "backoff":
            return mean_backoff_cluster_error(err_sum, count)
        strength = self.shrinkage
        if self.estimator == "shrinkage_ll":
            train_labels = _core.assign(view.train_embeddings, centroids)[0]
            strength, _ = choose_shrinkage(
                val_labels, np.asarray(view.val_quality_train_models, np.float64),
                train_labels, np.asarray(view.train_quality, np.float64), K,
                grid=self.shrinkage_grid)
            self.info["shrinkage"] = float(strength)
        return shrunk_cluster_error(err_sum, count, strength)

    def fit(self, view: TrialView) -> UniRouteEstimator:
        K = self._choose_k(view)
        self.centroids_ = self._centroids(view, K)
        self.psi_ = self.psi(view, self.centroids_)
        return self

    def decisions(self, view: TrialView) -> Decisions:
        labels = np.asarray(_core.assign(view.test_embeddings, self.centroids_)[0], np.int64)
        return ClusterErrors(labels, self.psi_)


def _factory(estimator: str) -> Any:
    import functools

    return functools.partial(UniRouteEstimator, estimator)


EXTRA_ROUTERS = {
    "uniroute_backoff": _factory("backoff"),
    "uniroute_shrinkage": _factory("shrinkage"),
    "uniroute_shrinkage_ll": _factory("shrinkage_ll"),
    "uniroute_soft_probes": _factory("soft"),
}
