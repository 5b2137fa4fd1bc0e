"""How the command ends: one line and exit 2 for a user's mistake, never a traceback."""
from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import NoReturn

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a command cut by `head`


class UsageError(Exception):
    """A mistake in the arguments or the data: printed as one line, exit code 2."""


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (the fix and where to read more)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class Terminated(KeyboardInterrupt):
    """SIGTERM, turned into an interrupt so that the same clean-up runs as for Ctrl-C."""


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """While inside, SIGTERM raises :class:`Terminated` in the main thread."""
    def handler(signum: int, frame: object) -> None:
        raise Terminated("SIGTERM")

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (e.g. main() called from a thread)
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def quiet_broken_pipe() -> int:
    """The reader of stdout went away (``uniroute demo | head``): stop quietly."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # no second error when Python flushes stdout
    except (OSError, ValueError):
        pass
    return EXIT_BROKEN_PIPE


def run_guarded(prog: str, func: Callable[[], int]) -> int:
    """Run a subcommand: a UsageError is one line on stderr and exit 2, an interrupt
    exit 130, a closed stdout exit 141 with nothing printed."""
    try:
        with sigterm_as_interrupt():
            code = int(func())
            sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
            return code
    except UsageError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        return quiet_broken_pipe()
    except KeyboardInterrupt as exc:
        what = "terminated (SIGTERM)" if isinstance(exc, Terminated) else "interrupted"
        print(f"{prog}: {what}", file=sys.stderr)
        return EXIT_INTERRUPTED
