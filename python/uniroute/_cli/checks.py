"""Argument types and output-path checks, all run before any work starts."""
from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path

from uniroute._cli.errors import UsageError


def at_least(low: int) -> Callable[[str], int]:
    """An argparse type: a whole number >= ``low``."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
        return value
    parse.__name__ = f"whole number >= {low}"
    return parse


def fraction(text: str) -> float:
    """An argparse type: a number in [0, 1]."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must lie in [0, 1], got {value:g}")
    return value


def n_val(text: str) -> int | None:
    """An argparse type: validation prompts per trial, or 'all' (the default 10%)."""
    if text.lower() in ("all", "default"):
        return None
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a whole number or 'all', got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 validation prompt, got {value}")
    return value


def output_file(option: str, path: str | None, suffixes: tuple[str, ...] = ()) -> None:
    """Refuse an output path whose folder is missing or not writable, before the run."""
    if path is None:
        return
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise UsageError(f"{option} {path}: is a folder; give a file name inside it")
    if not folder.is_dir():
        raise UsageError(f"{option} {path}: the folder {folder} does not exist; create it "
                         "first or write elsewhere")
    if not os.access(folder, os.W_OK):
        raise UsageError(f"{option} {path}: the folder {folder} is not writable")
    if suffixes and target.suffix.lower() not in suffixes:
        raise UsageError(f"{option} {path}: expected a file name ending in "
                         f"{' or '.join(suffixes)}")


def plot_file(option: str, path: str | None) -> None:
    """``--plot``: matplotlib must be installed and the file writable, before the run."""
    if path is None:
        return
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise UsageError(f"{option} needs matplotlib, which is not installed: "
                         'pip install matplotlib (from a checkout: pip install ".[plot]")'
                         ) from None
    output_file(option, path, (".png", ".pdf", ".svg", ".jpg", ".jpeg"))
