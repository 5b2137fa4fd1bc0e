"""Deferral-curve metrics: Area, Area(50%), QNC, peak (the paper) and AIQ, APGR, CPT (peers').

A method's operating points are ``(cost, quality)`` pairs on the test prompts, cost
normalised by the priciest test LLM (its mean test cost is 1). Choices the paper leaves
open, made here and applied to every method alike:

- **The curve** is the method's non-dominated points (no other point is as cheap and
  better) joined by straight lines -- a straight segment is what mixing two decisions at
  random achieves. It is held flat left of its cheapest point and right of its priciest.
- **Area** integrates that curve over normalised cost ``[0, 1]``; **Area(50%)** over
  ``[0, 0.5]``, not renormalised (so it is about half of Area).
- **QNC** is the least normalised cost at which the curve reaches the best test LLM's
  quality, read on the achievable part of the curve (from its cheapest point on; the
  flat extension to the left counts for Area only); ``None`` when never reached.
- **Peak** is the highest quality of any operating point.
- **AIQ** (RouterBench) integrates the non-decreasing upper convex hull of the points
  from the cheapest point to 1 (zero to its left, flat to its right). RouterBench
  normalises cost by the largest cost among the routers compared; here by the priciest
  test LLM, as for Area.
- **APGR / CPT** (RouteLLM, two-model pools): performance gap recovered
  ``PGR = (q - q_weak) / (q_strong - q_weak)`` against the share of calls to the strong
  model; APGR is its area over shares ``[0, 1]``, CPT(x) the least share reaching PGR = x.
  The all-weak (0, 0) and all-strong (1, 1) points are always available.
"""
from __future__ import annotations

import numpy as np

from uniroute._deferral import area, pareto_front
from uniroute._deferral import integrate as _integrate

__all__ = ["aiq", "apgr", "area", "cpt", "pareto_front", "peak", "qnc", "upper_hull"]

REACH_TOL = 1e-9


def qnc(cost: np.ndarray, quality: np.ndarray, target: float) -> float | None:
    """Least normalised cost at which the curve reaches ``target`` quality; None if never."""
    c, q = pareto_front(cost, quality)
    hit = np.flatnonzero(q >= target - REACH_TOL)
    if hit.size == 0:
        return None
    i = int(hit[0])
    if i == 0 or q[i] <= target:
        return float(c[i])
    t = (target - q[i - 1]) / (q[i] - q[i - 1])
    return float(c[i - 1] + t * (c[i] - c[i - 1]))


def peak(quality: np.ndarray) -> float:
    """Highest quality of any operating point."""
    return float(np.max(quality))


def upper_hull(cost: np.ndarray, quality: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Non-decreasing upper convex hull: from the cheapest point to the best one."""
    c, q = pareto_front(cost, quality)
    hull: list[int] = []
    for i in range(c.size):
        while len(hull) >= 2:
            a, b = hull[-2], hull[-1]
            # drop b when it lies on or below the chord from a to i
            if (q[b] - q[a]) * (c[i] - c[a]) <= (q[i] - q[a]) * (c[b] - c[a]):
                hull.pop()
            else:
                break
        hull.append(i)
    return c[hull], q[hull]


def aiq(cost: np.ndarray, quality: np.ndarray, upper: float = 1.0) -> float:
    """RouterBench's AIQ: area under the non-decreasing convex hull (see module doc)."""
    c, q = upper_hull(cost, quality)
    return _integrate(c, q, float(c[0]), upper) if c[0] < upper else 0.0


def _pgr_front(share: np.ndarray, quality: np.ndarray, q_weak: float,
               q_strong: float) -> tuple[np.ndarray, np.ndarray] | None:
    if not q_strong > q_weak:
        return None
    pgr = (np.asarray(quality, dtype=np.float64) - q_weak) / (q_strong - q_weak)
    s = np.concatenate([[0.0, 1.0], np.asarray(share, dtype=np.float64).ravel()])
    return pareto_front(s, np.concatenate([[0.0, 1.0], pgr]))


def apgr(share: np.ndarray, quality: np.ndarray, q_weak: float, q_strong: float) -> float | None:
    """RouteLLM's APGR: area under PGR against the share of strong-model calls."""
    front = _pgr_front(share, quality, q_weak, q_strong)
    return None if front is None else _integrate(front[0], front[1], 0.0, 1.0)


def cpt(share: np.ndarray, quality: np.ndarray, q_weak: float, q_strong: float,
        level: float) -> float | None:
    """RouteLLM's CPT(level): least share of strong calls at which PGR reaches ``level``."""
    front = _pgr_front(share, quality, q_weak, q_strong)
    return None if front is None else qnc(front[0], front[1], level)
