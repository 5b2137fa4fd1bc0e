"""The exact deferral curve of a hard-cluster router and its Area (numpy + the core only).

Shared by the evaluation (:mod:`uniroute.evaluation.decisions`,
:mod:`uniroute.evaluation.metrics`, which re-export these names) and by the probe-aware
selection (:mod:`uniroute.tuning`), which must not import the evaluation package.

The curve: for every ``lam >= 0`` each cluster routes to
``argmin_m cluster_error[m, k] + lam * cost[m]``; the core's lambda-path
(``_core.route_path``) lists every breakpoint, so the curve is exact (no grid). Its
non-dominated points are joined by straight lines, held flat left of the cheapest point
and right of the priciest; Area integrates it over normalised cost ``[0, upper]``.
"""
from __future__ import annotations

import numpy as np

from uniroute import _core


def totals_from_sums(sum_q: np.ndarray, sum_c: np.ndarray, size: np.ndarray,
                     cluster_error: np.ndarray,
                     routing_cost: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Quality sum, cost sum and prompts per LLM at every breakpoint of the lam-path.

    Parameters
    ----------
    sum_q, sum_c : (K, M) float64
        Per cluster and LLM, the sum of quality / realised cost over the scored prompts.
    size : (K,) float64, scored prompts per cluster.
    cluster_error : (M, K) float64, the router's Psi.
    routing_cost : (M,) float64, the cost in the lambda rule.

    Returns
    -------
    ``(quality_sum (P,), cost_sum (P,), count (P, M))``: point 0 at ``lam = 0``, the last
    for ``lam`` beyond the largest breakpoint.
    """
    M, K = cluster_error.shape
    offsets, model, lam_lo, _ = _core.route_path(cluster_error, routing_cost)
    first = model[offsets[:-1]]
    clusters = np.arange(K)
    count0 = np.bincount(first, weights=size, minlength=M)
    seg_cluster = np.repeat(clusters, np.diff(offsets))
    later = np.ones(model.size, dtype=bool)
    later[offsets[:-1]] = False
    ev = np.flatnonzero(later)
    ev = ev[np.argsort(lam_lo[ev], kind="stable")]
    k, new, old = seg_cluster[ev], model[ev], model[ev - 1]
    dq = np.cumsum(sum_q[k, new] - sum_q[k, old])
    dc = np.cumsum(sum_c[k, new] - sum_c[k, old])
    dn = np.zeros((ev.size, M))
    np.add.at(dn, (np.arange(ev.size), new), size[k])
    np.add.at(dn, (np.arange(ev.size), old), -size[k])
    dn = np.cumsum(dn, axis=0)
    # one point per distinct breakpoint: after all switches at that lam
    lam = lam_lo[ev]
    ends = np.flatnonzero(np.append(lam[1:] != lam[:-1], True)) if ev.size else ev
    q0 = sum_q[clusters, first].sum()
    c0 = sum_c[clusters, first].sum()
    return (np.concatenate([[q0], q0 + dq[ends]]), np.concatenate([[c0], c0 + dc[ends]]),
            np.vstack([count0, count0 + dn[ends]]))


def pareto_front(cost: np.ndarray, quality: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Non-dominated points, by increasing cost and strictly increasing quality."""
    cost = np.asarray(cost, dtype=np.float64).ravel()
    quality = np.asarray(quality, dtype=np.float64).ravel()
    if cost.shape != quality.shape or cost.size == 0:
        raise ValueError(f"cost and quality must be non-empty and of one shape, got "
                         f"{cost.shape} and {quality.shape}")
    order = np.lexsort((-quality, cost))
    c, q = cost[order], quality[order]
    best_before = np.maximum.accumulate(np.concatenate([[-np.inf], q[:-1]]))
    keep = q > best_before
    return c[keep], q[keep]


def integrate(x: np.ndarray, y: np.ndarray, lo: float, hi: float) -> float:
    """Integral over [lo, hi] of the piecewise-linear interpolant of (x, y), flat outside."""
    if hi <= lo:
        return 0.0
    knots = np.unique(np.concatenate([[lo, hi], x[(x > lo) & (x < hi)]]))
    values = np.interp(knots, x, y)
    return float(np.sum((values[1:] + values[:-1]) * np.diff(knots)) / 2.0)


def area(cost: np.ndarray, quality: np.ndarray, upper: float = 1.0) -> float:
    """Area under the deferral curve over normalised cost ``[0, upper]``."""
    c, q = pareto_front(cost, quality)
    return integrate(c, q, 0.0, upper)


def cluster_area(sum_q: np.ndarray, size: np.ndarray, cluster_error: np.ndarray,
                 cost: np.ndarray) -> float:
    """Area of a hard-cluster router scored with a constant cost per LLM.

    ``sum_q (K, M)`` and ``size (K,)`` summarise the scored prompts; ``cost (M,)`` is both
    the routing cost and the realised cost; cost is normalised by the priciest LLM and
    the curve includes "all prompts to the cheapest LLM" (as the evaluation's scorer).
    """
    n = float(size.sum())
    sum_c = size[:, None] * cost[None, :]
    q, c, _ = totals_from_sums(sum_q, sum_c, size, cluster_error, cost)
    top = float(cost.max())
    norm = top if top > 0 else 1.0
    a = int(np.argmin(cost))
    return area(np.append(c / n, cost[a]) / norm, np.append(q / n, sum_q[:, a].sum() / n))
