"""Per-request constraints: which models a prompt may go to.

``route(..., allowed=..., max_cost=...)`` excludes models inside the same argmin:

- ``allowed``: the models available to a request (an outage, a missing capability),
  given as model names (one set for the whole batch), a boolean mask ``(M,)`` over the
  pool, or one mask per prompt ``(n, M)``;
- ``max_cost``: a price cap, one number for the batch or one per prompt ``(n,)``: a
  model is feasible only if ``cost[m] <= max_cost``.

Both are applied inside the one argmin of the compiled pool
(``_core.CompiledPool.route``, ``cpp/src/pool.cpp``), for both routers and every call
shape; Python only turns model names into a mask, once per set of names and pool
snapshot (:meth:`uniroute._pool.PoolSnapshot.mask_of`). A negative or NaN
``max_cost`` is refused.

A prompt whose feasible set is empty (every allowed model is over its cap) falls back
to the **cheapest allowed model** (ties: the lower index); with ``strict=True`` it raises
:class:`~uniroute.exceptions.NoFeasibleModelError` instead. A prompt with no allowed
model at all always raises it. Ties inside the argmin follow the core: the cheaper
model, then the lower index.
"""
from __future__ import annotations

from uniroute.exceptions import NoFeasibleModelError

__all__ = ["NoFeasibleModelError"]
