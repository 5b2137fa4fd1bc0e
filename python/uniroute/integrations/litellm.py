"""A LiteLLM routing plugin: UniRoute picks the deployment of every request.

``pip install "uniroute[litellm]"`` (LiteLLM 1.110.2, whose plugin API this follows: a
``RoutingPlugin`` has ``async def run(context: RoutingContext) -> RoutingContext``; the
context's ``candidate_models`` are the ``litellm_params.model`` strings of the requested
model group's deployments; a plugin may only narrow them).

>>> plugin = UniroutePlugin.from_file("router.npz")          # doctest: +SKIP
>>> router = litellm.Router(model_list=..., plugins=[plugin])   # doctest: +SKIP
>>> await router.acompletion(model="auto", messages=..., metadata={"uniroute": {"lam": 0.5}})

**Names.** A deployment ``litellm_params.model`` maps to a pool model by, in order: the
``model_map`` given (deployment model -> pool name); the same name; the name without its
provider prefix (``"openai/gpt-4o"`` -> ``"gpt-4o"``). Deployments that map to no pool
model are never chosen. Several deployments of one pool model all stay (LiteLLM balances
between them).

**Per request**, ``metadata["uniroute"]`` may hold ``lam`` (a number >= 0), ``max_cost``
(a price cap) and ``budget`` (a :class:`~uniroute.Calibration` or its ``to_dict()``); the
plugin's own ``lam`` / ``budget`` apply otherwise.

**Signals.** ``context.signals["uniroute"]`` holds the decision and its explanation
(cluster, predicted errors, margin, the fallback ranking, decision time); LiteLLM copies
it to the request's ``metadata["routing_plugin_signals"]``. A request the plugin cannot
route (no user text, no candidate in the pool, a bad setting, any error) passes through
unchanged with ``{"skipped": reason}`` there and a logged warning: never an exception
into the gateway.

Plugins run only on LiteLLM's async path (``acompletion``); its sync ``completion()``
refuses a router that has plugins. On the proxy, list the plugin in
``router_settings.plugins`` as a dotted path to an instance (see docs/gateway.md).
"""
from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Mapping
from typing import Any

from uniroute.calibration import Calibration
from uniroute.integrations.decision import (
    Decision,
    as_budget,
    as_lam,
    as_max_cost,
    decide,
    load_router,
    prompt_text,
    resolve_encoder,
)

log = logging.getLogger(__name__)

LITELLM_VERSION = "1.110.2"
SIGNAL_KEY = "uniroute"
METADATA_KEY = "uniroute"


class UniroutePlugin:
    """A LiteLLM ``RoutingPlugin`` that narrows a request's candidates to UniRoute's pick.

    Parameters
    ----------
    router : UniRouter or LearnedMapRouter
        A fitted router whose pool names the deployments' models (see ``model_map``).
    encoder : encoder object, optional
        The router's text encoder (default: the offline default, if the router uses it).
    lam : float
        Default cost weight (a request's ``metadata["uniroute"]["lam"]`` overrides it).
    budget : Calibration, optional
        Default calibrated budget (used instead of ``lam`` when given).
    model_map : mapping, optional
        LiteLLM deployment model (``litellm_params.model``) -> pool model name.
    offload : bool
        Encode and decide in a worker thread (default), so the gateway's event loop is not
        held for the encoder's time.
    """

    def __init__(self, router: Any, *, encoder: Any = None, lam: float = 0.0,
                 budget: Calibration | None = None,
                 model_map: Mapping[str, str] | None = None, offload: bool = True) -> None:
        self.router = router
        self.encoder = resolve_encoder(router, encoder)
        self.lam = as_lam(lam)
        self.budget = as_budget(budget)
        self.model_map = dict(model_map or {})
        pool = set(router.models)
        unknown = sorted(set(self.model_map.values()) - pool)
        if unknown:
            raise ValueError(f"model_map names models that are not in the router's pool: "
                             f"{unknown}")
        self.offload = offload

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], **kwargs: Any) -> UniroutePlugin:
        """A plugin over the router saved at ``path`` (other arguments as the class)."""
        return cls(load_router(path), **kwargs)

    def pool_name(self, deployment_model: str) -> str | None:
        """The pool model a deployment's ``litellm_params.model`` stands for (None: none)."""
        if deployment_model in self.model_map:
            return self.model_map[deployment_model]
        models = self.router.models
        if deployment_model in models:
            return deployment_model
        _, sep, bare = deployment_model.partition("/")
        return bare if sep and bare in models else None

    def settings(self, metadata: Any) -> dict[str, Any]:
        """The request's lam / max_cost / budget (ValueError for a bad one)."""
        given = metadata.get(METADATA_KEY) if isinstance(metadata, Mapping) else None
        given = given if isinstance(given, Mapping) else {}
        unknown = sorted(set(given) - {"lam", "max_cost", "budget"})
        if unknown:
            raise ValueError(f"unknown metadata['uniroute'] keys {unknown}; expected lam, "
                             "max_cost, budget")
        budget = as_budget(given.get("budget"))
        lam = as_lam(given.get("lam"), "metadata['uniroute']['lam']")
        if budget is not None and lam is not None:
            raise ValueError("metadata['uniroute'] gives both lam and budget; give one")
        if budget is None and lam is None:
            lam, budget = (None, self.budget) if self.budget is not None else (self.lam, None)
        return {"lam": lam, "budget": budget,
                "max_cost": as_max_cost(given.get("max_cost"),
                                        "metadata['uniroute']['max_cost']")}

    async def run(self, context: Any) -> Any:
        """Narrow ``context.candidate_models`` to the deployments of the chosen model."""
        try:
            return await self._run(context)
        except Exception as exc:  # noqa: BLE001 - never an exception into the gateway
            return self._skip(context, f"{type(exc).__name__}: {exc}")

    async def _run(self, context: Any) -> Any:
        text = prompt_text(context.structured_messages) or prompt_text(context.raw_messages)
        if text is None:
            return self._skip(context, "the request has no user message with text")
        by_pool: dict[str, list[str]] = {}
        for candidate in context.candidate_models:
            name = self.pool_name(candidate)
            if name is not None:
                by_pool.setdefault(name, []).append(candidate)
        if not by_pool:
            return self._skip(context, f"no candidate model {context.candidate_models} is "
                                       "in the router's pool (see model_map)")
        settings = self.settings(context.metadata)
        allowed = list(by_pool)
        if self.offload:
            decision = await asyncio.to_thread(decide, self.router, self.encoder, text,
                                               allowed=allowed, **settings)
        else:
            decision = decide(self.router, self.encoder, text, allowed=allowed, **settings)
        return self._narrow(context, decision, by_pool)

    @staticmethod
    def _narrow(context: Any, decision: Decision, by_pool: dict[str, list[str]]) -> Any:
        keep = by_pool[decision.model]
        context.candidate_models = [m for m in context.candidate_models if m in keep]
        signals = decision.signals()
        signals["deployments"] = keep
        context.signals[SIGNAL_KEY] = signals
        log.debug("uniroute: %s -> %s (lam=%g)", context.candidate_models, decision.model,
                  decision.lam)
        return context

    @staticmethod
    def _skip(context: Any, reason: str) -> Any:
        log.warning("uniroute plugin passes the request through unchanged: %s", reason)
        signals = getattr(context, "signals", None)
        if isinstance(signals, dict):
            signals[SIGNAL_KEY] = {"skipped": reason}
        return context


__all__ = ["LITELLM_VERSION", "UniroutePlugin"]
