"""The OpenAI-compatible routing server (a Starlette app).

``POST /v1/chat/completions`` and ``POST /v1/completions`` with ``model: "uniroute"`` are
routed: the last user message (or the prompt) is encoded and routed within the models
that have a backend, and the request goes to the chosen model's backend. The cost weight
comes from the model string ``"uniroute:lam=0.5"`` or the header ``x-uniroute-lam``
(one of them); ``x-uniroute-allowed`` (comma-separated pool names) and
``x-uniroute-max-cost`` constrain the choice. A request naming a pool model is forwarded
to it as is. Answers carry ``x-uniroute-model`` (the model that answered),
``x-uniroute-lam`` (routed requests), ``x-uniroute-router-version`` and
``x-uniroute-attempts``. Also ``GET /v1/models``, ``GET /healthz``, ``GET /metrics``
and ``POST /admin/reload`` (with the admin token as a bearer token).
"""
from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from uniroute.exceptions import NoFeasibleModelError
from uniroute.integrations.decision import (
    as_lam,
    as_max_cost,
    completion_text,
    decide,
    prompt_text,
)
from uniroute.serve.config import GatewayConfig
from uniroute.serve.errors import GatewayError, bad_request
from uniroute.serve.forward import forward
from uniroute.serve.metrics import Metrics
from uniroute.serve.state import RouterHolder, Served

log = logging.getLogger("uniroute.serve")

ROUTED_MODEL = "uniroute"
Handler = Callable[[Request], Awaitable[Response]]


def parse_model(model: Any) -> tuple[bool, float | None]:
    """``(routed, lam)`` from a request's ``model``: ``"uniroute"``, ``"uniroute:lam=0.5"``."""
    if not isinstance(model, str) or not model:
        raise bad_request("you must provide a model parameter (a string)", "model")
    if model != ROUTED_MODEL and not model.startswith(ROUTED_MODEL + ":"):
        return False, None
    lam = None
    for item in filter(None, model[len(ROUTED_MODEL) + 1:].split(",")):
        key, sep, value = item.partition("=")
        if key.strip() != "lam" or not sep:
            raise bad_request(f"model {model!r}: expected 'uniroute' or 'uniroute:lam=<number>'",
                              "model")
        try:
            lam = as_lam(value.strip(), "lam in the model string")
        except ValueError as exc:
            raise bad_request(str(exc), "model") from None
    return True, lam


def _constraints(request: Request, served: Served, lam: float | None) -> dict[str, Any]:
    h = request.headers
    try:
        header_lam = as_lam(h.get("x-uniroute-lam"), "header x-uniroute-lam")
        max_cost = as_max_cost(h.get("x-uniroute-max-cost"), "header x-uniroute-max-cost")
    except ValueError as exc:
        raise bad_request(str(exc)) from None
    if header_lam is not None and lam is not None:
        raise bad_request("lam is given both in the model string and in x-uniroute-lam; "
                          "give it once", "model")
    allowed: tuple[str, ...] | None = served.allowed
    if "x-uniroute-allowed" in h:
        names = tuple(n.strip() for n in h["x-uniroute-allowed"].split(",") if n.strip())
        unknown = [n for n in names if n not in served.routable]
        if unknown or not names:
            raise bad_request(f"header x-uniroute-allowed names {unknown or 'no'} model(s) "
                              f"that are not routable here; routable: {list(served.routable)}")
        allowed = names
    return {"lam": lam if lam is not None else header_lam, "allowed": allowed,
            "max_cost": max_cost}


