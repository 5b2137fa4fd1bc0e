"""Persistence of a UniRouter: the router file, its bytes, and pickling by value."""
from __future__ import annotations

import inspect
import os
from typing import Any

import numpy as np

from uniroute._pool import PoolSnapshot
from uniroute._validation import as_name
from uniroute.exceptions import RouterFileError
from uniroute.io import DEFAULT_MAX_BYTES, archive_bytes, read_archive, write_archive


_KINDS: dict[str, type] = {}


class RouterFileMixin:
    """save/load, to_bytes/from_bytes and ``__reduce__`` of a router (see
    :class:`uniroute._router_base.RouterBase`, which provides ``_fitted``, ``_state``,
    ``_strength`` and the encoder identity this reads).

    ``_FILE_KIND`` is the ``kind`` written to and required from router files. Pickling
    goes by value through the file format and by reference to the router's own class,
    so this module imports no router (no cycle).
    """

    _FILE_KIND = "UniRouter"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # The router class of each file kind (the last defined wins: the public class,
        # not the shared base): what pickles made by earlier versions resolve through.
        if not cls.__name__.startswith("_") and cls.__name__ != "RouterBase":
            _KINDS[cls._FILE_KIND] = cls

    # ------------------------------------------------------------------ persistence
    def _archive(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        pool = self._fitted()
        fields = {
            "models": list(pool.names),
            "n_clusters": pool.n_clusters,
            "embedding_dim": int(pool.centroids.shape[1]),
            "encoder": {"name": self._encoder_name, "dim": self._encoder_dim},
            "hyperparameters": {"shrinkage": self._strength, "n_init": int(self.n_init),
                                "max_iter": int(self.max_iter), "tol": float(self.tol)},
        }
        arrays = {"centroids": pool.centroids, "cost": pool.cost,
                  "cluster_error": pool.cluster_error, "error_sum": pool.error_sum,
                  "probe_count": pool.probe_count}
        assert pool.cost_count is not None
        if pool.cost_count.any():  # only routers given probe costs carry them
            arrays.update(cost_sum=pool.cost_sum, cost_count=pool.cost_count)
        return arrays, fields  # type: ignore[return-value]

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the router to one file (see :mod:`uniroute.io`), atomically."""
        write_archive(path, self._FILE_KIND, *self._archive())

    def to_bytes(self) -> bytes:
        """The router file as bytes (what :meth:`save` writes)."""
        return archive_bytes(self._FILE_KIND, *self._archive())

    @classmethod
    def from_bytes(cls, data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Any:
        """Read a router from the bytes of a router file (see :meth:`to_bytes`)."""
        return cls._from_archive(bytes(data), max_bytes)

    def get_params(self) -> dict[str, Any]:
        """The constructor parameters (scikit-learn convention); an encoder object is
        given by its name."""
        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        params = {p: getattr(self, p) for p in names}
        if "encoder" in params and params["encoder"] is not None \
                and not isinstance(params["encoder"], str):
            params["encoder"] = getattr(self, "_encoder_name", None)
        return params

    @classmethod
    def _from_params(cls, params: dict[str, Any]) -> Any:
        return cls(**params)

    def _complete(self) -> bool:
        """Whether the router holds all it saves (fitted)."""
        return getattr(self, "_state", None) is not None

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickle by value through the safe file format: no attribute is pickled, and an
        # unpickled router is checked like a loaded file. An encoder object is not
        # carried (only its name and dim); route_text re-creates the default encoder.
        if not self._complete():
            return (type(self)._from_params, (self.get_params(),))
        return (type(self).from_bytes, (self.to_bytes(),))

    @classmethod
    def load(cls, path: str | os.PathLike[str], *,
             max_bytes: int = DEFAULT_MAX_BYTES) -> Any:
        """Read a router written by :meth:`save`; raises RouterFileError if it is not valid."""
        return cls._from_archive(os.fspath(path), max_bytes)

    @classmethod
    def _from_archive(cls, source: str | bytes, max_bytes: int) -> Any:
        arrays, meta = read_archive(source, cls._FILE_KIND, max_bytes)
        where = source if isinstance(source, str) else "<router bytes>"
        router = cls._build(arrays, meta, where)
        router._restore_extra(arrays, meta, where)
        return router

    def _restore_extra(self, arrays: dict[str, np.ndarray], meta: dict[str, Any],
                       where: str) -> None:
        """Hook for subclasses that store more than the pool (e.g. a learned map)."""

    @classmethod
    def _build(cls, arrays: dict[str, np.ndarray], meta: dict[str, Any], where: str) -> Any:
        try:
            if not isinstance(meta["models"], list):
                raise TypeError("'models' must be a list")
            names = [as_name(n, "model name") for n in meta["models"]]
            K, d = int(meta["n_clusters"]), int(meta["embedding_dim"])
            hyper = meta["hyperparameters"]
            enc = meta["encoder"]
            router = cls(K, shrinkage=float(hyper["shrinkage"]), n_init=int(hyper["n_init"]),
                         max_iter=int(hyper["max_iter"]), tol=float(hyper["tol"]),
                         encoder=None if enc["name"] is None else as_name(enc["name"], "encoder"))
            router._encoder_dim = None if enc["dim"] is None else int(enc["dim"])
        except (KeyError, TypeError, ValueError) as exc:
            raise RouterFileError(f"{where}: bad metadata: {exc!r}") from exc
        M = len(names)
        shapes = {"centroids": (K, d), "cost": (M,), "cluster_error": (M, K),
                  "error_sum": (M, K), "probe_count": (M, K)}
        for key in ("cost_sum", "cost_count"):  # present only when probe costs were given
            arrays.setdefault(key, np.zeros((M, K)))
            shapes[key] = (M, K)
        for key, shape in shapes.items():
            if arrays.get(key) is None or arrays[key].shape != shape:
                raise RouterFileError(f"{where}: array {key!r} must have shape {shape}")
            want = np.float32 if key == "centroids" else np.float64
            if arrays[key].dtype != want:
                raise RouterFileError(f"{where}: array {key!r} must have dtype "
                                      f"{np.dtype(want).name}, got {arrays[key].dtype}")
            if not np.isfinite(arrays[key]).all():
                raise RouterFileError(f"{where}: array {key!r} holds NaN or inf")
        negative = any((arrays[k] < 0).any() for k in ("cost", "cost_sum", "cost_count"))
        if len(set(names)) != M or K < 1 or d < 1 or negative:
            raise RouterFileError(f"{where}: inconsistent router (duplicate names or bad sizes)")
        router._state = PoolSnapshot(
            arrays["centroids"], names=tuple(names), cost=arrays["cost"],
            error_sum=arrays["error_sum"], probe_count=arrays["probe_count"],
            cluster_error=arrays["cluster_error"], cost_sum=arrays["cost_sum"],
            cost_count=arrays["cost_count"])
        return router



# Pickles written by uniroute 0.1.0 (before the sibling routers) call these two by name.
def _unpickle(data: bytes, kind: str = "UniRouter") -> Any:
    """Read a router pickled by an earlier version (its file bytes and kind)."""
    return _KINDS[kind].from_bytes(data)  # type: ignore[attr-defined]


def _unpickle_unfitted(params: dict[str, Any]) -> Any:
    """An unfitted UniRouter pickled by an earlier version, from its parameters."""
    params = dict(params)
    return _KINDS["UniRouter"](params.pop("n_clusters"), **params)
