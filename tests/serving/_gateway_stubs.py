"""Helpers of the gateway tests: OpenAI-compatible stub backends and in-thread uvicorn.

Everything binds 127.0.0.1 on an ephemeral port and stops within a bounded time.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from uniroute import UniRouter

from tests._production import bundled

POOL = ("gpt-4-1106-preview", "gpt-3.5-turbo-1106", "mistralai/mistral-7b-chat", "claude-v2")
PROMPTS = ("Write a Python function that returns the n-th Fibonacci number.",
           "What is the capital of France?",
           "Solve for x: 3x + 7 = 22. Show your steps.",
           "Summarise the plot of Hamlet in two sentences.")


def fit_router(models: tuple[str, ...] = POOL, seed: int = 0, scale: float = 1.0) -> UniRouter:
    """A router on the bundled real data (USE embeddings, real USD costs) over ``models``."""
    data = bundled()
    order = np.random.default_rng(seed).permutation(data.n_prompts)
    train, probe = order[:1600], order[1600:2200]
    router = UniRouter(n_clusters=12, random_state=seed, encoder=data.encoder).fit(
        data.embeddings[train])
    price = data.model_cost(probe)
    for name in models:
        m = data.models.index(name)
        router.add_model(name, scale * float(price[m]), data.embeddings[probe],
                         data.quality[probe, m])
    return router


def stream_chunks(backend: str) -> list[bytes]:
    """The exact SSE bytes a stub streams (the gateway must pass them through unchanged)."""
    out = []
    for i, piece in enumerate(("answer ", "from ", backend)):
        chunk = {"id": "chatcmpl-stub", "object": "chat.completion.chunk", "created": 1,
                 "model": backend, "choices": [{"index": 0, "delta": {"content": piece},
                                                "finish_reason": None if i < 2 else "stop"}]}
        out.append(f"data: {json.dumps(chunk)}\n\n".encode())
    out.append(b"data: [DONE]\n\n")
    return out


class Stubs:
    """OpenAI-compatible backends at ``/{name}/v1``; ``mode[name]`` picks the behaviour:
    "ok", "500", "slow" (sleeps ``delay`` s first), "hang" (sleeps 5 s: past the 2 s timeout)."""

    def __init__(self) -> None:
        self.mode: dict[str, str] = {}
        self.keys: dict[str, str] = {}
        self.calls: list[dict[str, Any]] = []
        self.delay = 0.5

    async def handle(self, request: Request) -> Response:
        name = request.path_params["name"]
        body = json.loads(await request.body())
        self.calls.append({"backend": name, "body": body, "path": request.url.path,
                           "auth": request.headers.get("authorization")})
        if self.keys.get(name) and request.headers.get("authorization") != \
                f"Bearer {self.keys[name]}":
            return JSONResponse({"error": {"message": "Incorrect API key provided.",
                                           "type": "invalid_request_error", "param": None,
                                           "code": "invalid_api_key"}}, status_code=401)
        mode = self.mode.get(name, "ok")
        if mode == "500":
            return JSONResponse({"error": {"message": "boom", "type": "server_error",
                                           "param": None, "code": None}}, status_code=500)
        if mode in ("slow", "hang"):
            await asyncio.sleep(self.delay if mode == "slow" else 5.0)
        if body.get("stream"):
            async def gen() -> Any:
                for chunk in stream_chunks(name):
                    yield chunk
            return StreamingResponse(gen(), media_type="text/event-stream")
        if request.url.path.endswith("/chat/completions"):
            return JSONResponse({
                "id": "chatcmpl-stub", "object": "chat.completion", "created": 1,
                "model": body["model"], "choices": [{
                    "index": 0, "finish_reason": "stop",
                    "message": {"role": "assistant", "content": f"answer from {name}"}}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 3, "total_tokens": 4}})
        return JSONResponse({"id": "cmpl-stub", "object": "text_completion", "created": 1,
                             "model": body["model"], "choices": [{
                                 "index": 0, "text": f"answer from {name}",
                                 "finish_reason": "stop", "logprobs": None}]})

    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/{name:path}/v1/chat/completions", self.handle, methods=["POST"]),
            Route("/{name:path}/v1/completions", self.handle, methods=["POST"])])


@contextlib.contextmanager
def serve(app: Any, timeout: float = 20.0) -> Iterator[str]:
    """Run ``app`` with uvicorn in a thread on 127.0.0.1:<ephemeral>; yields its URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                            lifespan="on", timeout_graceful_shutdown=6)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def backends_yaml(stub_url: str, models: tuple[str, ...], **top: Any) -> str:
    """A backends file for ``models`` served by the stubs (backend model = ``be-<i>``)."""
    import yaml

    spec = {"models": {m: {"base_url": f"{stub_url}/{m}/v1", "model": f"be-{i}"}
                       for i, m in enumerate(models)}}
    spec.update(top)
    return yaml.safe_dump(spec, sort_keys=False)
