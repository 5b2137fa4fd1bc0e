"""The safe option's level for a soft map, chosen on the soft route itself.

The probe-aware selection (:mod:`uniroute.tuning`) chooses the safe option's level on
the hard-cluster route: the least level whose curve reached the simulated pool's best
LLM in at least :data:`~uniroute._safe_level.SAFE_REACH_RATE` of its draws. A learned
map routes a prompt by ``Phi(x) . Psi`` over every cluster, so the raised cluster errors
of the option do not act on it one cluster at a time, and a level that keeps the hard
route's promise may not keep the soft route's. :func:`soft_safe_levels` plays the same
draws out on the fitted map's own route: each draw's probe answers give the pooled
training LLMs' ``Psi`` (the router's probe estimator and strength, then the option at
each level), the map routes the draw's held-out prompts by ``Phi(x) . Psi`` over the
exact lambda-path, and the draw counts as *reached* when that curve rises to the pooled
best single LLM's quality on the same prompts. Training LLMs only: no test label.

The map was fitted on the train prompts, so on the held-out train prompts its ``Phi``
is in-sample; what the draws vary is the probe noise in ``Psi``, which is what the
option's level answers for.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from uniroute import _core, _probe_settings
from uniroute._safe_level import REACH_TOL, curve_peak, mean_filled
from uniroute.features import safe_cluster_error, shrunk_cluster_error


def soft_route_peaks(router: Any, embeddings: np.ndarray, correct: np.ndarray,
                     cost: np.ndarray, draws: list[Any],
                     levels: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Per draw and level, the best mean quality on a fitted map's own curve.

    Parameters
    ----------
    router : LearnedMapRouter
        Fitted (clusters, map, probe estimator and strength in use).
    embeddings : (n_all, dim)
        The prompts the draws index (the selection's train prompts, then its
        validation prompts).
    correct : (n_all, M) float64
        The training LLMs' correctness on them (NaN = missing: the LLM's mean on the
        draw's held-out prompts, as the selection scores).
    cost : (M,) float64
        The training LLMs' routing costs.
    draws : list of ``(probes, held-out prompts, pool)`` index arrays
        The selection's safe-level draws (:attr:`uniroute.tuning.Selection.draws`).
    levels : the z levels to score.

    Returns
    -------
    peaks : (n_draws, n_levels) float64
        The highest mean quality on the held-out prompts among the curve's points (the
        exact lambda-path of ``argmin_m Phi(x) . Psi_m + lam * cost_m``, and all prompts
        to the cheapest LLM), ``Psi`` from the draw's probes with the option at the level.
    best : (n_draws,) float64
        The pooled best single LLM's mean quality on the same prompts.
    """
    if not draws:
        raise ValueError("draws is empty: the selection kept no safe-level draws")
    pool = router._mapped()
    C = np.asarray(pool.centroids, np.float32)
    A = np.ascontiguousarray(embeddings, dtype=np.float32)
    labels = _core.assign(A, C)[0].astype(np.int64)
    phi = pool.compiled().soft_assign(A)  # Phi(x), (n_all, K) float32
    strength = router._strength
    peaks = np.empty((len(draws), len(levels)))
    best = np.empty(len(draws))
    for i, (probes, held, members) in enumerate(draws):
        Yp = correct[np.ix_(probes, members)]
        stats = _probe_settings.probe_stats(router, C, A[probes], labels[probes], Yp)
        psi = shrunk_cluster_error(*stats, strength)
        Q = mean_filled(correct[np.ix_(held, members)])
        size = np.ones(held.size)
        cp = cost[members]
        best[i] = Q.mean(0).max()
        phi_held = phi[held].astype(np.float64)
        for j, z in enumerate(levels):
            p = safe_cluster_error(psi, *stats, cp, float(z))
            error = np.ascontiguousarray((phi_held @ p.T).T)  # (M, n_held): each prompt
            peaks[i, j] = curve_peak(Q, size, error, cp)      # its own "cluster"
    return peaks, best


def soft_safe_levels(router: Any, embeddings: np.ndarray, correct: np.ndarray,
                     cost: np.ndarray, draws: list[Any],
                     levels: tuple[float, ...]) -> dict[float, float]:
    """Reach rate of each safe level on a fitted map's own route, over ``draws``.

    Arguments as :func:`soft_route_peaks`. Returns each level to the share of the draws
    whose curve reached the pooled best single LLM's quality (within
    :data:`~uniroute._safe_level.REACH_TOL`).
    """
    peaks, best = soft_route_peaks(router, embeddings, correct, cost, draws, levels)
    hit = peaks >= best[:, None] - REACH_TOL
    return {z: float(hit[:, j].mean()) for j, z in enumerate(levels)}
