"""Per-request constraints: which models a prompt may go to.

``route(..., allowed=..., max_cost=...)`` excludes models inside the same argmin:

- ``allowed``: the models available to a request (an outage, a missing capability),
  given as model names (one set for the whole batch), a boolean mask ``(M,)`` over the
  pool, or one mask per prompt ``(n, M)``;
- ``max_cost``: a price cap, one number for the batch or one per prompt ``(n,)``: a
  model is feasible only if ``cost[m] <= max_cost``.

A prompt whose feasible set is empty (every allowed model is over its cap) falls back
to the **cheapest allowed model** (ties: the lower index); with ``strict=True`` it raises
:class:`~uniroute.exceptions.NoFeasibleModelError` instead. A prompt with no allowed
model at all always raises it. Ties inside the argmin follow the core: the cheaper
model, then the lower index.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from uniroute import _core
from uniroute._pool import PoolSnapshot
from uniroute.exceptions import NoFeasibleModelError

_CHUNK = 1 << 15


def allowed_mask(pool: PoolSnapshot, allowed: Any, n: int) -> np.ndarray | None:
    """``allowed`` as a boolean mask ``(M,)`` or ``(n, M)`` over ``pool`` (None: all)."""
    if allowed is None:
        return None
    M = pool.n_models
    if isinstance(allowed, str):
        allowed = [allowed]
    arr = allowed if isinstance(allowed, np.ndarray) else None
    if arr is None and isinstance(allowed, Iterable):
        items = list(allowed)
        if all(isinstance(a, str) for a in items):
            mask = np.zeros(M, dtype=bool)
            for name in items:
                mask[pool.index_of(name)] = True
            return mask
        arr = np.asarray(items)
    if arr is None or arr.dtype != bool:
        raise TypeError("allowed must be model names, or a bool mask of shape (n_models,) "
                        f"or (n_prompts, n_models); got {type(allowed).__name__}"
                        + ("" if arr is None else f" of dtype {arr.dtype}"))
    if arr.shape not in ((M,), (n, M)):
        raise ValueError(f"allowed has shape {arr.shape}, expected ({M},) or ({n}, {M}) "
                         f"for a pool of {M} models and {n} prompts")
    return arr


def cap_mask(pool: PoolSnapshot, max_cost: Any, n: int) -> np.ndarray | None:
    """``cost[m] <= max_cost`` as a mask ``(M,)`` or ``(n, M)`` (None: no cap)."""
    if max_cost is None:
        return None
    cap = np.asarray(max_cost)
    if cap.dtype.kind not in "fiu" or cap.ndim > 1 or (cap.ndim == 1 and cap.shape[0] != n):
        raise ValueError(f"max_cost must be a number or an array of shape ({n},), "
                         f"got {cap.dtype} of shape {cap.shape}")
    if np.isnan(cap).any():
        raise ValueError("max_cost contains NaN")
    if cap.ndim == 0:
        return pool.cost <= float(cap)
    return pool.cost[None, :] <= cap.astype(np.float64)[:, None]


def route_constrained(pool: PoolSnapshot, labels: np.ndarray, lam: float,
                      allowed: np.ndarray | None, cap: np.ndarray | None,
                      strict: bool = False) -> np.ndarray:
    """``argmin`` over the feasible models of ``Psi[m, labels[i]] + lam * cost[m]``.

    ``allowed`` and ``cap`` are masks from :func:`allowed_mask` and :func:`cap_mask`.
    Returns int64 ``(n,)`` pool indices.
    """
    n, M = labels.shape[0], pool.n_models
    if allowed is None and cap is None:
        return _core.route(labels, pool.cluster_error, pool.cost, lam)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    allow = np.ones(M, dtype=bool) if allowed is None else allowed
    feasible = allow if cap is None else allow & cap
    if feasible.ndim == 1 and allow.ndim == 1:
        return _route_shared(pool, labels, lam, allow, feasible, strict)
    out = np.empty(n, dtype=np.int64)
    for lo in range(0, n, _CHUNK):
        hi = min(n, lo + _CHUNK)
        rows = slice(lo, hi)
        f = np.broadcast_to(feasible if feasible.ndim == 1 else feasible[rows], (hi - lo, M))
        a = np.broadcast_to(allow if allow.ndim == 1 else allow[rows], (hi - lo, M))
        out[rows] = _route_rows(pool, labels[rows], lam, a, f, strict, lo)
    return out


def _route_shared(pool: PoolSnapshot, labels: np.ndarray, lam: float, allow: np.ndarray,
                  feasible: np.ndarray, strict: bool) -> np.ndarray:
    """One feasible set for the whole batch: route on the sub-pool with the core."""
    sub = np.flatnonzero(feasible)
    if sub.size:
        idx = _core.route(labels, pool.cluster_error[sub], pool.cost[sub], lam)
        return sub[idx]
    n = labels.shape[0]
    _no_feasible(np.full(n, not allow.any()), np.arange(n), strict, 0)
    return np.full(labels.shape[0], _cheapest(pool, allow), dtype=np.int64)


def _route_rows(pool: PoolSnapshot, labels: np.ndarray, lam: float, allow: np.ndarray,
                feasible: np.ndarray, strict: bool, offset: int) -> np.ndarray:
    order = pool.cost_order()
    penalised = pool.cluster_error.T[labels] + lam * pool.cost  # (n, M), as the core adds
    penalised = np.where(feasible, penalised, np.inf)[:, order]
    idx = order[np.argmin(penalised, axis=1)]  # first minimum in cost order = core's ties
    empty = ~feasible.any(axis=1)
    if empty.any():
        _no_feasible(~allow[empty].any(axis=1), np.flatnonzero(empty), strict, offset)
        cost_rank = np.where(allow[empty][:, order], np.arange(pool.n_models), pool.n_models)
        idx[empty] = order[np.argmin(cost_rank, axis=1)]
    return idx


def _cheapest(pool: PoolSnapshot, allow: np.ndarray) -> int:
    order = pool.cost_order()
    return int(order[np.flatnonzero(allow[order])[0]])


def _no_feasible(no_allowed: np.ndarray, empty_rows: np.ndarray, strict: bool,
                 offset: int) -> None:
    """Raise for prompts with no allowed model, or (strict) with none within the cap."""
    if no_allowed.any():
        first = offset + int(empty_rows[np.flatnonzero(no_allowed)[0]])
        raise NoFeasibleModelError(
            f"allowed excludes every model of the pool for {int(no_allowed.sum())} prompt(s), "
            f"the first at index {first}")
    if strict:
        raise NoFeasibleModelError(
            f"{empty_rows.size} prompt(s), the first at index {offset + int(empty_rows[0])}, "
            "have no allowed model within max_cost (strict=True; without it they fall back "
            "to the cheapest allowed model)")
