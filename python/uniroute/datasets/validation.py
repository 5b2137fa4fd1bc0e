"""Checks a data set must pass when it is built or loaded, each failing with one clear line.

- ``quality``: real numbers, 0/1 labels or scores in [0, 1], NaN = missing label. Values
  up to 100 are refused with a hint (percentages: divide by 100).
- ``cost``: real, non-negative, NaN = missing.
- ``embeddings``: real and finite.
- ``models``: unique names.
- no object (pickled) or text arrays where numbers belong.
"""
from __future__ import annotations

from typing import Any

import numpy as np


class DataError(ValueError):
    """A data set's content or file is invalid; the message names the array and the fix."""


def numeric(value: Any, name: str) -> np.ndarray:
    """``value`` as a real-valued array, or a DataError naming ``name``."""
    arr = np.asarray(value)
    if arr.dtype == object or arr.dtype.kind in "USVMm":
        raise DataError(f"'{name}' holds {arr.dtype} values, expected numbers "
                        "(store text columns elsewhere and numbers as float)")
    if arr.dtype.kind == "c":
        raise DataError(f"'{name}' holds complex numbers, expected real numbers")
    return arr


def check_quality(quality: np.ndarray) -> None:
    """0/1 or [0, 1] with NaN for missing; a 0-100 scale is refused with a hint."""
    finite = quality[np.isfinite(quality)]
    if np.isinf(quality).any():
        raise DataError("'quality' holds inf; use NaN for a missing label")
    if finite.size == 0:
        raise DataError("'quality' holds no label at all (every value is NaN)")
    low, high = float(finite.min()), float(finite.max())
    if low < 0.0 or high > 1.0:
        hint = (" It looks like a percentage: divide it by 100."
                if low >= 0.0 and high <= 100.0 else "")
        raise DataError(f"'quality' must lie in [0, 1] (1 = correct, or a score), found values "
                        f"in [{low:g}, {high:g}].{hint}")


def check_cost(cost: np.ndarray) -> None:
    """Non-negative, NaN = missing."""
    if np.isinf(cost).any():
        raise DataError("'cost' holds inf; use NaN for a missing cost")
    finite = cost[np.isfinite(cost)]
    if finite.size and float(finite.min()) < 0.0:
        raise DataError(f"'cost' must be non-negative, found {float(finite.min()):g}")


def check_embeddings(embeddings: np.ndarray) -> None:
    """Every value finite (a NaN embedding would route nowhere)."""
    bad = ~np.isfinite(embeddings)
    if bad.any():
        rows = np.flatnonzero(bad.any(axis=1))
        raise DataError(f"'embeddings' holds NaN or inf in {rows.size} row(s) (first: row "
                        f"{int(rows[0])}); re-embed those prompts or drop them")


def check_unique(names: list[str], what: str = "models") -> None:
    """No name given twice."""
    seen: set[str] = set()
    dup = sorted({n for n in names if n in seen or seen.add(n)})  # type: ignore[func-returns-value]
    if dup:
        raise DataError(f"'{what}' names {dup} more than once; model names must be unique")
