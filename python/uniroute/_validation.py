"""The one place where public inputs are checked and normalised.

The compiled core checks again at its own boundary; these helpers exist so that the
Python API raises errors that name the user's argument (``embeddings``, ``correct``)
rather than the kernel's (``X``), and so that shapes are known before any work starts.
"""
from __future__ import annotations

import math
import unicodedata
from typing import Any

import numpy as np

_REAL_KINDS = ("f", "i", "u")


def as_array(x: Any, name: str) -> np.ndarray:
    """``x`` as an ndarray of a real dtype (no copy when it already is one)."""
    try:
        arr = np.asarray(x)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"{name} could not be read as an array: {exc}") from exc
    if arr.dtype.kind not in _REAL_KINDS:
        raise TypeError(
            f"{name} has dtype {arr.dtype}, expected a real floating-point or integer dtype"
        )
    return arr


def as_embeddings(x: Any, name: str, dim: int | None = None) -> tuple[np.ndarray, bool]:
    """Embeddings as a 2-D array and whether a single 1-D prompt was given.

    A 1-D input of shape ``(dim,)`` is one prompt and becomes a ``(1, dim)`` view.
    """
    arr = as_array(x, name)
    single = arr.ndim == 1
    if single:
        arr = arr.reshape(1, -1)
    if arr.ndim != 2:
        raise ValueError(
            f"{name} must have shape (n_prompts, dim) or (dim,), got shape {arr.shape}"
        )
    if arr.shape[1] < 1:
        raise ValueError(f"{name} has dim 0; expected at least one column")
    if dim is not None and arr.shape[1] != dim:
        raise ValueError(f"{name} has dim {arr.shape[1]}, the router was fitted with dim {dim}")
    return arr, single


def as_float_matrix(x: Any, name: str) -> np.ndarray:
    """A finite 2-D float32 (float64 stays float64) C-contiguous copy-or-view of ``x``."""
    arr, _ = as_embeddings(x, name)
    dtype = np.float64 if arr.dtype == np.float64 else np.float32
    arr = np.ascontiguousarray(arr, dtype=dtype)
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or inf; expected finite values")
    return arr


def as_correct(x: Any, name: str, n: int) -> np.ndarray:
    """Per-prompt correctness in [0, 1] (bool allowed) as float64; NaN = not answered."""
    arr = np.asarray(x)
    arr = as_array(arr.astype(np.float64) if arr.dtype == bool else arr, name)
    arr = arr.astype(np.float64, copy=False)
    if arr.ndim != 1:
        raise ValueError(f"{name} must have shape (n_probes,), got shape {arr.shape}")
    if arr.shape[0] != n:
        raise ValueError(f"{name} has length {arr.shape[0]}, expected {n} (one per probe prompt)")
    seen = arr[~np.isnan(arr)]
    if seen.size and (seen.min() < 0.0 or seen.max() > 1.0):
        raise ValueError(f"{name} must lie in [0, 1] (NaN = not answered); found {seen.min()}"
                         f"..{seen.max()}")
    return arr


def as_cost(x: Any, name: str = "cost") -> float:
    """One finite, non-negative price per query."""
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {type(x).__name__}")
    value = float(x)
    if not math.isfinite(value) or value < 0.0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value}")
    return value


def as_lam(x: Any) -> float:
    """The cost weight lambda: a finite number >= 0."""
    return as_cost(x, "lam")


def as_name(x: Any, name: str = "name") -> str:
    """A model name: a non-empty string without control characters."""
    if not isinstance(x, str):
        raise TypeError(f"{name} must be a str, got {type(x).__name__}")
    if not x:
        raise ValueError(f"{name} must be a non-empty string")
    if any(unicodedata.category(ch).startswith("C") for ch in x):
        raise ValueError(f"{name} {x!r} contains control or unassigned characters")
    return x


def as_positive_int(x: Any, name: str) -> int:
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(x).__name__}")
    if x < 1:
        raise ValueError(f"{name} must be >= 1, got {x}")
    return int(x)


def as_correct_matrix(x: Any, name: str, n: int) -> np.ndarray:
    """Correctness of several LLMs ``(n, M)`` in [0, 1] as float64 (bool allowed); NaN = missing."""
    arr = np.asarray(x)
    arr = as_array(arr.astype(np.float64) if arr.dtype == bool else arr, name).astype(np.float64)
    if arr.ndim != 2 or arr.shape[0] != n:
        raise ValueError(f"{name} must have shape ({n}, n_training_llms), got {arr.shape}")
    seen = arr[~np.isnan(arr)]
    if seen.size and (seen.min() < 0 or seen.max() > 1):
        raise ValueError(f"{name} must lie in [0, 1] (NaN = missing)")
    return arr
