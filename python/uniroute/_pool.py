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

import itertools
import hashlib
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from uniroute import _core

_MASK_CACHE_SIZE = 64
_TOKENS = itertools.count(1)
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
    map_weight, map_bias : (K, dim), (K,) float32, the learned map of a LearnedMapRouter
        (None: hard clusters)
    token : int, unique to this snapshot in the process (a budget solved on another
        snapshot is re-solved on this one)
    clusters_token : int, shared by the snapshots that keep these centroids and map
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
    map_weight: np.ndarray | None = None
    map_bias: np.ndarray | None = None
    token: int = field(default_factory=lambda: next(_TOKENS))
    clusters_token: int = field(default_factory=lambda: next(_TOKENS))
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
        for key in ("map_weight", "map_bias"):
            if getattr(self, key) is not None:
                set_(self, key, _frozen(getattr(self, key), np.float32))

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

    def compiled_index(self) -> _core.CentroidIndex:
        """The centroids compiled for assignment (cached norms, 16-bit copy for single
        prompts); shared by the snapshots that keep these centroids."""
        return self._cached("compiled_index", lambda: _core.CentroidIndex(self.centroids))

    def compiled(self) -> _core.CompiledPool:
        """The compiled pool: the one object every routing request of this snapshot goes
        to (prompt map, Psi, prices, tie order, choice-table cache)."""
        pool = self._cache.get("compiled")
        if pool is None:
            pool = self._cached("compiled", lambda: _core.CompiledPool(
                self.compiled_index(), self.cluster_error, self.cost, self.map_weight,
                self.map_bias))
        return pool

    def choice_table(self, lam: float) -> np.ndarray:
        """Chosen model per cluster at ``lam``: int64 ``(K,)`` (the compiled pool's cache)."""
        return self.compiled().choice_table(float(lam))

    def names_array(self) -> np.ndarray:
        """The model names as a numpy str array (to index with routed positions)."""
        names = self._cache.get("names_array")
        if names is None:
            names = self._cached("names_array", lambda: np.asarray(self.names))
        return names

    def mask_of(self, allowed: Any) -> Any:
        """``allowed`` as the core takes it: model names become a bool mask ``(M,)``
        (cached per list of names); arrays pass through (the core checks them)."""
        kind = type(allowed)
        if kind is list or kind is tuple:
            masks = self._cache.get("masks")
            if masks is not None:
                try:
                    mask = masks.get(allowed if kind is tuple else tuple(allowed))
                except TypeError:  # unhashable items: not names
                    return np.asarray(allowed)
                if mask is not None:
                    return mask
        elif kind is np.ndarray:
            return allowed
        if isinstance(allowed, str):
            allowed = (allowed,)
        if not isinstance(allowed, Iterable) or isinstance(allowed, np.ndarray):
            return allowed  # the core names what it expected
        items = tuple(allowed)
        if not all(isinstance(a, str) for a in items):
            return np.asarray(items)
        mask = np.zeros(self.n_models, dtype=bool)
        for name in items:
            mask[self.index_of(name)] = True
        mask.flags.writeable = False
        masks = self._cached("masks", dict)
        with self._cache_lock:
            if len(masks) >= _MASK_CACHE_SIZE:
                masks.clear()
            masks[items] = mask
        return mask

    def clusters_fingerprint(self) -> str:
        """A digest of the centroids and the learned map (if any): equal for snapshots,
        in any process, that share them (a budget carried as JSON checks it)."""
        def make() -> str:
            h = hashlib.sha256(np.ascontiguousarray(self.centroids).tobytes())
            for a in (self.map_weight, self.map_bias):
                h.update(b"|" if a is None else np.ascontiguousarray(a).tobytes())
            return h.hexdigest()[:32]
        return self._cached("clusters_fingerprint", make)  # type: ignore[no-any-return]

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
                  "version": self.version + 1, "map_weight": self.map_weight,
                  "map_bias": self.map_bias, "clusters_token": self.clusters_token}
        fields.update({key: getattr(self, key) for key in ROW_KEYS})
        fields.update(changes)
        if "centroids" in changes or "map_weight" in changes:
            fields["clusters_token"] = next(_TOKENS)
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
