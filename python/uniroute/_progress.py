"""A minimal progress bar on stderr (no dependency; numpy stays the only one).

On a terminal the bar redraws one line (``\\r``) at most ten times a second; elsewhere
(a log file, CI) it prints one line at every tenth of the work, so logs stay short.
"""
from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    """``done/total`` with a bar, the rate and the time left.

    Parameters
    ----------
    total : int
        Units of work (e.g. trials).
    desc : str
        Label printed before the bar.
    unit : str
        Name of one unit.
    stream : file, optional
        Where to write (default ``sys.stderr``).
    """

    width = 24

    def __init__(self, total: int, desc: str = "", unit: str = "it",
                 stream: TextIO | None = None) -> None:
        self.total = max(int(total), 1)
        self.desc, self.unit = desc, unit
        self.stream = stream if stream is not None else sys.stderr
        self.n = 0
        self._start = self._last = time.monotonic()
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._next_tenth = 1
        self._closed = False
        self._draw(force=True)

    def update(self, n: int = 1) -> None:
        """Count ``n`` more units done and redraw when due."""
        self.n = min(self.n + int(n), self.total)
        self._draw(force=self.n >= self.total)

    def line(self) -> str:
        """The bar's current text (without the line ending)."""
        frac = self.n / self.total
        filled = round(frac * self.width)
        elapsed = time.monotonic() - self._start
        rate = self.n / elapsed if elapsed > 0 else 0.0
        left = (self.total - self.n) / rate if rate > 0 else None
        eta = "?" if left is None else f"{left:.0f} s"
        return (f"{self.desc}: {self.n}/{self.total} [{'#' * filled}{'.' * (self.width - filled)}]"
                f" {elapsed:.0f} s elapsed, {eta} left")

    def _draw(self, force: bool = False) -> None:
        if self._closed:
            return
        now = time.monotonic()
        try:
            if self._tty:
                if force or now - self._last >= 0.1:
                    self.stream.write("\r" + self.line())
                    self.stream.flush()
                    self._last = now
            elif self.n * 10 >= self._next_tenth * self.total or (force and self.n == 0):
                while self.n * 10 >= self._next_tenth * self.total:
                    self._next_tenth += 1
                self.stream.write(self.line() + "\n")
                self.stream.flush()
        except (OSError, ValueError):  # a closed stream never stops the work
            self._closed = True

    def close(self) -> None:
        """End the bar's line (on a terminal)."""
        if self._closed:
            return
        try:
            if self._tty:
                self.stream.write("\r" + self.line() + "\n")
                self.stream.flush()
        except (OSError, ValueError):
            pass
        self._closed = True
