"""Random hostile inputs for the uniroute entry points (shared by the fuzz drivers and tests).

Each generator draws from a ``numpy.random.Generator`` so that a failing case is
reproducible from its seed. Arrays cover zero sizes, tiny and large dimensions, every
numpy dtype family, non-contiguous / Fortran / read-only / misaligned / byte-swapped
buffers, NaN and inf, and mismatched shapes.
"""
from __future__ import annotations

from typing import Any

import numpy as np

REAL = [np.float16, np.float32, np.float64, np.longdouble, np.int8, np.int16, np.int32, np.int64,
        np.uint8, np.uint16, np.uint32, np.uint64]
REFUSED = [np.complex64, np.complex128, np.bool_, object, "U3", "S3", "datetime64[s]",
           "timedelta64[s]", [("a", np.float32), ("b", np.float32)]]


def dim(rng: np.random.Generator) -> int:
    return int(rng.choice([0, 1, 1, 2, 3, 5, 8, 17, 64, 300]))


def array(rng: np.random.Generator, shape: tuple[int, ...], *, finite: float = 0.9) -> Any:
    """An array of ``shape`` (sometimes another shape), of a random dtype and layout."""
    if rng.random() < 0.05:  # a wrong number of dimensions
        shape = shape[:-1] if len(shape) > 1 and rng.random() < 0.5 else (*shape, 2)
    if rng.random() < 0.03:
        odd = [None, 3.0, "text", [[1.0, 2.0], [3.0]], [1, 2, 3], [[0.5] * shape[-1]] if shape else [0]]
        return odd[int(rng.integers(len(odd)))]
    base = rng.standard_normal(shape) * float(rng.choice([1e-30, 1.0, 10.0, 1e30]))
    if rng.random() > finite and base.size:
        flat = base.reshape(-1)
        flat[rng.integers(0, flat.size, 1 + flat.size // 10)] = rng.choice([np.nan, np.inf, -np.inf])
    if rng.random() < 0.08:
        dtype: Any = REFUSED[rng.integers(len(REFUSED))]
        try:
            return base.astype(dtype)
        except (TypeError, ValueError):
            return np.zeros(shape, dtype=np.complex64)
    dtype = REAL[rng.integers(len(REAL))]
    with np.errstate(all="ignore"):
        arr = base.astype(dtype) if np.dtype(dtype).kind == "f" else np.nan_to_num(base).clip(
            np.iinfo(dtype).min, np.iinfo(dtype).max).astype(dtype)
    return layout(rng, arr)


def layout(rng: np.random.Generator, arr: np.ndarray) -> np.ndarray:
    r = rng.random()
    if r < 0.15 and arr.ndim == 2:
        arr = np.asfortranarray(arr)
    elif r < 0.30 and arr.ndim >= 1:
        big = np.repeat(arr, 2, axis=0)
        arr = big[::2]  # non-contiguous view
    elif r < 0.40 and arr.size:
        raw = np.zeros(arr.nbytes + 1, dtype=np.uint8)
        mis = raw[1:].view(arr.dtype).reshape(arr.shape)
        mis[...] = arr
        arr = mis  # misaligned
    elif r < 0.48:
        arr = arr.astype(arr.dtype.newbyteorder(">"))
    if rng.random() < 0.2:
        arr.flags.writeable = False
    return arr


def labels(rng: np.random.Generator, n: int, K: int) -> Any:
    r = rng.random()
    if r < 0.1:
        return rng.integers(-2, K + 3, n)  # some out of range
    if r < 0.15:
        return rng.random(n)  # float labels: refused
    dtype = [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint32, np.uint64][rng.integers(7)]
    return layout(rng, rng.integers(0, max(K, 1), n).astype(dtype))


def scalar(rng: np.random.Generator) -> Any:
    return float(rng.choice([0.0, 0.5, 1.0, 1e6, -1.0, np.nan, np.inf, 1e-300, 0.1, 1e300]))
