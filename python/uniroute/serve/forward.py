"""Forwarding to a backend, with fallback to the next-best model on errors and timeouts.

A backend attempt fails over when it times out, cannot be reached, or answers 429 or
5xx, and only before the first byte of its answer reaches the client (a stream that has
started is passed through as it comes). Other answers, errors included (a 400 for a bad
request is the request's fault, not the backend's), are passed through unchanged.
"""
from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

import aiohttp
from starlette.background import BackgroundTask
from starlette.responses import Response, StreamingResponse

from uniroute.serve.config import Backend, GatewayConfig
from uniroute.serve.errors import GatewayError
from uniroute.serve.metrics import Metrics

log = logging.getLogger("uniroute.serve")

_PASSED_HEADERS = ("content-type", "openai-processing-ms", "x-request-id", "openai-version")


def _retryable(status: int) -> bool:
    return status == 429 or status >= 500


def _answer_headers(resp: aiohttp.ClientResponse, extra: dict[str, str]) -> dict[str, str]:
    headers = {k: v for k, v in resp.headers.items() if k.lower() in _PASSED_HEADERS}
    headers.update(extra)
    return headers


async def forward(session: aiohttp.ClientSession, config: GatewayConfig, path: str,
                  body: dict[str, Any], ranked: Callable[[], Sequence[str]], first: str,
                  extra: dict[str, str], metrics: Metrics) -> Response:
    """Send ``body`` to ``first``, then (on failure) to the next models of ``ranked()``
    (called only then; it starts with ``first``), until one answers. The OpenAI path is
    ``path`` (e.g. ``"/chat/completions"``); ``extra`` are the x-uniroute headers."""
    limit = config.max_attempts if config.fallback else 1
    attempts = [first]
    stream = bool(body.get("stream"))
    failures: list[str] = []
    i = 0
    while i < len(attempts):
        name = attempts[i]
        backend = config.backends[name]
        headers = {"x-uniroute-model": name, **extra, "x-uniroute-attempts": str(i + 1)}
        try:
            resp, content = await _send(session, backend, path, body, stream)
        except asyncio.TimeoutError:
            kind, detail = "timeout", f"{name}: timed out after {backend.timeout:g} s"
        except aiohttp.ClientError as exc:
            kind, detail = "connection", f"{name}: {type(exc).__name__}"
        else:
            if not _retryable(resp.status):
                if stream:
                    return StreamingResponse(resp.content.iter_any(), status_code=resp.status,
                                             headers=_answer_headers(resp, headers),
                                             background=BackgroundTask(resp.release))
                return Response(content, status_code=resp.status,
                                headers=_answer_headers(resp, headers))
            kind, detail = f"http_{resp.status}", f"{name}: HTTP {resp.status}"
            resp.release()
        metrics.backend_errors[(name, kind)] += 1
        failures.append(detail)
        log.warning("backend attempt %d of at most %d failed (%s)", i + 1, limit, detail)
        if i == 0 and limit > 1:
            attempts = list(ranked()[:limit])
        i += 1
    timed_out = all("timed out" in f for f in failures)
    more = "" if config.fallback else " (fallback is off)"
    raise GatewayError(504 if timed_out else 502,
                       f"no backend answered{more}: " + "; ".join(failures),
                       "timeout" if timed_out else "api_error",
                       "backend_timeout" if timed_out else "backend_error")


async def _send(session: aiohttp.ClientSession, backend: Backend, path: str,
                body: dict[str, Any], stream: bool) -> tuple[aiohttp.ClientResponse, bytes]:
    """POST to the backend; a whole answer is read within the timeout, a stream's first
    bytes (then each chunk) within it."""
    payload = dict(body)
    payload["model"] = backend.model
    headers = {"content-type": "application/json"}
    if backend.api_key:
        headers["authorization"] = f"Bearer {backend.api_key}"
    timeout = (aiohttp.ClientTimeout(total=None, sock_connect=backend.timeout,
                                     sock_read=backend.timeout) if stream
               else aiohttp.ClientTimeout(total=backend.timeout))
    resp = await session.post(backend.url(path), data=json.dumps(payload).encode(),
                              headers=headers, timeout=timeout)
    if stream and not _retryable(resp.status):
        return resp, b""
    try:
        return resp, await resp.read()
    finally:
        resp.release()
