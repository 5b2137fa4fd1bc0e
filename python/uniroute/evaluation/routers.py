"""The router interface of the evaluation protocol, the registry, and UniRoute (K-means).

A router is a small object with two methods:

- ``fit(view)``: learn from a :class:`~uniroute.evaluation.protocol.TrialView`, which
  holds only the labels the protocol lets routers see;
- ``decisions(view)``: what it does on the view's test prompts, as one of the
  :mod:`~uniroute.evaluation.decisions` types. Routers with a predicted error per
  (prompt, LLM) or per (cluster, LLM) return :class:`PromptErrors` or
  :class:`ClusterErrors` and get an exact deferral curve; others return explicit
  operating points.

``clairvoyant = True`` (the declared exception) makes the protocol hand the router a
:class:`~uniroute.evaluation.protocol.ClairvoyantView` instead. ``info`` collects chosen
hyperparameters (reported per trial). To add a router (e.g. UniRoute with a learned
map), subclass :class:`Router` and :func:`register_router` it.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from uniroute.evaluation.decisions import ClusterErrors, Decisions, PromptErrors
from uniroute.evaluation.protocol import TrialView
from uniroute.evaluation.selection import DEFAULT_K_GRID, select_n_clusters


class Router:
    """Base class of the routers compared by the protocol."""

    name: ClassVar[str] = "router"
    clairvoyant: ClassVar[bool] = False

    def __init__(self) -> None:
        self.info: dict[str, Any] = {}

    def fit(self, view: TrialView) -> Router:  # pragma: no cover - interface
        raise NotImplementedError

    def decisions(self, view: TrialView) -> Decisions:  # pragma: no cover - interface
        raise NotImplementedError


class UniRouteKMeans(Router):
    """UniRoute (K-means) through the public :class:`uniroute.UniRouter`.

    K is chosen per trial by :func:`uniroute.select_n_clusters` (training-pool labels
    only; one k-means++ restart per candidate, ``selection_n_init``, to keep the grid
    search affordable); the router itself is a ``UniRouter`` fitted on the train prompts,
    and each test LLM joins by its probe answers on the validation prompts
    (``add_model``), at its routing cost.

    ``shrinkage="auto"`` (the default): the strength is chosen by
    :meth:`uniroute.UniRouter.tune_shrinkage` from the *training* LLMs (their validation
    answers as probes, their train answers held out) before the test LLMs join -- the
    estimator that won the few-probes comparison (README, "Few probes"); a number fixes it.
    K selection scores the training LLMs' train-prompt errors, where the strength hardly
    matters: it uses 1 when ``"auto"``.
    """

    name = "uniroute_kmeans"

    def __init__(self, grid: tuple[int, ...] = DEFAULT_K_GRID, n_clusters: int | None = None,
                 n_init: int = 3, max_iter: int = 100, shrinkage: float | str = "auto",
                 selection_n_init: int = 1) -> None:
        super().__init__()
        self.grid, self.n_clusters = grid, n_clusters
        self.n_init, self.max_iter, self.shrinkage = n_init, max_iter, shrinkage
        self.selection_n_init = selection_n_init

    @property
    def _selection_shrinkage(self) -> float:
        return 1.0 if isinstance(self.shrinkage, str) else float(self.shrinkage)

    def _choose_k(self, view: TrialView) -> int:
        K = self.n_clusters
        if K is None:
            key = ("n_clusters", tuple(self.grid), self._selection_shrinkage,
                   self.selection_n_init, self.max_iter)
            if key not in view.scratch:  # shared by both UniRoute variants of a trial
                view.scratch[key] = int(select_n_clusters(
                    view.train_embeddings, view.train_quality, view.val_embeddings,
                    view.val_quality_train_models, view.val_cost_train_models,
                    grid=self.grid, shrinkage=self._selection_shrinkage, random_state=view.seed,
                    n_init=self.selection_n_init, max_iter=self.max_iter))
            K = view.scratch[key]
        self.info["n_clusters"] = K
        return K

    def _add_test_models(self, router: Any, view: TrialView) -> None:
        for m, name in enumerate(view.test_models):
            router.add_model(name, float(view.routing_cost[m]), view.val_embeddings,
                             view.val_quality[:, m])
        self.router_ = router

    def fit(self, view: TrialView) -> UniRouteKMeans:
        from uniroute import UniRouter

        auto = self.shrinkage == "auto"
        router = UniRouter(self._choose_k(view), random_state=view.seed, encoder=view.encoder,
                           shrinkage=1.0 if auto else self.shrinkage, n_init=self.n_init,
                           max_iter=self.max_iter)
        router.fit(view.train_embeddings)
        # the estimator variants (evaluation.estimators) reuse these clusters
        view.scratch.setdefault(("centroids", router.n_clusters, self.n_init, self.max_iter),
                                router.centroids_)
        if auto:
            router.tune_shrinkage(view.val_embeddings, view.val_quality_train_models,
                                  view.train_embeddings, view.train_quality)
            self.info["shrinkage"] = router.shrinkage_
        self._add_test_models(router, view)
        return self

    def decisions(self, view: TrialView) -> Decisions:
        labels = np.asarray(self.router_.assign(view.test_embeddings), dtype=np.int64)
        return ClusterErrors(labels, self.router_.cluster_error_)


class UniRouteLearnedMap(UniRouteKMeans):
    """UniRoute (LearnedMap) through the public :class:`uniroute.LearnedMapRouter`.

    The same K choice and clusters as :class:`UniRouteKMeans`; the soft map is fitted on
    the training LLMs' labels (train prompts; their validation labels for Psi and early
    stopping), then each test LLM joins by its probe answers. Its predicted error
    ``Phi(x) . Psi`` is scored exactly as a per-prompt error table.
    """

    name = "uniroute_learned_map"

    def __init__(self, grid: tuple[int, ...] = DEFAULT_K_GRID, n_clusters: int | None = None,
                 n_init: int = 3, max_iter: int = 100, shrinkage: float | str = "auto",
                 selection_n_init: int = 1, **map_options: Any) -> None:
        super().__init__(grid, n_clusters, n_init, max_iter, shrinkage, selection_n_init)
        self.map_options = map_options

    def fit(self, view: TrialView) -> UniRouteLearnedMap:
        from uniroute import LearnedMapRouter

        K = self._choose_k(view)
        router = LearnedMapRouter(K, random_state=view.seed, encoder=view.encoder,
                                  shrinkage=self.shrinkage, n_init=self.n_init,
                                  max_iter=self.max_iter, **self.map_options)
        router.fit(view.train_embeddings, view.train_quality, view.val_embeddings,
                   view.val_quality_train_models)
        if router.shrinkage_ is not None:
            self.info["shrinkage"] = router.shrinkage_
        self._add_test_models(router, view)
        return self

    def decisions(self, view: TrialView) -> Decisions:
        return PromptErrors(self.router_.predict_error(view.test_embeddings))


_REGISTRY: dict[str, Callable[[], Router]] = {}
_EXTRA: dict[str, Callable[[], Router]] = {}


def register_router(name: str, factory: Callable[[], Router], *, default: bool = True) -> None:
    """Make ``factory()`` available to the protocol (and the CLI) under ``name``.

    ``default=False`` registers it by name only: it runs when named (``--routers``),
    not in the default table.

    With ``n_jobs > 1`` the factory is pickled to the worker processes: use a class or a
    ``functools.partial`` of one defined at module level, not a lambda.
    """
    (_REGISTRY if default else _EXTRA)[name] = factory
    (_EXTRA if default else _REGISTRY).pop(name, None)


def available_routers(include_extra: bool = False) -> list[str]:
    """Names of the registered routers, in table order (the default table; with
    ``include_extra`` also those that run only when named)."""
    return list(_REGISTRY) + (list(_EXTRA) if include_extra else [])


def router_factory(name: str) -> Callable[[], Router]:
    """The factory registered under ``name``."""
    try:
        return _REGISTRY[name] if name in _REGISTRY else _EXTRA[name]
    except KeyError:
        raise ValueError(f"unknown router {name!r}; available: "
                         f"{available_routers(include_extra=True)}") from None


def make_router(name: str) -> Router:
    """A fresh router registered under ``name``."""
    return router_factory(name)()


def _register_defaults() -> None:
    from uniroute.evaluation import baselines

    register_router("zero_router", baselines.ZeroRouter)
    register_router("knn", baselines.KNNRouter)
    register_router("uniroute_kmeans", UniRouteKMeans)
    register_router("uniroute_learned_map", UniRouteLearnedMap)
    register_router("clairvoyant", baselines.Clairvoyant)
    register_router("random", baselines.RandomRouter)
    register_router("best_single", baselines.BestSingle)
    from uniroute.evaluation.estimators import EXTRA_ROUTERS

    for name, factory in EXTRA_ROUTERS.items():
        register_router(name, factory, default=False)


_register_defaults()
