"""Exceptions raised by uniroute."""
from __future__ import annotations


class NotFittedError(ValueError, AttributeError):
    """A router or estimator was used before ``fit``."""


class EmptyPoolError(ValueError):
    """Routing was asked of a router whose pool holds no model."""


class RouterFileError(ValueError):
    """A router file is truncated, altered, of an unknown version, or not a router file."""


class NoFeasibleModelError(ValueError):
    """No model of the pool satisfies a request's constraints (``allowed``/``max_cost``)."""
