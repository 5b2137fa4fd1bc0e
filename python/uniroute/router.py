"""UniRouter: UniRoute with K-means clusters (Jitkrittum et al., section 2.1).

A prompt x goes to ``argmin_m Psi[m, k(x)] + lam * cost[m]``, where ``k(x)`` is the
nearest training centroid and ``Psi[m, k]`` (the cluster error) is model m's error
rate on the probe prompts of cluster k. A model joins the pool by answering the probe
prompts (``add_model``): no refit.

Serving: the state lives in one immutable :class:`~uniroute._pool.PoolSnapshot`;
changes build a new snapshot and swap it in atomically, so routing threads never
lock and never see a half-changed pool. Routers pickle by value through their file
format (never by pickling their attributes).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from uniroute import (
    _core,
    _probe_settings,  # issue 13 hook: "auto" settings, soft probes, safe option
)
from uniroute._pool import PoolSnapshot
from uniroute._router_file import RouterFileMixin
from uniroute._validation import (
    as_array,
    as_correct,
    as_correct_matrix,
    as_cost,
    as_embeddings,
    as_lam,
    as_name,
)
from uniroute.calibration import Calibration, mix_uniform, solve
from uniroute.clustering import KMeans, RandomState
from uniroute.constraints import allowed_mask, cap_mask, route_constrained
from uniroute.encoders import DEFAULT_NAME, as_texts
from uniroute.exceptions import EmptyPoolError, NotFittedError
from uniroute.explain import Explanation, explain_rows
from uniroute.features import SHRINKAGE_GRID, shrunk_cluster_error


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


def _route_one(pool: PoolSnapshot, x: np.ndarray, lam: Any) -> int | None:
    """One unconstrained prompt on the compiled pool, or None to take the full path.

    The core checks x (dim, dtype, finite) and lam itself; on any problem the full path
    runs and raises the public error.
    """
    if lam is None:
        lam = 0.0
    elif type(lam) is not float and type(lam) is not int:
        return None
    try:
        return pool.compiled_pool().route_one(x, lam)  # type: ignore[no-any-return]
    except (ValueError, TypeError):
        return None


class UniRouter(RouterFileMixin):
    """Route prompts to the cheapest LLM expected to answer them well.

    Parameters
    ----------
    n_clusters : int
        K, the number of K-means clusters of the training prompts.
    random_state : int, numpy Generator or None
        Seed of the K-means fit.
    encoder : str, encoder object or None
        The prompt encoder (or its name) that made the embeddings. Its name, and its
        dimension once known, are recorded with the router; text or embeddings declared
        to come from another encoder are refused. An encoder object is also what
        :meth:`route_text` uses (with only a name, the default encoder is used when the
        name is :data:`uniroute.encoders.DEFAULT_NAME`).
    shrinkage : float
        Strength, in probe prompts, of the pull of each cluster error toward the model's
        overall error (see :mod:`uniroute.features`). :meth:`tune_shrinkage` chooses it
        from LLMs you hold more labels for (better with few probes; see the README).
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

    # issue 13 hook: writes of _state go through the safe option (reads stay plain)
    _state = _probe_settings.PoolSlot()
    selection_grid: tuple[int, ...] = (3, 5, 10, 15, 20, 30, 50, 75, 100, 150, 200, 300)

    def __init__(self, n_clusters: int | str = 8, *, random_state: RandomState = None,
                 encoder: Any = None, shrinkage: float | str = 1.0, n_init: int = 3,
                 max_iter: int = 100, tol: float = 1e-4,
                 probe_temperature: float | str | None = None,
                 safe_level: float | str | None = None) -> None:
        self._n_clusters = n_clusters
        self.probe_temperature = probe_temperature  # issue 13: soft probes (None = hard)
        self.safe_level = safe_level  # issue 13: the safe option (None = off)
        self.random_state = random_state
        self.encoder = encoder
        self.shrinkage = shrinkage
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self._encoder_name, self._encoder_dim = _encoder_identity(encoder)
        self._text_encoder: Any = None if isinstance(encoder, str) else encoder
        self._write_lock = threading.RLock()
        self._state: PoolSnapshot | None = None

    # ------------------------------------------------------------------ fitting
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
        X, _ = as_embeddings(train_embeddings, "train_embeddings", self._encoder_dim)
        self.shrinkage_: float | None = None  # a tuned strength belongs to the old clusters
        # issue 13 hook: resolve "auto" settings from the training LLMs' labels
        K, centroids = _probe_settings.resolve(self, X, train_correct, val_embeddings,
                                               val_correct, cost)
        if centroids is None:  # (with a selection: the clusters it scored)
            km = KMeans(K, n_init=self.n_init,
                        max_iter=self.max_iter, tol=self.tol, random_state=self.random_state)
            try:
                km.fit(X)
            except ValueError as exc:
                raise ValueError(str(exc).replace("X ", "train_embeddings ", 1)) from exc
            centroids = km.cluster_centers_
        if self._encoder_name is not None:
            self._encoder_dim = int(X.shape[1])
        self._set_centroids(centroids)
        return self

    def _set_centroids(self, centroids: np.ndarray) -> None:
        with self._write_lock:
            version = 0 if self._state is None else self._state.version + 1
            self._state = PoolSnapshot(np.ascontiguousarray(centroids, dtype=np.float32),
                                       version=version)

    # ------------------------------------------------------------------ the pool
    def add_model(self, name: str, cost: float, embeddings: Any, correct: Any,
                  *, encoder: str | None = None, probe_cost: Any = None) -> UniRouter:
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
        with self._write_lock:
            pool = self._fitted()
            if name in pool.names:
                raise ValueError(f"a model named {name!r} is already in the pool; remove it first")
            rows = self._probe_stats(pool, embeddings, correct, name, probe_cost)
            self._state = pool.with_model(name, cost, **rows)
        return self

    def remove_model(self, name: str) -> UniRouter:
        """Remove a model from the pool."""
        with self._write_lock:
            pool = self._fitted()
            self._state = pool.without_model(pool.index_of(name))
        return self

    def update_model(self, name: str, cost: float | None = None, embeddings: Any = None,
                     correct: Any = None, *, encoder: str | None = None,
                     probe_cost: Any = None) -> UniRouter:
        """Change a model's price and/or replace its probe answers, keeping its place.

        ``embeddings`` and ``correct`` (and ``probe_cost``, as in :meth:`add_model`) come
        together and replace the model's probe statistics; ``cost`` alone reprices it.
        """
        self._check_encoder(encoder)
        if (embeddings is None) != (correct is None):
            raise ValueError("embeddings and correct must be given together")
        cost = None if cost is None else as_cost(cost)
        with self._write_lock:
            pool = self._fitted()
            i = pool.index_of(name)
            if embeddings is None:
                self._state = pool.with_row(i, cost=cost)
            else:
                rows = self._probe_stats(pool, embeddings, correct, name, probe_cost)
                self._state = pool.with_row(i, cost=cost, **rows)
        return self

    def observe(self, name: str, embeddings: Any, correct: Any, *,
                encoder: str | None = None, probe_cost: Any = None) -> UniRouter:
        """Fold production feedback into a model's per-cluster counts (incremental).

        ``embeddings`` ``(n, dim)`` of prompts the model answered and ``correct`` ``(n,)``
        their labels (NaN ignored) are added to its probe statistics; its cluster
        error is recomputed with the same shrinkage rule. ``probe_cost`` (optional, the
        realised cost of each answer) is folded into its expected cost per cluster.
        """
        self._check_encoder(encoder)
        with self._write_lock:
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
        value = getattr(self, "shrinkage_", None)
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

        Parameters
        ----------
        probe_embeddings : (n_probe, dim) the probe prompts (the ones new LLMs answer)
        probe_correct : (n_probe, M_labelled) those LLMs' correctness on them (NaN = missing)
        heldout_embeddings : (n_heldout, dim) other prompts
        heldout_correct : (n_heldout, M_labelled) the same LLMs on those

        Returns
        -------
        dict : ``{strength: mean held-out log-likelihood}`` for every candidate.
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
        best, scores = choose_shrinkage(self._assign(pool, P, "probe_embeddings")[0], Yp,
                                        self._assign(pool, H, "heldout_embeddings")[0], Yh,
                                        pool.n_clusters, grid=grid)
        with self._write_lock:
            self.shrinkage_ = float(best)
            pool = self._fitted()
            if pool.n_models:
                self._state = pool._evolve(cluster_error=shrunk_cluster_error(
                    pool.error_sum, pool.probe_count, self.shrinkage_))
        return scores

    def _probe_stats(self, pool: PoolSnapshot, embeddings: Any, correct: Any, name: str,
                     probe_cost: Any = None,
                     allow_unlabelled: bool = False) -> dict[str, np.ndarray]:
        X, _ = as_embeddings(embeddings, "embeddings", pool.centroids.shape[1])
        correct = as_correct(correct, "correct", X.shape[0])
        if not allow_unlabelled and np.isnan(correct).all():
            raise ValueError(f"correct has no answered probe for model {name!r} "
                             "(all NaN or empty); cannot estimate its error")
        labels = self._assign(pool, X, "embeddings")[0]
        # issue 13 hook: hard or soft probe statistics
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

    # ------------------------------------------------------------------ routing
    def assign(self, embeddings: Any) -> np.ndarray | int:
        """Nearest cluster of each prompt: int64 ``(n,)``, or an int for one prompt."""
        pool = self._fitted()
        X, single = as_embeddings(embeddings, "embeddings", self.embedding_dim)
        labels = self._assign(pool, X, "embeddings")[0]
        return int(labels[0]) if single else labels

    def predict_error(self, embeddings: Any, *, encoder: str | None = None) -> np.ndarray:
        """Predicted error ``gamma(x, h_m) = Psi[m, k(x)]``: ``(n, M)``, or ``(M,)`` for one."""
        pool = self._pool()
        self._check_encoder(encoder)
        X, single = as_embeddings(embeddings, "embeddings", self.embedding_dim)
        err = pool.cluster_error.T[self._assign(pool, X, "embeddings")[0]]
        return err[0] if single else err

    def route_indices(self, embeddings: Any, lam: float | None = None, *,
                      encoder: str | None = None, allowed: Any = None, max_cost: Any = None,
                      strict: bool = False, budget: Calibration | None = None
                      ) -> np.ndarray | int:
        """Pool index of the chosen model per prompt: int64 ``(n,)``, or an int for one.

        The choice is ``argmin_m Psi[m, k(x)] + lam * cost[m]`` over the feasible
        models; ties go to the cheaper model, then to the earlier-added one. The indices
        refer to the pool at the instant of the call (use :meth:`route` for names while
        the pool changes). See :meth:`route` for the arguments.
        """
        pool = self._pool()
        if (type(embeddings) is np.ndarray and embeddings.ndim == 1 and encoder is None
                and allowed is None and max_cost is None and budget is None):
            fast = _route_one(pool, embeddings, lam)
            if fast is not None:
                return fast
        idx, single, _ = self._decide(pool, embeddings, lam, encoder, allowed, max_cost,
                                      strict, budget)
        return int(idx[0]) if single else idx

    def route(self, embeddings: Any, lam: float | None = None, *, encoder: str | None = None,
              allowed: Any = None, max_cost: Any = None, strict: bool = False,
              budget: Calibration | None = None) -> np.ndarray | str:
        """Name of the chosen model per prompt: ``(n,)`` str array, or a str for one.

        Parameters
        ----------
        embeddings : (n, dim) or (dim,) array
        lam : float, default 0
            Cost weight: 0 picks the most accurate predicted model, larger values
            cheaper ones. Not with ``budget``.
        encoder : str, optional
            Name of the encoder of ``embeddings`` (checked against the router's).
        allowed : model names, bool ``(M,)`` or bool ``(n, M)``, optional
            Models available to the request(s) (see :mod:`uniroute.constraints`).
        max_cost : float or ``(n,)`` array, optional
            Per-request price cap: models costing more are excluded.
        strict : bool
            Raise :class:`~uniroute.exceptions.NoFeasibleModelError` instead of falling
            back to the cheapest allowed model when nothing is feasible.
        budget : Calibration, optional
            The result of :meth:`calibrate`: route with its (possibly mixed) lam.
        """
        pool = self._pool()
        if (type(embeddings) is np.ndarray and embeddings.ndim == 1 and encoder is None
                and allowed is None and max_cost is None and budget is None):
            fast = _route_one(pool, embeddings, lam)
            if fast is not None:
                return pool.names[fast]
        idx, single, _ = self._decide(pool, embeddings, lam, encoder, allowed, max_cost,
                                      strict, budget)
        names = np.asarray(pool.names)
        return str(names[idx[0]]) if single else names[idx]

    def route_text(self, prompts: Any, lam: float | None = None, *, encoder: Any = None,
                   **constraints: Any) -> np.ndarray | str:
        """Encode raw prompt text and route it, in one call.

        ``prompts`` is a str or a sequence of str; ``encoder`` an encoder object (default:
        the router's, see the class docstring). Other arguments as in :meth:`route`.
        """
        X, single = self._encode(prompts, encoder)
        out = self.route(X, lam, **constraints)
        return str(out[0]) if single else out

    def explain(self, x_or_text: Any, lam: float | None = None, *, encoder: Any = None,
                allowed: Any = None, max_cost: Any = None, strict: bool = False,
                budget: Calibration | None = None) -> Explanation | list[Explanation]:
        """Explain the routing of prompts given as embeddings or as text.

        Returns one :class:`~uniroute.explain.Explanation` for one prompt (a str or a
        ``(dim,)`` array), a list of them for a batch. The decision is the one
        :meth:`route` makes with the same arguments.
        """
        pool = self._pool()
        if isinstance(x_or_text, str) or (isinstance(x_or_text, (list, tuple)) and x_or_text
                                          and isinstance(x_or_text[0], str)):
            X, single = self._encode(x_or_text, encoder)
        else:
            X, single = x_or_text, False
        name = encoder if isinstance(encoder, str) and X is x_or_text else None
        idx, single_x, extra = self._decide(pool, X, lam, name, allowed, max_cost, strict,
                                            budget)
        labels, sqdist, lams, feasible = extra
        rows = explain_rows(pool.names, pool.cluster_error, pool.cost, labels, sqdist, lams,
                            feasible, idx)
        return rows[0] if (single or single_x) else rows

    def calibrate(self, embeddings: Any, *, target_cost: float | None = None,
                  target_quality: float | None = None,
                  target_share: tuple[str, float] | None = None,
                  encoder: str | None = None) -> Calibration:
        """Choose lam on a sample of unlabelled traffic so that a target is met exactly.

        Give exactly one target: the average cost per prompt, the predicted quality
        (1 - average predicted error), or one model's share ``(name, fraction)``. The
        breakpoints of the exact lam-path are walked (no search); a target inside a step
        mixes the two bracketing decisions (see :mod:`uniroute.calibration`). Pass the
        result to ``route(..., budget=...)``. For a share, the smallest lam (highest
        quality) that meets it is taken. A target out of reach gives the closest decision
        with ``exact=False``.
        """
        given = [t is not None for t in (target_cost, target_quality, target_share)]
        if sum(given) != 1:
            raise ValueError("give exactly one of target_cost, target_quality, target_share")
        pool = self._pool()
        self._check_encoder(encoder)
        X, _ = as_embeddings(embeddings, "embeddings", self.embedding_dim)
        if X.shape[0] == 0:
            raise ValueError("embeddings is empty; calibration needs a sample of prompts")
        labels = self._assign(pool, X, "embeddings")[0]
        spend = pool.expected_cost(self._strength)
        if target_share is not None:
            if not (isinstance(target_share, tuple) and len(target_share) == 2):
                raise TypeError("target_share must be a tuple (model name, fraction)")
            model, frac = target_share
            frac = as_cost(frac, "target_share fraction")
            if frac > 1.0:
                raise ValueError(f"target_share fraction must lie in [0, 1], got {frac}")
            return solve(pool, labels, "share", frac, spend, pool.index_of(model))
        if target_cost is not None:
            return solve(pool, labels, "cost", as_cost(target_cost, "target_cost"), spend)
        quality = as_cost(target_quality, "target_quality")
        if quality > 1.0:
            raise ValueError(f"target_quality must lie in [0, 1], got {quality}")
        return solve(pool, labels, "quality", quality, spend)

    def route_path(self) -> RoutePath:
        """The exact lam-path per cluster (the lower convex hull of (cost, Psi[:, k]))."""
        pool = self._pool()
        return RoutePath(*_core.route_path(pool.cluster_error, pool.cost))

    # ------------------------------------------------------------------ issue 13 hook
    def _archive(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        arrays, fields = super()._archive()
        settings = _probe_settings.file_fields(self)
        if settings:
            fields["probe_settings"] = settings
        return arrays, fields

    def _restore_extra(self, arrays: dict[str, np.ndarray], meta: dict[str, Any],
                       where: str) -> None:
        _probe_settings.restore(self, meta, where)

    # ------------------------------------------------------------------ internals
    def _decide(self, pool: PoolSnapshot, embeddings: Any, lam: float | None,
                encoder: str | None, allowed: Any, max_cost: Any, strict: bool,
                budget: Calibration | None) -> tuple[np.ndarray, bool, tuple[Any, ...]]:
        """Route on one snapshot; returns indices, whether one prompt, explain details."""
        self._check_encoder(encoder)
        if budget is not None and lam is not None:
            raise ValueError("pass lam or budget, not both")
        X, single = as_embeddings(embeddings, "embeddings", self.embedding_dim)
        n = X.shape[0]
        labels, sqdist = self._assign(pool, X, "embeddings")
        allow = allowed_mask(pool, allowed, n)
        cap = cap_mask(pool, max_cost, n)
        if budget is None:
            lam_v = as_lam(0.0 if lam is None else lam)
            idx = route_constrained(pool, labels, lam_v, allow, cap, strict)
            lams = np.full(n, lam_v)
        else:
            if not isinstance(budget, Calibration):
                raise TypeError("budget must be a Calibration from calibrate()")
            budget.check_pool(pool)
            idx = route_constrained(pool, labels, budget.lam_low, allow, cap, strict)
            lams = np.full(n, budget.lam_low)
            if budget.weight > 0.0:
                high = mix_uniform(X) < budget.weight
                idx = np.where(high, route_constrained(pool, labels, budget.lam_high, allow,
                                                       cap, strict), idx)
                lams[high] = budget.lam_high
        feasible = np.ones((n, pool.n_models), dtype=bool)
        for mask in (allow, cap):
            if mask is not None:
                feasible &= mask
        return idx, single, (labels, sqdist, lams, feasible)

    def _encode(self, prompts: Any, encoder: Any) -> tuple[np.ndarray, bool]:
        texts, single = as_texts(prompts)
        enc = self._resolve_encoder(encoder)
        return enc.encode(texts), single

    def _resolve_encoder(self, encoder: Any) -> Any:
        self._fitted()
        if self._encoder_name is None:
            raise ValueError("this router has no recorded encoder, so text cannot be routed; "
                             "construct it with UniRouter(encoder=...) and fit it on that "
                             "encoder's embeddings")
        enc = encoder if encoder is not None else self._text_encoder
        if enc is None:
            if self._encoder_name != DEFAULT_NAME:
                raise ValueError(f"pass encoder=: the router was fitted with encoder "
                                 f"{self._encoder_name!r}, which is not the default")
            from uniroute.encoders import default

            enc = self._text_encoder = default()
        if getattr(enc, "name", None) != self._encoder_name:
            raise ValueError(f"encoder {getattr(enc, 'name', None)!r} is not the router's "
                             f"encoder {self._encoder_name!r}; refit the router for it")
        if int(getattr(enc, "dim", -1)) != self.embedding_dim:
            raise ValueError(f"encoder {enc.name!r} has dim {getattr(enc, 'dim', None)}, the "
                             f"router was fitted with dim {self.embedding_dim}")
        return enc

    @staticmethod
    def _assign(pool: PoolSnapshot, X: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
        try:
            return pool.compiled_index().assign(X)
        except ValueError as exc:
            raise ValueError(str(exc).replace("X ", f"{name} ", 1)) from None

    def _fitted(self) -> PoolSnapshot:
        pool = self._state
        if pool is None:
            raise NotFittedError("this UniRouter is not fitted yet; call fit(train_embeddings)")
        return pool

    def _pool(self) -> PoolSnapshot:
        pool = self._fitted()
        if not pool.names:
            raise EmptyPoolError("the pool is empty; add a model with add_model() first")
        return pool

    def _check_encoder(self, encoder: str | None) -> None:
        if encoder is not None and self._encoder_name is not None and encoder != self._encoder_name:
            raise ValueError(f"embeddings come from encoder {encoder!r}, but the router was "
                             f"fitted with encoder {self._encoder_name!r}")

    # ------------------------------------------------------------------ properties
    @property
    def models(self) -> list[str]:
        """Names of the models in the pool, in the order they were added."""
        return [] if self._state is None else list(self._state.names)

    @property
    def costs(self) -> np.ndarray:
        """Price per query of each model: float64 ``(M,)`` (a copy)."""
        return np.zeros(0) if self._state is None else self._state.cost.copy()

    @property
    def n_clusters(self) -> int:
        """K: the number of clusters (the parameter, before ``fit``; "auto" reads 0)."""
        if self._state is None:  # issue 13: "auto" before fit
            return 0 if isinstance(self._n_clusters, str) else int(self._n_clusters)
        return self._state.n_clusters

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
        return (f"UniRouter(n_clusters={self.n_clusters}, {state}, "
                f"models={0 if pool is None else pool.n_models}, "
                f"encoder={self._encoder_name!r})")
