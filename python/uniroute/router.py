"""UniRouter: UniRoute with K-means clusters (Jitkrittum et al., section 2.1).

A prompt x goes to ``argmin_m Psi[m, k(x)] + lam * cost[m]``, where ``k(x)`` is the
nearest training centroid and ``Psi[m, k]`` (the cluster error) is model m's error
rate on the probe prompts of cluster k. A model joins the pool by answering the probe
prompts (``add_model``): no refit.

The pool, its changes, the routing entry points and persistence are shared with the
other routers (:mod:`uniroute._router_base`); this module holds what is particular to
hard clusters: ``fit`` (K-means), ``assign`` and the exact lam-path ``route_path``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from uniroute import _core
from uniroute._router_base import RouterBase, check_shrinkage
from uniroute._validation import as_embeddings
from uniroute.clustering import RandomState


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


class UniRouter(RouterBase):
    """Route prompts to the cheapest LLM expected to answer them well.

    Parameters
    ----------
    n_clusters : int or "auto"
        K, the number of K-means clusters of the training prompts; ``"auto"``: chosen in
        :meth:`fit` from the training LLMs' labels (the K in use is ``n_clusters_``).
    random_state : int, numpy Generator or None
        Seed of the K-means fit.
    encoder : str, encoder object or None
        The prompt encoder (or its name) that made the embeddings. Its name, and its
        dimension once known, are recorded with the router; text or embeddings declared
        to come from another encoder are refused. An encoder object is also what
        :meth:`route_text` uses (with only a name, the default encoder is used when the
        name is one :func:`uniroute.encoders.from_name` knows).
    shrinkage : float or "auto"
        Strength, in probe prompts, of the pull of each cluster error toward the model's
        overall error (see :mod:`uniroute.features`). :meth:`tune_shrinkage` chooses it
        from LLMs you hold more labels for (better with few probes; see the README);
        ``"auto"`` chooses it in :meth:`fit` (with labels; the value is ``shrinkage_``).
    n_init, max_iter, tol : K-means settings (see :class:`uniroute.KMeans`).
    probe_temperature : float, "auto" or None
        Soft probes: a probe answer counts toward every cluster with the weight
        ``softmax(-||x - c_k||^2 / T)`` (None: hard counts on its nearest cluster). In use:
        ``probe_temperature_``. See ``docs/quality.md``.
    safe_level : float, "auto" or None
        The safe option (None: off): a cluster leaves the pool's best overall LLM on the
        probes only where a one-sided two-sample z-test of the probe errors exceeds this
        level (:func:`uniroute.features.safe_cluster_error`). ``"auto"`` (with training
        labels): the least level in 0-4 whose curve reaches the best LLM's quality in at
        least 95% of the selection's simulated probe draws. In use: ``safe_level_``. See
        ``docs/quality.md``.

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

    def __init__(self, n_clusters: int | str = 8, *, random_state: RandomState = None,
                 encoder: Any = None, shrinkage: float | str = 1.0, n_init: int = 3,
                 max_iter: int = 100, tol: float = 1e-4,
                 probe_temperature: float | str | None = None,
                 safe_level: float | str | None = None) -> None:
        self.n_clusters = n_clusters
        self.random_state = random_state
        self.encoder = encoder
        self.shrinkage = shrinkage
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.probe_temperature = probe_temperature
        self.safe_level = safe_level

    def fit(self, train_embeddings: Any, train_correct: Any = None, val_embeddings: Any = None,
            val_correct: Any = None, *, cost: Any = None) -> UniRouter:
        """Cluster the training prompts ``(n_train, dim)``; returns ``self``.

        Refitting discards the pool: cluster errors belong to the old clusters.

        With the training LLMs' labels (``train_correct (n_train, M)``, ``val_embeddings
        (n_val, dim)`` -- the probe prompts -- and ``val_correct (n_val, M)``; ``cost (M,)``
        their prices, optional), every setting given as ``"auto"`` (``n_clusters``,
        ``shrinkage``, ``probe_temperature``, ``safe_level``) is chosen by the probe-aware
        selection :func:`uniroute.select_hyperparameters` (its result: ``selection_``).
        """
        labelled = not (train_correct is None or val_embeddings is None or val_correct is None)
        check_shrinkage(self.shrinkage, allow_auto=labelled)
        self._fit_clusters(train_embeddings, train_correct, val_embeddings, val_correct, cost)
        return self

    def assign(self, embeddings: Any) -> np.ndarray | int:
        """Nearest cluster of each prompt: int64 ``(n,)``, or an int for one prompt."""
        pool = self._fitted()
        X, single = as_embeddings(embeddings, "embeddings", self.embedding_dim)
        labels = self._labels(pool, X, "embeddings")
        return int(labels[0]) if single else labels

    def route_path(self) -> RoutePath:
        """The exact lam-path per cluster (the lower convex hull of (cost, Psi[:, k]))."""
        pool = self._pool()
        return RoutePath(*_core.route_path(pool.cluster_error, pool.cost))
