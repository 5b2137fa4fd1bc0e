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

import functools
import time
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from uniroute.evaluation.decisions import ClusterErrors, Decisions, PromptErrors
from uniroute.evaluation.protocol import TrialView
from uniroute.evaluation.selection import DEFAULT_K_GRID, select_n_clusters
from uniroute.tuning import DEFAULT_GRID, DEFAULT_SAFE_LEVELS, Choice, select_hyperparameters


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

    ``selection="probe"`` (the default): K, the shrinkage strength and the soft-probe
    temperature are chosen per trial by :func:`uniroute.select_hyperparameters` from the
    *training* LLMs -- their ``Psi`` from probe-sized draws of their answers (N_val, the
    size of the test LLMs' probe set), in pools the size of the test pool, scored by the
    Area of their routes on their held-out answers. One selection per trial, shared by
    every variant through ``view.scratch`` (one k-means++ restart per candidate,
    ``selection_n_init``). ``safe=True`` adds the safe option
    (:func:`uniroute.features.safe_cluster_error`) to the same setting, at the level the
    same selection picks for the option's promise: the least level whose curve reached
    the simulated pool's best LLM in at least 95% of its draws (``info["safe_reach"]``:
    that level's rate).

    ``selection="f1"``: the paper's Appendix F.1 (:func:`uniroute.select_n_clusters`)
    for K, and the shrinkage by held-out likelihood on the training LLMs
    (:meth:`uniroute.UniRouter.tune_shrinkage`) -- the previous default.

    The router itself is a ``UniRouter`` fitted on the train prompts; each test LLM joins
    by its probe answers on the validation prompts (``add_model``) at its routing cost.
    A number as ``shrinkage`` fixes the strength (F.1 only).
    """

    name = "uniroute_kmeans"

    def __init__(self, grid: tuple[int, ...] | None = None, n_clusters: int | None = None,
                 n_init: int = 3, max_iter: int = 100, shrinkage: float | str = "auto",
                 selection_n_init: int = 1, selection: str = "probe",
                 safe: bool = False) -> None:
        super().__init__()
        if selection not in ("probe", "f1"):
            raise ValueError(f"selection must be 'probe' or 'f1', got {selection!r}")
        self.grid = grid if grid is not None else (
            DEFAULT_GRID if selection == "probe" else DEFAULT_K_GRID)
        self.n_clusters = n_clusters
        self.n_init, self.max_iter, self.shrinkage = n_init, max_iter, shrinkage
        self.selection_n_init, self.selection, self.safe = selection_n_init, selection, safe

    @property
    def _selection_shrinkage(self) -> float:
        return 1.0 if isinstance(self.shrinkage, str) else float(self.shrinkage)

    def _choose_k(self, view: TrialView) -> int:
        """K by Appendix F.1 (``selection="f1"``; also the estimator variants' K)."""
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

    def _choose(self, view: TrialView) -> Choice:
        """The probe-aware choice (``selection="probe"``), shared within the trial."""
        grid = (self.n_clusters,) if self.n_clusters is not None else tuple(self.grid)
        key = ("probe_selection", grid, self.selection_n_init, self.max_iter)
        if key not in view.scratch:
            start = time.perf_counter()
            view.scratch[key] = select_hyperparameters(
                view.train_embeddings, view.train_quality, view.val_embeddings,
                view.val_quality_train_models, view.train_routing_cost, grid=grid,
                safe_levels=DEFAULT_SAFE_LEVELS, pool_size=len(view.test_models),
                random_state=view.seed, n_init=self.selection_n_init, max_iter=self.max_iter)
            self.info["selection_seconds"] = time.perf_counter() - start
        self.selection_ = view.scratch[key]
        choice: Choice = self.selection_.best(safe=self.safe)
        self.info.update(n_clusters=choice.n_clusters, shrinkage=choice.shrinkage,
                         soft_probes=choice.probe_temperature is not None,
                         safe_level=choice.safe_level)
        if self.safe:
            self.info["safe_reach"] = choice.reach
        return choice

    def _add_test_models(self, router: Any, view: TrialView) -> None:
        for m, name in enumerate(view.test_models):
            router.add_model(name, float(view.routing_cost[m]), view.val_embeddings,
                             view.val_quality[:, m])
        self.router_ = router

    @property
    def _n_init_for_fit(self) -> int:
        """The probe-aware selection scored its own K-means fit: refitting with its
        ``n_init`` and seed gives those very clusters (F.1 keeps ``n_init``)."""
        return self.selection_n_init if self.selection == "probe" else self.n_init

    def _settings(self, view: TrialView) -> dict[str, Any]:
        """Constructor settings of the public router for this trial."""
        if self.selection == "probe":
            c = self._choose(view)
            return {"n_clusters": c.n_clusters, "shrinkage": c.shrinkage,
                    "probe_temperature": c.probe_temperature, "safe_level": c.safe_level}
        return {"n_clusters": self._choose_k(view), "shrinkage": self.shrinkage,
                "safe_level": "auto" if self.safe else None}

    def fit(self, view: TrialView) -> UniRouteKMeans:
        from uniroute import UniRouter

        settings = self._settings(view)
        auto = settings["shrinkage"] == "auto"
        if auto:  # F.1: the strength by held-out likelihood, after the fit
            settings["shrinkage"] = 1.0
        router = UniRouter(random_state=view.seed, encoder=view.encoder,
                           n_init=self._n_init_for_fit, max_iter=self.max_iter,
                           **{**settings, "safe_level": None})
        router.fit(view.train_embeddings)
        # the estimator variants (evaluation.estimators) reuse these clusters
        if self.selection == "f1":
            view.scratch.setdefault(("centroids", router.n_clusters, self.n_init,
                                     self.max_iter), router.centroids_)
        if auto:
            router.tune_shrinkage(view.val_embeddings, view.val_quality_train_models,
                                  view.train_embeddings, view.train_quality)
            self.info["shrinkage"] = router.shrinkage_
            view.scratch[("likelihood_shrinkage", router.n_clusters, self.n_init,
                          self.max_iter)] = router.shrinkage_
        if settings["safe_level"] is not None:
            router.safe_level_ = float(settings["safe_level"])
        self._add_test_models(router, view)
        return self

    def decisions(self, view: TrialView) -> Decisions:
        labels = np.asarray(self.router_.assign(view.test_embeddings), dtype=np.int64)
        return ClusterErrors(labels, self.router_.cluster_error_)


class UniRouteLearnedMap(UniRouteKMeans):
    """UniRoute (LearnedMap) through the public :class:`uniroute.LearnedMapRouter`.

    The same settings as :class:`UniRouteKMeans` (the same selection, shared in the
    trial); the soft map is fitted on the training LLMs' labels (train prompts; their
    validation labels for Psi and early stopping), then each test LLM joins by its probe
    answers. Its predicted error ``Phi(x) . Psi`` is scored exactly as a per-prompt
    error table.
    """

    name = "uniroute_learned_map"

    def __init__(self, grid: tuple[int, ...] | None = None, n_clusters: int | None = None,
                 n_init: int = 3, max_iter: int = 100, shrinkage: float | str = "auto",
                 selection_n_init: int = 1, selection: str = "probe", safe: bool = False,
                 **map_options: Any) -> None:
        super().__init__(grid, n_clusters, n_init, max_iter, shrinkage, selection_n_init,
                         selection, safe)
        self.map_options = map_options

    def fit(self, view: TrialView) -> UniRouteLearnedMap:
        from uniroute import LearnedMapRouter

        settings = self._settings(view)
        safe = settings.pop("safe_level")
        if settings["shrinkage"] == "auto":  # F.1: the held-out likelihood strength
            settings["shrinkage"] = self._likelihood_shrinkage(view, settings["n_clusters"])
        # the safe variant shares the fitted map (the option acts on Psi only)
        key = ("learned_map", tuple(sorted(settings.items())), self._n_init_for_fit,
               self.max_iter, tuple(sorted(self.map_options.items())))
        if key not in view.scratch:
            fitted = LearnedMapRouter(random_state=view.seed, encoder=view.encoder,
                                      n_init=self._n_init_for_fit, max_iter=self.max_iter,
                                      **settings, **self.map_options)
            fitted.fit(view.train_embeddings, view.train_quality, view.val_embeddings,
                       view.val_quality_train_models)
            view.scratch[key] = fitted.to_bytes()
        router = LearnedMapRouter.from_bytes(view.scratch[key])
        self.info["shrinkage"] = float(settings["shrinkage"])
        if safe is not None and self.selection == "probe":
            safe = self._soft_safe_level(router, view)
        if safe is not None:
            router.safe_level_ = float(safe)
        self._add_test_models(router, view)
        return self

    def _soft_safe_level(self, router: Any, view: TrialView) -> float:
        """The safe level chosen on the fitted map's own route, over the selection's
        safe-level draws (as ``LearnedMapRouter(safe_level="auto")`` chooses it)."""
        router.selection_ = self.selection_
        router._choose_soft_safe_level(view.train_embeddings, view.val_embeddings,
                                       view.train_quality, view.val_quality_train_models,
                                       view.train_routing_cost)
        level = router.safe_level_
        self.info.update(safe_level=level, safe_reach=router.safe_reach_[level])
        return level

    def _likelihood_shrinkage(self, view: TrialView, K: int) -> float:
        """The strength ``UniRouter.tune_shrinkage`` picks at K (what F.1's K-means row
        uses; computed here when that row did not run in the trial)."""
        key = ("likelihood_shrinkage", K, self.n_init, self.max_iter)
        if key not in view.scratch:
            from uniroute import UniRouter

            router = UniRouter(K, random_state=view.seed, n_init=self.n_init,
                               max_iter=self.max_iter).fit(view.train_embeddings)
            router.tune_shrinkage(view.val_embeddings, view.val_quality_train_models,
                                  view.train_embeddings, view.train_quality)
            view.scratch[key] = router.shrinkage_
        return float(view.scratch[key])

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
    register_router("uniroute_kmeans_f1", functools.partial(UniRouteKMeans, selection="f1"))
    register_router("uniroute_learned_map_f1",
                    functools.partial(UniRouteLearnedMap, selection="f1"))
    register_router("uniroute_kmeans_safe", functools.partial(UniRouteKMeans, safe=True))
    register_router("uniroute_learned_map_safe",
                    functools.partial(UniRouteLearnedMap, safe=True))
    register_router("clairvoyant", baselines.Clairvoyant)
    register_router("random", baselines.RandomRouter)
    register_router("best_single", baselines.BestSingle)
    from uniroute.evaluation.estimators import EXTRA_ROUTERS

    for name, factory in EXTRA_ROUTERS.items():
        register_router(name, factory, default=False)


_register_defaults()
