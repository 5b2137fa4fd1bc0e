"""The ``uniroute`` command: evaluate routers on a data set, embed your data, a demo.

A mistake in the arguments or the data is one line on stderr and exit code 2; Ctrl-C
or SIGTERM stops every worker and exits 130; a closed stdout (``| head``) exits 141
quietly.
"""
from __future__ import annotations

import sys
from collections.abc import Sequence
from types import ModuleType

from uniroute._cli import demo, embed, evaluate, select_k
from uniroute._cli.errors import Parser, UsageError, quiet_broken_pipe, run_guarded
from uniroute.serve import cli as serve

# One module per subcommand, each with ``add_parser(subparsers)``; new subcommands
# add their module here.
SUBCOMMANDS: list[ModuleType] = [demo, evaluate, select_k, embed, serve]


def build_parser() -> Parser:
    """The argument parser of every subcommand."""
    from uniroute import __version__

    parser = Parser(prog="uniroute", description="Evaluate LLM routers on a data set, embed "
                    "your own data, serve a router, or try a routing demo "
                    "(uniroute COMMAND --help).")
    parser.add_argument("--version", action="version", version=f"uniroute {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for module in SUBCOMMANDS:
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a one-line argument error
        try:
            sys.stdout.flush()
        except BrokenPipeError:  # `uniroute --help | head -1`
            return quiet_broken_pipe()
        return int(exc.code or 0)
    return run_guarded(f"uniroute {args.command}", lambda: args.func(args))


__all__ = ["SUBCOMMANDS", "UsageError", "build_parser", "main"]


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
