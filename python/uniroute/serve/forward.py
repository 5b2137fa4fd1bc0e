"""Forwarding to a backend, with fallback to the next-best model on errors and timeouts.

A backend attempt fails over when it times out, cannot be reached, or answers 429 or
5xx, and only before the first byte of its answer reaches the client (a stream that has
started is passed through as it comes). Other answers, errors included (a 400 for a bad
request is the request's fault, not the backend's), are passed through unchanged.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

import httpx
from starlette.background import BackgroundTask
from starlette.responses import Response, StreamingResponse

from uniroute.serve.config import Backend, GatewayConfig
from uniroute.serve.errors import GatewayError
from uniroute.serve.metrics import Metrics

log = logging.getLogger("uniroute.serve")

_PASSED_HEADERS = ("content-type", "openai-processing-ms", "x-request-id", "openai-version")


def _retryable(status: int) -> bool:
    return status == 429 or status >= 500


def _answer_headers(resp: httpx.Response, extra: dict[str, str]) -> dict[str, str]:
    headers = {k: v for k, v in resp.headers.items() if k.lower() in _PASSED_HEADERS}
    headers.update(extra)
    return headers


async def forward(client: httpx.AsyncClient, config: GatewayConfig, path: str,
                  body: dict[str, Any], ranked: Sequence[str], extra: dict[str, str],
                  metrics: Metrics) -> Response:
    """Send ``body`` to the first model of ``ranked`` that answers; the OpenAI path is
    ``path`` (e.g. ``"/chat/completions"``). ``extra`` are the x-uniroute headers."""
    attempts = list(ranked[:config.max_attempts] if config.fallback else ranked[:1])
    stream = bool(body.get("stream"))
    failures: list[str] = []
    for i, name in enumerate(attempts):
        backend = config.backends[name]
        headers = {"x-uniroute-model": name, **extra, "x-uniroute-attempts": str(i + 1)}
        try:
            resp = await _send(client, backend, path, body, stream)
        except httpx.TimeoutException:
            kind, detail = "timeout", f"{name}: timed out after {backend.timeout:g} s"
        except httpx.TransportError as exc:
            kind, detail = "connection", f"{name}: {type(exc).__name__}"
        else:
            if not _retryable(resp.status_code):
                if stream:
                    return StreamingResponse(resp.aiter_raw(), status_code=resp.status_code,
                                             headers=_answer_headers(resp, headers),
                                             background=BackgroundTask(resp.aclose))
                return Response(resp.content, status_code=resp.status_code,
                                headers=_answer_headers(resp, headers))
            kind, detail = f"http_{resp.status_code}", f"{name}: HTTP {resp.status_code}"
            await resp.aclose()
        metrics.backend_errors[(name, kind)] += 1
        failures.append(detail)
        log.warning("backend attempt %d/%d failed (%s)", i + 1, len(attempts), detail)
    timed_out = all("timed out" in f for f in failures)
    more = "" if config.fallback else " (fallback is off)"
    raise GatewayError(504 if timed_out else 502,
                       f"no backend answered{more}: " + "; ".join(failures),
                       "timeout" if timed_out else "api_error",
                       "backend_timeout" if timed_out else "backend_error")


async def _send(client: httpx.AsyncClient, backend: Backend, path: str, body: dict[str, Any],
                stream: bool) -> httpx.Response:
    payload = dict(body)
    payload["model"] = backend.model
    headers = {"content-type": "application/json"}
    if backend.api_key:
        headers["authorization"] = f"Bearer {backend.api_key}"
    request = client.build_request("POST", backend.url(path), content=json.dumps(payload),
                                   headers=headers, timeout=backend.timeout)
    resp = await client.send(request, stream=True)
    if not stream:
        try:
            await resp.aread()
        finally:
            await resp.aclose()
    return resp
