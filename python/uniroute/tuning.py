"""Probe-aware selection of UniRoute's hyperparameters, from the training LLMs only.

A new LLM's features ``Psi`` come from its answers to the N_val probe prompts, so the
settings that matter for it -- K (clusters), the shrinkage strength, the soft-probe
temperature and the safe option's level -- should be chosen where that probe noise is
visible. :func:`select_hyperparameters` plays the new-LLM situation out on the LLMs we
hold many labels for (the training LLMs):

1. K-means is fitted on the train prompts for every candidate K (as Appendix F.1 does).
2. ``repeats`` times: draw ``n_probes`` prompts (default N_val, the size of the real
   probe set) from the prompts the training LLMs answered (train and validation), and a
   pool of ``pool_size`` training LLMs (default all; the evaluation uses the size of its
   test pool). Each pooled LLM's ``Psi`` is estimated from its answers to those probes
   only, with every candidate estimator (hard or soft probes, each shrinkage strength,
   with or without the safe option at each level).
3. Each estimate routes the pool on the held-out prompts (those not drawn as probes, at
   most ``max_heldout``), and is scored by the Area of that exact deferral curve
   (:func:`uniroute._deferral.cluster_area`; the LLMs' routing costs as their costs).
4. The candidate with the best mean score over the repeats wins (the same draws for
   every candidate, so the comparison is paired); ties go to the smaller K, hard probes,
   the smaller strength.
5. The safe option's level is chosen for the option's own promise, not by Area: at the
   winning K, probe estimator and strength, each candidate level z routes the pool in
   ``safe_repeats`` draws (the ``repeats`` above and more, default 40), and the draw
   counts as *reached* when the route's deferral curve (the one step 3 scores) rises to
   the quality of the pool's best single LLM on that draw's held-out prompts. The least
   level reached in at least :data:`SAFE_REACH_RATE` (95%) of the draws wins; if none
   is, the largest level scored.

No test LLM and no test prompt is used. Appendix F.1 (the paper's rule, kept as
:func:`uniroute.select_n_clusters`) instead estimates the training LLMs' ``Psi`` on the
1,700+ train prompts, where its standard error is several times smaller than on the
probes, so it cannot see the variance that grows with K.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from uniroute import _core
from uniroute._deferral import cluster_area
from uniroute._learned_map_fit import auto_temperature, softmax
from uniroute._safe_level import SAFE_REACH_RATE as SAFE_REACH_RATE  # re-exported
from uniroute._safe_level import Key, mean_filled, reaches, safe_level_key
from uniroute._validation import as_correct_matrix, as_embeddings, as_float_matrix
from uniroute.clustering import KMeans, RandomState, variance_scale
from uniroute.features import (
    probe_statistics,
    safe_cluster_error,
    shrunk_cluster_error,
    soft_probe_statistics,
)

DEFAULT_GRID = (3, 5, 10, 15, 20, 30, 50, 75, 100, 150, 200, 300)
#: soft-probe temperatures as multiples of the auto temperature; None = hard probes
DEFAULT_TEMPERATURES: tuple[float | None, ...] = (None, 4.0)
#: shrinkage strengths scored (in probe prompts)
DEFAULT_SHRINKAGE_GRID = (0.0, 1.0, 3.0, 10.0, 30.0, 100.0)
#: z thresholds of the safe option's per-cluster test (see features.safe_cluster_error)
DEFAULT_SAFE_LEVELS = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0)
#: simulated probe draws of the safe-level step (the first ``repeats`` are the main ones)
DEFAULT_SAFE_REPEATS = 40



@dataclass(frozen=True)
class Choice:
    """One setting: what a router uses (``probe_temperature`` absolute, None = hard)."""

    n_clusters: int
    shrinkage: float
    probe_temperature: float | None
    safe_level: float | None
    score: float
    #: share of the safe-level draws whose curve reached the pool's best LLM (safe only)
    reach: float | None = None


@dataclass(frozen=True)
class Selection:
    """Result of :func:`select_hyperparameters`.

    Attributes
    ----------
    scores : dict
        ``(K, temperature multiple or None, strength, safe level or None)`` to the mean
        held-out Area: over the ``repeats`` draws without the safe option, over the
        ``safe_repeats`` draws with it.
    temperature : dict
        K to its auto temperature.
    centroids : dict
        K to the selection's own K-means fit.
    n_probes, pool_size, repeats : int
        The simulated probe-set size, pool size and draws of the main step.
    reach : dict
        Each scored safe key to the share of the ``safe_repeats`` draws in which its
        curve reached the pool's best single LLM on the held-out prompts (empty: no
        safe level scored).
    safe_repeats : int
        Draws of the safe-level step (0: none).
    draws : list
        The safe-level step's draws ``(probes, held-out prompts, pool)``, indices into
        the train prompts followed by the validation prompts and into the training LLMs
        (empty: no safe level scored); a learned map replays them on its own route
        (:func:`uniroute._soft_safe.soft_safe_levels`).
    """

    scores: dict[Key, float]
    temperature: dict[int, float]
    centroids: dict[int, np.ndarray] = field(repr=False)
    n_probes: int
    pool_size: int
    repeats: int
    reach: dict[Key, float] = field(default_factory=dict)
    safe_repeats: int = 0
    draws: list[Any] = field(default_factory=list, repr=False)

    def best(self, safe: bool = False) -> Choice:
        """The winning setting without the safe option (best mean Area), or with it.

        Parameters
        ----------
        safe : bool
            False: the key of best mean Area among those without the safe option. True:
            the least scored level whose reach rate is at least :data:`SAFE_REACH_RATE`
            (else the largest level), see :func:`safe_level_key`.

        Returns
        -------
        Choice
        """
        best = safe_level_key(self.reach) if safe else _best_key(self.scores)
        K, mult, strength, level = best
        T = None if mult is None else mult * self.temperature[K]
        return Choice(K, strength, T, level, self.scores[best],
                      self.reach[best] if safe else None)


def _capped(grid: tuple[int, ...] | list[int], n_train: int, n_probes: int) -> list[int]:
    cap = max(1, min(n_train, n_probes))
    kept = sorted({int(g) for g in grid if 1 <= int(g) <= cap})
    return kept or [cap]


def _heldout_sums(Q: np.ndarray, labels: np.ndarray, K: int) -> np.ndarray:
    """Per-cluster quality sums ``(K, M)``; a missing label counts as the LLM's mean."""
    Q = mean_filled(Q)
    out = np.zeros((K, Q.shape[1]))
    np.add.at(out, labels, Q)
    return out


