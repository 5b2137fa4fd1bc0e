"""The router a gateway serves, swapped atomically on reload.

A request reads :attr:`RouterHolder.current` once and uses that :class:`Served` to the
end (fallbacks included), so a reload never changes the router under a request in flight.
A reload builds the new :class:`Served` completely (file read and verified, encoder
checked, backends matched) before one reference assignment publishes it; a bad file
keeps the old router and the reason is logged and returned.
"""
from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from typing import Any

from uniroute.integrations.decision import load_router, resolve_encoder

log = logging.getLogger("uniroute.serve")


@dataclass(frozen=True)
class Served:
    """One loaded router with what serving it needs."""

    router: Any
    encoder: Any
    version: int
    routable: tuple[str, ...]  # pool models that have a backend
    allowed: tuple[str, ...] | None  # the routable models when some lack a backend, else None


class RouterHolder:
    """Holds the served router; :meth:`reload` swaps a new file in atomically."""

    def __init__(self, path: str | os.PathLike[str], backends: Any, encoder: Any = None,
                 router: Any = None) -> None:
        self.path = os.fspath(path)
        self._backends = set(backends)
        self._encoder = encoder
        self._lock = threading.Lock()
        self._version = 0
        self.current: Served = self._build(load_router(self.path) if router is None else router)

    def _build(self, router: Any) -> Served:
        encoder = resolve_encoder(router, self._encoder if self._encoder is not None else
                                  getattr(getattr(self, "current", None), "encoder", None))
        routable = tuple(m for m in router.models if m in self._backends)
        if not routable:
            raise ValueError(f"no model of the router's pool {router.models} has a backend "
                             f"(backends: {sorted(self._backends)})")
        missing = [m for m in router.models if m not in self._backends]
        if missing:
            log.warning("pool models without a backend are never chosen: %s", missing)
        self._version += 1
        return Served(router=router, encoder=encoder, version=self._version,
                      routable=routable, allowed=routable if missing else None)

    def reload(self) -> tuple[bool, str]:
        """Load the router file again; returns (swapped, message). Never raises."""
        with self._lock:
            try:
                served = self._build(load_router(self.path))
            except Exception as exc:  # noqa: BLE001 - a bad file keeps the old router
                message = f"reload of {self.path} failed, keeping router version " \
                          f"{self.current.version}: {type(exc).__name__}: {exc}"
                log.error("%s", message)
                return False, message
            self.current = served
        message = f"reloaded {self.path}: router version {served.version}, models " \
                  f"{list(served.router.models)}"
        log.info("%s", message)
        return True, message
