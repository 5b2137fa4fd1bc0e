"""One routing decision for one gateway request: text in, model and explanation out.

Every integration (the LiteLLM plugin, ``uniroute serve``) decides through :func:`decide`,
so a request gets the model :meth:`UniRouter.route_text` picks for the same text and
constraints: the text is encoded once by the router's encoder and the decision is
:meth:`UniRouter.explain` on that embedding (whose choice is :meth:`UniRouter.route`'s).
The explanation also ranks the other feasible models, which is the fallback order.
"""
from __future__ import annotations

import importlib
import math
import os
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from uniroute.calibration import Calibration
from uniroute.encoders import DEFAULT_NAME
from uniroute.exceptions import RouterFileError
from uniroute.explain import Explanation


def load_router(path: str | os.PathLike[str]) -> Any:
    """A router file of any kind (:class:`UniRouter` or :class:`LearnedMapRouter`)."""
    from uniroute import LearnedMapRouter, UniRouter

    try:
        return UniRouter.load(path)
    except RouterFileError as exc:
        if "holds a 'LearnedMapRouter'" not in str(exc):
            raise
    return LearnedMapRouter.load(path)


def load_encoder(spec: str) -> Any:
    """An encoder from ``"package.module:name"``: the object, or what calling it returns."""
    module, sep, attr = spec.partition(":")
    if not sep or not module or not attr:
        raise ValueError(f"encoder must look like 'package.module:name', got {spec!r}")
    obj = getattr(importlib.import_module(module), attr)
    if not hasattr(obj, "encode"):
        obj = obj()
    for needed in ("encode", "name", "dim"):
        if not hasattr(obj, needed):
            raise TypeError(f"encoder {spec!r} has no {needed!r}; an encoder has encode(), "
                            "name and dim (see uniroute.encoders.Encoder)")
    return obj


def resolve_encoder(router: Any, encoder: Any = None) -> Any:
    """The encoder that turns request text into the router's embedding space.

    ``encoder`` if given (it must carry the router's recorded name and dimension), else the
    offline default when the router was fitted with it (one BLAS thread: a gateway serves
    many requests at once, and two threads per prompt oversubscribe a shared machine).
    """
    name = router.encoder_name
    if name is None:
        raise ValueError("the router has no recorded encoder, so request text cannot be "
                         "routed; fit it with UniRouter(encoder=...)")
    if encoder is None:
        if name != DEFAULT_NAME:
            raise ValueError(f"the router was fitted with encoder {name!r}, not the default; "
                             "pass that encoder (encoder=..., or --encoder module:name)")
        from uniroute.encoders import default

        encoder = default(threads=1)
    if getattr(encoder, "name", None) != name:
        raise ValueError(f"encoder {getattr(encoder, 'name', None)!r} is not the router's "
                         f"encoder {name!r}")
    if int(getattr(encoder, "dim", -1)) != router.embedding_dim:
        raise ValueError(f"encoder {name!r} has dim {getattr(encoder, 'dim', None)}, the "
                         f"router was fitted with dim {router.embedding_dim}")
    return encoder


def _content_text(content: Any) -> str | None:
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence) and not isinstance(content, (bytes, bytearray)):
        parts = [p.get("text") for p in content
                 if isinstance(p, Mapping) and p.get("type", "text") == "text"]
        texts = [p for p in parts if isinstance(p, str)]
        return "\n".join(texts) if texts else None
    return None


def prompt_text(messages: Any) -> str | None:
    """The text of the last user message of an OpenAI chat request (None if it has none).

    Content given as parts (``[{"type": "text", "text": ...}, ...]``) is joined by newlines;
    non-text parts are ignored.
    """
    if not isinstance(messages, Sequence) or isinstance(messages, (str, bytes)):
        return None
    for message in reversed(messages):
        if isinstance(message, Mapping) and message.get("role") == "user":
            text = _content_text(message.get("content"))
            if text is not None and text.strip():
                return text
    return None


def completion_text(prompt: Any) -> str | None:
    """The text of an OpenAI (legacy) completions ``prompt``: a str or the first of a list."""
    if isinstance(prompt, str):
        return prompt if prompt.strip() else None
    if isinstance(prompt, list) and prompt and isinstance(prompt[0], str):
        return prompt[0] if prompt[0].strip() else None
    return None


def as_lam(value: Any, what: str = "lam") -> float | None:
    """A per-request lam: a finite number >= 0 (str accepted), or None."""
    if value is None:
        return None
    try:
        lam = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a number >= 0, got {value!r}") from None
    if not math.isfinite(lam) or lam < 0:
        raise ValueError(f"{what} must be a finite number >= 0, got {value!r}")
    return lam