def _soft(D2: np.ndarray, T: float) -> np.ndarray:
    return softmax(-D2 / T)


class _ProbeRows:
    """The prompts that some draw uses as probes, in float64 with their squared norms.

    Soft probes need squared distances only on probe rows, so ``sqdist`` computes them
    there and nowhere else (an ``(n_all, K)`` float64 GEMM per K was most of the
    selection's time at EmbedLLM's shapes): ``sqdist(C)[at[p]]`` is prompt ``p``'s row.
    """

    def __init__(self, A: np.ndarray, draws: list[Any]) -> None:
        rows = np.unique(np.concatenate([probes for probes, _, _ in draws]))
        self.at = np.full(A.shape[0], -1, np.int64)  # prompt -> its row (-1: no probe)
        self.at[rows] = np.arange(rows.size)
        self.A64 = A[rows].astype(np.float64)
        self.sq = (self.A64 * self.A64).sum(1)

    def sqdist(self, C: np.ndarray) -> np.ndarray:
        C64 = C.astype(np.float64)
        return self.sq[:, None] - 2.0 * self.A64 @ C64.T + (C64 * C64).sum(1)


def _best_key(scores: dict[Key, float]) -> Key:
    """The key of best mean Area without the safe option (ties: preference order)."""
    keys = sorted((k for k in scores if k[3] is None), key=_order)
    best = keys[0]
    for k in keys[1:]:  # preference order: strict improvement only
        if scores[k] > scores[best]:
            best = k
    return best


def _order(key: Key) -> tuple[float, ...]:
    K, mult, a, z = key
    return (K, -1.0 if mult is None else mult, a, -1.0 if z is None else z)


