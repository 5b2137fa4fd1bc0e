"""``uniroute serve``: an OpenAI-compatible routing server (``pip install "uniroute[serve]"``).

- :mod:`uniroute.serve.app` -- the Starlette app (endpoints, routing, headers);
- :mod:`uniroute.serve.forward` -- forwarding to backends, fallback on errors;
- :mod:`uniroute.serve.config` -- the backends file;
- :mod:`uniroute.serve.state` -- the served router and its atomic hot reload;
- :mod:`uniroute.serve.metrics` -- Prometheus text;
- :mod:`uniroute.serve.cli` -- the command.

Nothing heavy is imported until :func:`create_gateway` is called.
"""
from __future__ import annotations

import os
from typing import Any


def create_gateway(router_file: str | os.PathLike[str], backends: Any, *, encoder: Any = None,
                   inline_decisions: bool = False) -> Any:
    """A :class:`~uniroute.serve.app.Gateway` serving ``router_file``.

    ``backends`` is a backends YAML path or a parsed
    :class:`~uniroute.serve.config.GatewayConfig`; ``encoder`` the router's text encoder
    (default: the offline default, when the router was fitted with it). Serve
    ``gateway.app()`` with any ASGI server.
    """
    from uniroute.serve.app import Gateway
    from uniroute.serve.config import GatewayConfig, load_config
    from uniroute.serve.state import RouterHolder

    config = backends if isinstance(backends, GatewayConfig) else load_config(backends)
    holder = RouterHolder(router_file, config.backends, encoder=encoder)
    return Gateway(holder, config, inline_decisions=inline_decisions)


__all__ = ["create_gateway"]
