"""The safe option's level rule: the least level that keeps the option's promise.

The safe option (:func:`uniroute.features.safe_cluster_error`) promises a deferral curve
that reaches the best single LLM's quality. The probe-aware selection
(:func:`uniroute.tuning.select_hyperparameters`) plays probe draws out on the training
LLMs; here, for one draw, whether a route *reaches* (:func:`reaches`), and over the
draws, which level to use (:func:`safe_level_key`): the least level whose curve reached
the pool's best LLM in at least :data:`SAFE_REACH_RATE` of the draws, else the largest.
"""
from __future__ import annotations

import numpy as np

from uniroute._deferral import totals_from_sums

Key = tuple[int, float | None, float, float | None]  # (K, T multiple, strength, level)

#: the promise, in the selection's draws: the least level reaching the pool's best
#: single LLM in at least this share of the draws is chosen
SAFE_REACH_RATE = 0.95
#: "reaches": the curve's best quality is at least the best LLM's minus this (the
#: value of ``uniroute.evaluation.metrics.REACH_TOL``; float noise only)
REACH_TOL = 1e-9


def mean_filled(Q: np.ndarray) -> np.ndarray:
    """Held-out quality ``(n, M)`` with a missing label (NaN) counted as the LLM's mean
    over the other rows (0 if it has none): how the selection scores held-out prompts."""
    miss = np.isnan(Q)
    if not miss.any():
        return Q
    mean = np.where(miss, 0.0, Q).sum(0) / np.maximum((~miss).sum(0), 1)
    return np.where(miss, mean, Q)


def curve_peak(sum_q: np.ndarray, size: np.ndarray, cluster_error: np.ndarray,
               cost: np.ndarray) -> float:
    """Best mean quality on the deferral curve of :func:`uniroute._deferral.cluster_area`.

    Parameters
    ----------
    sum_q : (K, M) float64
        Per cluster and LLM, the quality sum over the scored prompts.
    size : (K,) float64
        Scored prompts per cluster.
    cluster_error : (M, K) float64
        The router's Psi.
    cost : (M,) float64
        The LLMs' costs (the routing cost).

    Returns
    -------
    float
        The highest mean quality among the lam-path's points and "all prompts to the
        cheapest LLM" (the curve's points; the segments joining them add none higher).
    """
    n = float(size.sum())
    q, _, _ = totals_from_sums(sum_q, size[:, None] * cost[None, :], size, cluster_error,
                               cost)
    cheapest = float(sum_q[:, int(np.argmin(cost))].sum())
    return max(float(q.max()), cheapest) / n


def reaches(sum_q: np.ndarray, size: np.ndarray, cluster_error: np.ndarray,
            cost: np.ndarray) -> bool:
    """Whether the route's curve reaches the best single LLM's mean quality on the same
    prompts (within :data:`REACH_TOL`); arguments as :func:`curve_peak`."""
    best = float(sum_q.sum(axis=0).max()) / float(size.sum())
    return curve_peak(sum_q, size, cluster_error, cost) >= best - REACH_TOL


def least_level(reach: dict[float, float], rate: float = SAFE_REACH_RATE) -> float:
    """The least level whose reach rate is at least ``rate``; if none, the largest.

    Parameters
    ----------
    reach : dict
        Levels to their reach rates (the share of the draws whose curve reached the
        pool's best LLM); not empty.
    rate : float
        The promise, in (0, 1].
    """
    if not 0.0 < rate <= 1.0:
        raise ValueError(f"rate must lie in (0, 1], got {rate}")
    levels = sorted(reach)
    if not levels:
        raise ValueError("reach holds no safe level: the selection scored none "
                         "(pass safe_levels)")
    return next((z for z in levels if reach[z] >= rate), levels[-1])


def safe_level_key(reach: dict[Key, float], rate: float = SAFE_REACH_RATE) -> Key:
    """The safe key of the least level whose reach rate is at least ``rate``.

    Parameters
    ----------
    reach : dict
        Safe keys ``(K, temperature multiple, strength, level)``, all of one K, probe
        estimator and strength, to their reach rates (the share of the draws whose curve
        reached the pool's best LLM, :attr:`uniroute.tuning.Selection.reach`).
    rate : float
        The promise, in (0, 1].

    Returns
    -------
    Key
        The key of the least level with ``reach >= rate``; if no level has it, the key
        of the largest level (:func:`least_level`).
    """
    keys = {float(k[3]): k for k in reach if k[3] is not None}
    if len({k[:3] for k in keys.values()}) > 1:
        raise ValueError("reach must hold the levels of one K, estimator and strength")
    return keys[least_level({z: reach[k] for z, k in keys.items()}, rate)]