def _score(totals: dict[Key, float], K: int, labels: np.ndarray, D2: np.ndarray | None,
           at: np.ndarray | None, T0: float, YA: np.ndarray, c: np.ndarray, draws: list[Any],
           configs: list[float | None], strengths: list[float],
           levels: tuple[float | None, ...], hits: dict[Key, int] | None = None) -> None:
    """Add each candidate's held-out Area per draw to ``totals`` (``D2``, ``at``: the
    probe rows' squared distances and each prompt's row, see :class:`_ProbeRows`); with
    ``hits``, count there the draws whose curve reaches the pool's best LLM."""
    for probes, held, pool in draws:
        sum_q = _heldout_sums(YA[np.ix_(held, pool)], labels[held], K)
        n_k = np.bincount(labels[held], minlength=K).astype(np.float64)
        Yp = YA[np.ix_(probes, pool)]
        cp = c[pool]
        for mult in configs:
            if mult is None:
                stats = probe_statistics(labels[probes], Yp, K)
            else:
                assert D2 is not None and at is not None  # rows: every draw's probes
                stats = soft_probe_statistics(_soft(D2[at[probes]], mult * T0), Yp)
            for a in strengths:
                psi = shrunk_cluster_error(*stats, a)
                for z in levels:
                    p = psi if z is None else safe_cluster_error(psi, *stats, cp, z)
                    key = (K, mult, a, z)
                    totals[key] = totals.get(key, 0.0) + cluster_area(sum_q, n_k, p, cp)
                    if hits is not None:
                        hits[key] = hits.get(key, 0) + int(reaches(sum_q, n_k, p, cp))


def select_hyperparameters(train_embeddings: Any, train_correct: Any, val_embeddings: Any,
                           val_correct: Any, cost: Any = None, *,
                           grid: tuple[int, ...] | list[int] = DEFAULT_GRID,
                           shrinkage_grid: tuple[float, ...] = DEFAULT_SHRINKAGE_GRID,
                           temperatures: tuple[float | None, ...] = DEFAULT_TEMPERATURES,
                           safe_levels: tuple[float, ...] = (),
                           n_probes: int | None = None, pool_size: int | None = None,
                           repeats: int = 6, max_heldout: int = 3000,
                           safe_repeats: int = DEFAULT_SAFE_REPEATS,
                           random_state: RandomState = None, n_init: int = 1,
                           max_iter: int = 100, tol: float = 1e-4) -> Selection:
    """Choose K, shrinkage, soft-probe temperature (and the safe level) probe-aware.

    Parameters
    ----------
    train_embeddings : (n_train, dim)
        Train prompts (K-means is fitted on them).
    train_correct : (n_train, M) correctness of the training LLMs in [0, 1], NaN = missing.
    val_embeddings : (n_val, dim)
        The probe (validation) prompts that new LLMs answer.
    val_correct : (n_val, M) the same LLMs on them.
    cost : (M,) optional
        The training LLMs' prices (routing cost). None: all equal, so the score is the
        quality of the lam = 0 route.
    grid : candidate K (capped by the train prompts and by ``n_probes``).
    shrinkage_grid : candidate strengths (see :mod:`uniroute.features`).
    temperatures : soft-probe temperatures as multiples of LearnedMap's auto temperature
        (:func:`uniroute._learned_map_fit.auto_temperature`); None = hard probes.
    safe_levels : z levels of the safe option to score as well (empty: none); the safe
        choice is the least level reaching the best pooled LLM in at least
        :data:`SAFE_REACH_RATE` of the ``safe_repeats`` draws (module doc, step 5).
    n_probes : probe-set size to simulate (default ``n_val``).
    pool_size : training LLMs per simulated pool (default all).
    repeats, max_heldout : simulated probe draws; held-out prompts scored per draw.
    safe_repeats : draws of the safe-level step (only with ``safe_levels``): the
        ``repeats`` draws (the first ``safe_repeats`` of them if fewer) and then new ones
        from the same seed, so the choice without the safe option does not depend on it.
    random_state, n_init, max_iter, tol : K-means settings of the selection's fits and
        the seed of the draws.

    Examples
    --------
    >>> import numpy as np, uniroute
    >>> rng = np.random.default_rng(0)
    >>> X, Q = rng.standard_normal((400, 4)), (rng.random((400, 3)) < 0.6).astype(float)
    >>> sel = uniroute.select_hyperparameters(X[:300], Q[:300], X[300:], Q[300:],
    ...                                       [1.0, 2.0, 3.0], grid=(2, 4), repeats=2,
    ...                                       random_state=0)
    >>> sel.best().n_clusters in (2, 4)
    True
    """
    X, _ = as_embeddings(train_embeddings, "train_embeddings")
    V, _ = as_embeddings(val_embeddings, "val_embeddings", X.shape[1])
    Y = as_correct_matrix(train_correct, "train_correct", X.shape[0])
    Yv = as_correct_matrix(val_correct, "val_correct", V.shape[0])
    M = Y.shape[1]
    if Yv.shape[1] != M or M < 1:
        raise ValueError(f"train_correct has {M} LLMs and val_correct {Yv.shape[1]}; "
                         "expected the same training LLMs (at least one)")
    c = np.zeros(M) if cost is None else np.asarray(cost, np.float64).reshape(-1)
    if c.shape != (M,) or not (np.isfinite(c).all() and (c >= 0).all()):
        raise ValueError(f"cost must hold {M} finite prices >= 0, got shape {c.shape}")
    A = np.ascontiguousarray(np.vstack([X, V]), dtype=np.float32)
    YA = np.vstack([Y, Yv])
    n_all = A.shape[0]
    n_p = V.shape[0] if n_probes is None else int(n_probes)
    if not 1 <= n_p < n_all:
        raise ValueError(f"n_probes must lie in [1, {n_all - 1}], got {n_p}")
    size = M if pool_size is None else max(1, min(int(pool_size), M))
    if repeats < 1 or not shrinkage_grid:
        raise ValueError("repeats must be >= 1 and shrinkage_grid non-empty")
    if safe_levels and int(safe_repeats) < 1:
        raise ValueError(f"safe_repeats must be >= 1, got {safe_repeats}")
    n_draws = max(int(repeats), int(safe_repeats)) if safe_levels else int(repeats)
    all_draws = _draws(np.random.default_rng(random_state), n_all, n_p, M, size,
                       max_heldout, n_draws)
    draws = all_draws[:int(repeats)]
    mults = sorted({t for t in temperatures if t is not None})
    configs: list[float | None] = ([None] if None in temperatures else []) + list(mults)
    strengths = sorted(float(a) for a in shrinkage_grid)
    totals: dict[Key, float] = {}
    temperature: dict[int, float] = {}
    centroids: dict[int, np.ndarray] = {}
    probe_rows = _ProbeRows(A, draws) if mults else None
    Xc = as_float_matrix(X, "train_embeddings")  # checked and converted once for all K
    scale = variance_scale(Xc)
    for K in _capped(grid, X.shape[0], n_p):
        km = KMeans(K, n_init=n_init, max_iter=max_iter, tol=tol,
                    random_state=random_state)._fit_checked(Xc, scale)
        C = np.asarray(km.cluster_centers_, np.float32)
        centroids[K] = C
        temperature[K] = float(auto_temperature(X, C)) if mults else 1.0
        _score(totals, K, _core.assign(A, C)[0].astype(np.int64),
               probe_rows.sqdist(C) if probe_rows else None,
               probe_rows.at if probe_rows else None, temperature[K], YA, c, draws,
               configs, strengths, (None,))
    scores = {k: v / len(draws) for k, v in totals.items()}
    reach: dict[Key, float] = {}
    n_safe = 0
    if safe_levels:
        n_safe = int(safe_repeats)
        levels = tuple(sorted({float(z) for z in safe_levels}))
        safe_scores, reach = _safe_step(_best_key(scores), A, YA, c, all_draws[:n_safe],
                                        centroids, temperature, levels)
        scores.update(safe_scores)
    return Selection(scores, temperature, centroids, n_p, size, int(repeats), reach, n_safe,
                     all_draws[:n_safe])


