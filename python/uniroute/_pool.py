"""Immutable snapshots of a router's state, swapped atomically on every change.

A :class:`UniRouter` holds one :class:`PoolSnapshot` in one attribute. Routing reads
that attribute once and works on the snapshot it got; a change to the pool
(``add_model``, ``remove_model``, ``update_model``, ``observe``, ``fit``) builds a new
snapshot and rebinds the attribute (a single, atomic reference assignment in CPython).
So a routing call sees either the old pool or the new one, never a mix, and routing
needs no lock. Arrays inside a snapshot are read-only so that no one edits them in
place.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from uniroute import _core

_TABLE_CACHE_SIZE = 16
ROW_KEYS = ("error_sum", "probe_count", "cluster_error", "cost_sum", "cost_count")


def _frozen(a: np.ndarray, dtype: Any) -> np.ndarray:
    a = np.array(a, dtype=dtype, order="C", copy=True)
    a.flags.writeable = False
    return a


@dataclass(frozen=True, eq=False)
class PoolSnapshot:
    """Centroids and the pool of models at one instant (immutable).

    Attributes
    ----------
    centroids : (K, dim) float32
    names : tuple of M model names, in the order they were added
    cost : (M,) float64, price per query
    error_sum, probe_count : (M, K) float64, the probe statistics per cluster
    cluster_error : (M, K) float64, ``Psi`` (shrunk cluster error)
    cost_sum, cost_count : (M, K) float64, realised cost of probe answers per cluster
        (zeros when no per-probe cost was given)
    version : int, grows by one with every change of the pool
    """

    centroids: np.ndarray
    names: tuple[str, ...] = ()
    cost: np.ndarray = field(default_factory=lambda: _frozen(np.zeros(0), np.float64))
    error_sum: np.ndarray | None = None
    probe_count: np.ndarray | None = None
    cluster_error: np.ndarray | None = None
    cost_sum: np.ndarray | None = None
    cost_count: np.ndarray | None = None
    version: int = 0
    _cache: dict[Any, Any] = field(default_factory=dict, repr=False)
    _cache_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        K = self.centroids.shape[0]
        set_ = object.__setattr__
        set_(self, "centroids", _frozen(self.centroids, np.float32))
        set_(self, "cost", _frozen(self.cost, np.float64))
        for key in ROW_KEYS:
            value = getattr(self, key)
            value = np.zeros((len(self.names), K)) if value is None else value
            set_(self, key, _frozen(value, np.float64))

    # ------------------------------------------------------------------ queries
    @property
    def n_models(self) -> int:
        return len(self.names)

    @property
    def n_clusters(self) -> int:
        return int(self.centroids.shape[0])

    def index_of(self, name: str) -> int:
        """Position of ``name`` in the pool; KeyError naming the pool otherwise."""
        index = self._cached("index", lambda: {n: i for i, n in enumerate(self.names)})
        try:
            return int(index[name])
        except (KeyError, TypeError):
            raise KeyError(f"unknown model {name!r}; the pool holds {list(self.names)}") from None

    def choice_table(self, lam: float) -> np.ndarray:
        """Chosen model per cluster at ``lam``: int64 ``(K,)`` (cached per snapshot)."""
        key = ("table", float(lam))
        table = self._cache.get(key)
        if table is None:
            table = _core.choice_table(self.cluster_error, self.cost, float(lam))
            table.flags.writeable = False
            with self._cache_lock:
                stale = [k for k in self._cache if isinstance(k, tuple) and k[0] == "table"]
                for k in stale[: max(0, len(stale) - _TABLE_CACHE_SIZE + 1)]:
                    self._cache.pop(k, None)
                self._cache[key] = table
        return table

    def compiled_index(self) -> _core.CentroidIndex:
        """The centroids compiled for assignment (cached norms, 16-bit copy for single
        prompts); shared by the snapshots that keep these centroids."""
        return self._cached("compiled_index", lambda: _core.CentroidIndex(self.centroids))

    def compiled_pool(self) -> _core.PoolRouter:
        """The compiled pool: one prompt to one model, the last lam's table cached."""
        pool = self._cache.get("compiled_pool")
        if pool is None:
            pool = self._cached("compiled_pool", lambda: _core.PoolRouter(
                self.compiled_index(), self.cluster_error, self.cost))
        return pool

    def compiled_dense_pool(self) -> _core.DensePool:
        """The pool checked and converted to float32 once, for the dense (soft Phi) route."""
        pool = self._cache.get("compiled_dense_pool")
        if pool is None:
            pool = self._cached("compiled_dense_pool", lambda: _core.DensePool(
                self.cluster_error, self.cost))
        return pool

    def cost_order(self) -> np.ndarray:
        """Models sorted by cost, ties by index: the core's tie-breaking order."""
        return self._cached("order", lambda: np.argsort(self.cost, kind="stable"))

    def _cached(self, key: str, make: Any) -> Any:
        value = self._cache.get(key)
        if value is None:
            value = make()
            with self._cache_lock:
                self._cache[key] = value
        return value

    # ------------------------------------------------------------------ changes
    def expected_cost(self, shrinkage: float) -> np.ndarray:
        """Expected cost per model and cluster ``(M, K)``: the probe answers' mean
        realised cost, shrunk toward the model's price (the price where none was given)."""
        def make() -> np.ndarray:
            assert self.cost_sum is not None and self.cost_count is not None
            num = self.cost_sum + shrinkage * self.cost[:, None]
            den = self.cost_count + shrinkage
            with np.errstate(invalid="ignore", divide="ignore"):
                out = np.where(self.cost_count > 0, num / den, self.cost[:, None])
            return out
        return self._cached(("expected_cost", float(shrinkage)), make)

    def _evolve(self, **changes: Any) -> PoolSnapshot:
        fields = {"centroids": self.centroids, "names": self.names, "cost": self.cost,
                  "version": self.version + 1}
        fields.update({key: getattr(self, key) for key in ROW_KEYS})
        fields.update(changes)
        snap = PoolSnapshot(**fields)
        index = self._cache.get("compiled_index")
        if index is not None and "centroids" not in changes:
            snap._cache["compiled_index"] = index  # same centroids: reuse the compiled ones
        return snap

    def with_model(self, name: str, cost: float, **rows: np.ndarray) -> PoolSnapshot:
        """A new snapshot with one more model at the end (missing rows are zeros)."""
        K = self.n_clusters
        return self._evolve(names=self.names + (name,), cost=np.append(self.cost, cost),
                            **{key: np.vstack([getattr(self, key), rows.get(key, np.zeros(K))])
                               for key in ROW_KEYS})

    def without_model(self, i: int) -> PoolSnapshot:
        """A new snapshot without the model at position ``i``."""
        return self._evolve(names=self.names[:i] + self.names[i + 1:],
                            cost=np.delete(self.cost, i),
                            **{key: np.delete(getattr(self, key), i, axis=0)
                               for key in ROW_KEYS})

    def with_row(self, i: int, *, cost: float | None = None,
                 **rows: np.ndarray) -> PoolSnapshot:
        """A new snapshot where model ``i`` has a new price and/or new statistics rows."""
        changes: dict[str, Any] = {}
        if cost is not None:
            c = self.cost.copy()
            c[i] = cost
            changes["cost"] = c
        for key, row in rows.items():
            if key not in ROW_KEYS:
                raise TypeError(f"unknown row {key!r}")
            arr = np.array(getattr(self, key))
            arr[i] = row
            changes[key] = arr
        return self._evolve(**changes)
