"""Coverage-guided fuzzing of uniroute._core and the router file loader with atheris.

Usage (bounded; run separately from the test suite):
    pip install atheris
    python fuzz/atheris_core.py -max_total_time=120
    python fuzz/atheris_core.py -atheris_runs=200000

Each input's bytes choose an entry point, shapes, a dtype and a layout, then fill the
array bytes directly (so every bit pattern -- NaN payloads, denormals, huge values --
is reachable). Allowed outcomes: a result, ValueError, TypeError, RouterFileError.
Anything else, or a crash, is a finding.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import atheris

with atheris.instrument_imports():
    import numpy as np

    from uniroute import RouterFileError, UniRouter, _core

DTYPES = [np.float32, np.float64, np.float16, np.int8, np.int64, np.uint16, np.complex64, np.bool_,
          ">f8", "U2"]
TMP = Path(tempfile.mkdtemp(prefix="uniroute-atheris-"))


def array(fdp: atheris.FuzzedDataProvider, ndim: int) -> np.ndarray:
    shape = tuple(fdp.ConsumeIntInRange(0, 9) for _ in range(ndim))
    dtype = np.dtype(DTYPES[fdp.ConsumeIntInRange(0, len(DTYPES) - 1)])
    n = int(np.prod(shape)) * dtype.itemsize
    raw = fdp.ConsumeBytes(n).ljust(n, b"\0")
    arr = np.frombuffer(raw, dtype=dtype).reshape(shape).copy() if dtype.kind != "U" else \
        np.full(shape, "ab")
    mode = fdp.ConsumeIntInRange(0, 3)
    if mode == 1 and arr.ndim == 2:
        arr = np.asfortranarray(arr)
    elif mode == 2 and arr.ndim >= 1:
        arr = np.repeat(arr, 2, axis=0)[::2]
    return arr


def test_one(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    which = fdp.ConsumeIntInRange(0, 6)
    lam = fdp.ConsumeFloat()
    try:
        if which == 0:
            labels, sqdist = _core.assign(array(fdp, 2), array(fdp, 2))
            assert not np.isnan(sqdist).any()
        elif which == 1:
            P = _core.soft_assign(array(fdp, 2), array(fdp, 2), array(fdp, 1))
            assert not np.isnan(P).any()
        elif which == 2:
            psi, cost = array(fdp, 2), array(fdp, 1)
            out = _core.route(array(fdp, fdp.ConsumeIntInRange(1, 2)), psi, cost, lam)
            assert out.size == 0 or (0 <= out.min() and out.max() < psi.shape[0])
        elif which == 3:
            _core.choice_table(array(fdp, 2), array(fdp, 1), lam)
        elif which == 4:
            _core.route_path(array(fdp, 2), array(fdp, 1))
        elif which == 5:
            _core.cluster_sums(array(fdp, 2), array(fdp, 1), fdp.ConsumeIntInRange(-1, 9))
        else:
            path = TMP / "r.npz"
            path.write_bytes(fdp.ConsumeBytes(fdp.remaining_bytes()))
            UniRouter.load(path)
    except (ValueError, TypeError, RouterFileError):
        pass


def main() -> None:
    atheris.Setup(sys.argv, test_one)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