def _draws(rng: np.random.Generator, n_all: int, n_p: int, M: int, size: int,
           max_heldout: int, n: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """``n`` simulated draws ``(probes, held-out prompts, pool)``, in this order from
    ``rng`` (the first draws do not depend on ``n``)."""
    draws = []
    for _ in range(n):
        order = rng.permutation(n_all)
        held = np.sort(order[n_p:n_p + max_heldout])
        pool = np.sort(rng.choice(M, size, replace=False))
        draws.append((np.sort(order[:n_p]), held, pool))
    return draws


def _safe_step(best: Key, A: np.ndarray, YA: np.ndarray, c: np.ndarray, draws: list[Any],
               centroids: dict[int, np.ndarray], temperature: dict[int, float],
               levels: tuple[float, ...]) -> tuple[dict[Key, float], dict[Key, float]]:
    """Mean Area and reach rate of each safe level at the winning ``best`` key's K, probe
    estimator and strength, over ``draws``."""
    K, mult, a, _ = best
    C = centroids[K]
    rows = _ProbeRows(A, draws) if mult is not None else None
    totals: dict[Key, float] = {}
    hits: dict[Key, int] = {}
    _score(totals, K, _core.assign(A, C)[0].astype(np.int64),
           rows.sqdist(C) if rows else None, rows.at if rows else None, temperature[K],
           YA, c, draws, [mult], [a], levels, hits)
    n = len(draws)
    return {k: v / n for k, v in totals.items()}, {k: hits[k] / n for k in hits}