def as_max_cost(value: Any, what: str = "max_cost") -> float | None:
    """A per-request price cap: a finite number >= 0 (str accepted), or None."""
    return as_lam(value, what)


def as_budget(value: Any) -> Calibration | None:
    """A :class:`Calibration`, or its ``to_dict()`` form (as JSON metadata carries it)."""
    if value is None or isinstance(value, Calibration):
        return value
    if not isinstance(value, Mapping):
        raise ValueError(f"budget must be a Calibration or its to_dict(), got "  # noqa: TRY004
                         f"{type(value).__name__}")
    try:
        return Calibration.from_dict(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"budget is not a Calibration.to_dict(): {exc}") from None


class Decision:
    """The model chosen for one request, why, and the fallback order.

    Attributes
    ----------
    model : the chosen pool model
    lam : the cost weight used (with a budget: the one the prompt's hash picked)
    seconds : wall time of the decision (encoding included)
    explanation : the full :class:`~uniroute.explain.Explanation` (computed on first use
        when :func:`decide` was called with ``explain=False``)
    ranked : the chosen model, then the other feasible models, best score first (the
        order a gateway falls back in; from the explanation)
    """

    def __init__(self, router: Any, embedding: np.ndarray, encoder_name: str, model: str,
                 lam: float, constraints: dict[str, Any], seconds: float,
                 explanation: Explanation | None = None) -> None:
        self._router, self._x, self._name = router, embedding, encoder_name
        self._constraints = constraints
        self._explanation = explanation
        self.model, self.lam, self.seconds = model, lam, seconds

    @property
    def explanation(self) -> Explanation:
        if self._explanation is None:
            e = self._router.explain(self._x, encoder=self._name, **self._constraints)
            if e.chosen != self.model:  # one path: explain decides as route does
                raise RuntimeError(f"explain chose {e.chosen!r}, route chose {self.model!r}")
            self._explanation = e
        return self._explanation

    @property
    def ranked(self) -> tuple[str, ...]:
        e = self.explanation
        order = np.lexsort((np.arange(e.cost.size), e.cost, e.score))
        return (e.chosen,) + tuple(e.models[m] for m in order
                                   if e.feasible[m] and e.models[m] != e.chosen)

    def signals(self) -> dict[str, Any]:
        """JSON-ready summary for logs: model, lam, cluster, predicted errors, margin."""
        e = self.explanation
        return {
            "model": self.model, "lam": self.lam, "cluster": e.cluster,
            "distance": e.distance, "runner_up": e.runner_up,
            "margin": None if math.isinf(e.margin) else e.margin,
            "fallback": e.fallback,
            "predicted_error": {m: float(v) for m, v in zip(e.models, e.predicted_error)},
            "ranked": list(self.ranked), "decision_ms": 1e3 * self.seconds,
        }


def decide(router: Any, encoder: Any, text: str, *, lam: float | None = None,
           allowed: Sequence[str] | None = None, max_cost: float | None = None,
           budget: Calibration | None = None, explain: bool = True) -> Decision:
    """Route one request's text within ``allowed`` models (None: the whole pool).

    The text is encoded once; the choice is :meth:`UniRouter.explain`'s on that embedding
    (``explain=True``) or :meth:`UniRouter.route`'s (``explain=False``: the fastest path;
    the explanation and fallback order are computed only if asked for). Raises what
    routing raises (NoFeasibleModelError when ``allowed`` names no model of the pool,
    ValueError for an unknown name).
    """
    start = time.perf_counter()
    x = encoder.encode([text])[0]
    constraints = {"lam": None if budget is not None else lam, "budget": budget,
                   "allowed": None if allowed is None else list(allowed), "max_cost": max_cost}
    e = None
    if explain or budget is not None:
        e = router.explain(x, encoder=encoder.name, **constraints)
        model, used = e.chosen, e.lam
    else:
        # the encoder's identity was checked by resolve_encoder: no per-call check, so
        # an unconstrained prompt takes route's compiled one-prompt path
        model = router.route(x, **constraints)
        used = 0.0 if lam is None else float(lam)
    return Decision(router, x, encoder.name, str(model), used, constraints,
                    time.perf_counter() - start, e)


__all__ = ["Decision", "as_budget", "as_lam", "as_max_cost", "completion_text", "decide",
           "load_encoder", "load_router", "prompt_text", "resolve_encoder"]
