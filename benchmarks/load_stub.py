"""Pieces of the gateway load test (benchmarks/load_server.py).

- :func:`stub_app`: an OpenAI-compatible backend that answers at once (raw ASGI, a
  fixed body), so what the load test measures is the gateway, not the backend;
- :func:`hashing_encoder`: a **benchmark-only stand-in** encoder (feature hashing of
  lower-cased word tokens, crc32, 256-d, L2-normalised; ~tens of microseconds per
  prompt). It is not a good prompt encoder; it exists so that the server's own overhead
  can be measured apart from the encoder's time. Pass it to ``uniroute serve --encoder
  benchmarks.load_stub:hashing_encoder``;
- :func:`build_router`: a router fitted on the bundled real RouterBench slice with the
  embeddings of the chosen encoder (USE: the stored ones; hashing: computed here).
"""
from __future__ import annotations

import json
import re
import zlib
from typing import Any

import numpy as np

HASH_NAME = "uniroute-bench-hashing-v1"
HASH_DIM = 256
_TOKEN = re.compile(r"\w+")

_BODY = json.dumps({
    "id": "chatcmpl-stub", "object": "chat.completion", "created": 1, "model": "stub",
    "choices": [{"index": 0, "finish_reason": "stop",
                 "message": {"role": "assistant", "content": "ok"}}],
    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}).encode()


async def stub_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answer every POST with a fixed chat.completion at once (lifespan accepted)."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    more = True
    while more:  # drain the request body
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(_BODY)).encode())]})
    await send({"type": "http.response.body", "body": _BODY})


def _hash_one(text: str) -> np.ndarray:
    v = np.zeros(HASH_DIM, dtype=np.float32)
    for token in _TOKEN.findall(text.lower()):
        h = zlib.crc32(token.encode())
        v[h % HASH_DIM] += 1.0 if (h >> 16) & 1 else -1.0
    n = float(np.linalg.norm(v))
    return v / n if n > 0 else v


def hashing_encoder() -> Any:
    """The benchmark-only hashing stand-in encoder (see the module docstring)."""
    from uniroute.encoders import CallableEncoder

    return CallableEncoder(lambda texts: np.stack([_hash_one(t) for t in texts]),
                           name=HASH_NAME, dim=HASH_DIM)


def build_router(encoder: str, seed: int = 0, cost_scale: float = 1.0) -> Any:
    """A router on the bundled RouterBench slice, embedded by ``encoder``: "use" (the
    stored USE embeddings), "hash" (the stand-in) or "package.module:name"."""
    from uniroute import UniRouter, datasets

    data = datasets.load("routerbench_partial")
    if encoder == "use":
        X, name = data.embeddings, data.encoder
    else:  # "hash", or any encoder given as "package.module:name"
        from uniroute.integrations.decision import load_encoder

        enc = hashing_encoder() if encoder == "hash" else load_encoder(encoder)
        X, name = enc.encode(list(data.prompts)), enc.name
    order = np.random.default_rng(seed).permutation(data.n_prompts)
    train, probe = order[:1600], order[1600:2200]
    router = UniRouter(n_clusters=24, random_state=seed, encoder=name).fit(X[train])
    price = data.model_cost(probe)
    for m, model in enumerate(data.models):
        router.add_model(model, cost_scale * float(price[m]), X[probe], data.quality[probe, m])
    return router
