"""The ``uniroute serve`` command (hooked into :mod:`uniroute.cli` by ``add_parser``)."""
from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from typing import Any

DESCRIPTION = (
    "Serve ROUTER_FILE as an OpenAI-compatible endpoint: requests with model 'uniroute' "
    "(or 'uniroute:lam=0.5') are routed and forwarded to the chosen model's backend "
    "(see docs/gateway.md). SIGHUP reloads ROUTER_FILE; a bad file keeps the old router.")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``serve`` sub-command to ``subparsers``."""
    p = subparsers.add_parser("serve", help="OpenAI-compatible routing server",
                              description=DESCRIPTION)
    p.add_argument("router_file", metavar="ROUTER_FILE", help="a saved router (.npz)")
    p.add_argument("--backends", required=True, metavar="FILE.yaml",
                   help="where each pool model is served (see docs/gateway.md)")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--encoder", default=None, metavar="MODULE:NAME",
                   help="the router's text encoder, or a factory of it (default: the "
                        "offline default encoder, when the router was fitted with it)")
    p.add_argument("--inline-decisions", action="store_true",
                   help="decide on the event loop (for a fast encoder) instead of a thread")
    p.add_argument("--log-level", default="info",
                   choices=["critical", "error", "warning", "info", "debug"])
    p.set_defaults(func=main)
    return p


def build(args: argparse.Namespace) -> Any:
    """The Gateway the arguments describe (errors name the bad input)."""
    from uniroute.integrations.decision import load_encoder
    from uniroute.serve import create_gateway

    encoder = load_encoder(args.encoder) if args.encoder else None
    return create_gateway(args.router_file, args.backends, encoder=encoder,
                          inline_decisions=args.inline_decisions)


async def _run(gateway: Any, args: argparse.Namespace) -> None:
    import uvicorn

    config = uvicorn.Config(gateway.app(), host=args.host, port=args.port,
                            log_level=args.log_level, access_log=False)
    server = uvicorn.Server(config)
    loop = asyncio.get_running_loop()
    tasks: set[asyncio.Task[Any]] = set()

    def on_sighup() -> None:
        task = loop.create_task(gateway.reload())
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    if hasattr(signal, "SIGHUP"):
        loop.add_signal_handler(signal.SIGHUP, on_sighup)
    await server.serve()


def main(args: argparse.Namespace) -> int:
    """Run the server until interrupted; 2 with one clear line for a bad input."""
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s: %(message)s")
    try:
        import aiohttp  # noqa: F401
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
        import yaml  # noqa: F401
    except ImportError as exc:
        print(f"uniroute serve: {exc.name} is not installed; pip install \"uniroute[serve]\" "
              "(from a checkout: pip install \".[serve]\")", file=sys.stderr)
        return 2
    try:
        gateway = build(args)
    except (OSError, ValueError, TypeError, ImportError, AttributeError) as exc:
        print(f"uniroute serve: {exc}", file=sys.stderr)
        return 2
    asyncio.run(_run(gateway, args))
    return 0