class Gateway:
    """The server's state: the router holder, the backends, the HTTP client, the metrics.

    Parameters
    ----------
    holder : RouterHolder
    config : GatewayConfig
    inline_decisions : bool
        Decide on the event loop thread (fastest for a fast encoder); by default each
        decision runs in a worker thread so a slow encoder does not hold the loop.
    """

    def __init__(self, holder: RouterHolder, config: GatewayConfig, *,
                 inline_decisions: bool = False) -> None:
        self.holder = holder
        self.config = config
        self.inline_decisions = inline_decisions
        self.metrics = Metrics()
        self.metrics.router_version = holder.current.version
        self.client: aiohttp.ClientSession | None = None

    # ------------------------------------------------------------------ plumbing
    def _checked(self, endpoint: str, handler: Handler, auth: bool = True) -> Handler:
        async def wrapped(request: Request) -> Response:
            try:
                if auth:
                    self._authorize(request)
                response = await handler(request)
            except GatewayError as exc:
                response = JSONResponse(exc.body(), status_code=exc.status)
            except Exception:  # an OpenAI-shaped 500, the traceback in the log only
                log.exception("internal error on %s", endpoint)
                response = JSONResponse(GatewayError(500, "internal error in the uniroute "
                                                     "gateway", "server_error").body(), 500)
            self.metrics.requests[(endpoint, str(response.status_code))] += 1
            return response
        return wrapped

    def _authorize(self, request: Request) -> None:
        keys = self.config.api_keys
        if not keys:
            return
        given = request.headers.get("authorization", "")
        token = given[7:] if given.lower().startswith("bearer ") else ""
        if not any(hmac.compare_digest(token.encode(), k.encode()) for k in keys):
            raise GatewayError(401, "Incorrect API key provided.", "invalid_request_error",
                               "invalid_api_key")

    # ------------------------------------------------------------------ endpoints
    async def chat(self, request: Request) -> Response:
        body = await _json_body(request)
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise bad_request("'messages' must be a non-empty array of messages", "messages")
        return await self._serve(request, body, "/chat/completions",
                                 lambda: prompt_text(messages), "messages")

    async def completions(self, request: Request) -> Response:
        body = await _json_body(request)
        if "prompt" not in body:
            raise bad_request("you must provide a prompt", "prompt")
        return await self._serve(request, body, "/completions",
                                 lambda: completion_text(body["prompt"]), "prompt")

    async def _serve(self, request: Request, body: dict[str, Any], path: str,
                     text_of: Callable[[], str | None], param: str) -> Response:
        served = self.holder.current  # this request's router, whatever reloads happen
        routed, lam = parse_model(body.get("model"))
        extra = {"x-uniroute-router-version": str(served.version)}
        if not routed:
            name = body["model"]
            if name not in self.config.backends:
                raise GatewayError(404, f"The model {name!r} does not exist here; use "
                                   f"'uniroute' or one of {list(self.config.backends)}",
                                   "invalid_request_error", "model_not_found", "model")
            first, ranked = name, lambda: (name,)
        else:
            constraints = _constraints(request, served, lam)
            text = text_of()
            if text is None:
                raise bad_request(f"{param} holds no user text to route", param)
            decision = await self._decide(served, text, constraints)
            self.metrics.observe_decision(decision.model, decision.seconds)
            extra["x-uniroute-lam"] = repr(decision.lam)
            first = decision.model
            ranked = lambda: decision.ranked
        assert self.client is not None, "the gateway's HTTP client starts with the app"
        return await forward(self.client, self.config, path, body, ranked, first, extra,
                             self.metrics)

    async def _decide(self, served: Served, text: str, constraints: dict[str, Any]) -> Any:
        def run() -> Any:
            return decide(served.router, served.encoder, text, explain=False, **constraints)

        try:
            return run() if self.inline_decisions else await asyncio.to_thread(run)
        except (NoFeasibleModelError, ValueError) as exc:
            raise bad_request(f"cannot route this request: {exc}") from None

    async def models(self, request: Request) -> Response:
        served = self.holder.current
        ids = [ROUTED_MODEL] + [m for m in self.config.backends]
        return JSONResponse({"object": "list", "data": [
            {"id": m, "object": "model", "created": 0,
             "owned_by": "uniroute" if m == ROUTED_MODEL else
             ("uniroute-pool" if m in served.routable else "uniroute-backend")}
            for m in ids]})

    async def healthz(self, request: Request) -> Response:
        served = self.holder.current
        return JSONResponse({"status": "ok", "router_version": served.version,
                             "models": list(served.routable)})

    async def metrics_text(self, request: Request) -> Response:
        return PlainTextResponse(self.metrics.render(),
                                 media_type="text/plain; version=0.0.4; charset=utf-8")

    async def admin_reload(self, request: Request) -> Response:
        token = self.config.admin_token
        if token is None:
            raise GatewayError(404, "the admin endpoint is off (no admin_token_env in the "
                               "backends file)", "invalid_request_error", "not_found")
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            raise GatewayError(401, "a valid admin token is required", "invalid_request_error",
                               "invalid_admin_token")
        ok, message = await self.reload()
        return JSONResponse({"reloaded": ok, "message": message,
                             "router_version": self.holder.current.version},
                            status_code=200 if ok else 422)

    async def reload(self) -> tuple[bool, str]:
        """Reload the router file in a worker thread (SIGHUP and the admin endpoint)."""
        ok, message = await asyncio.to_thread(self.holder.reload)
        self.metrics.reloads[("ok" if ok else "error",)] += 1
        self.metrics.router_version = self.holder.current.version
        return ok, message

    # ------------------------------------------------------------------ the app
    @contextlib.asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        connector = aiohttp.TCPConnector(limit=1000, ttl_dns_cache=300)
        async with aiohttp.ClientSession(connector=connector, trust_env=False) as client:
            self.client = client
            yield
        self.client = None

    def app(self) -> Starlette:
        """The ASGI application."""
        c = self._checked
        routes = [
            Route("/v1/chat/completions", c("chat", self.chat), methods=["POST"]),
            Route("/v1/completions", c("completions", self.completions), methods=["POST"]),
            Route("/v1/models", c("models", self.models), methods=["GET"]),
            Route("/healthz", c("healthz", self.healthz, auth=False), methods=["GET"]),
            Route("/metrics", c("metrics", self.metrics_text, auth=False), methods=["GET"]),
            Route("/admin/reload", c("admin", self.admin_reload, auth=False),
                  methods=["POST"]),
        ]
        return Starlette(routes=routes, lifespan=self.lifespan)


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise bad_request("the request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise bad_request("the request body must be a JSON object")
    return body
