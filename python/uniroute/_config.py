"""Build and runtime configuration: which SIMD path runs, how many threads.

The compiled kernels exist for the x86-64 baseline and for AVX2 + FMA + F16C; the
path is chosen on first use from the CPU's features. ``UNIROUTE_SIMD=baseline`` forces
the baseline path; ``UNIROUTE_NUM_THREADS`` sets the threads of the batch kernels (one
level of threads: the kernels never call a multithreaded BLAS).
"""
from __future__ import annotations

import platform
import sys
from typing import Any, TextIO

from uniroute import _core


def config() -> dict[str, Any]:
    """The configuration as a dict (see :func:`show_config`)."""
    info = dict(_core.simd_info())
    info["version"] = _core.__version__
    info["python"] = sys.version.split()[0]
    info["machine"] = platform.machine()
    return info


def show_config(file: TextIO | None = None) -> None:
    """Print the SIMD path in use and why, the CPU's support, threads and build.

    Examples
    --------
    >>> import uniroute
    >>> uniroute.show_config()  # doctest: +SKIP
    uniroute 0.1.0
      simd path            avx2 (CPU has AVX2, FMA and F16C)
      ...
    """
    info = config()
    out = file if file is not None else sys.stdout
    lines = [
        f"uniroute {info['version']}",
        f"  simd path            {info['simd']} ({info['reason']})",
        f"  compiled paths       {', '.join(info['compiled_paths'])}",
        f"  cpu avx2+fma+f16c    {info['cpu_avx2_fma_f16c']}",
        f"  threads              {info['num_threads']} (UNIROUTE_NUM_THREADS, "
        "uniroute.set_num_threads)",
        f"  eigen                {info['eigen']}",
        f"  compiler             {info.get('compiler', 'unknown')}",
        f"  python / machine     {info['python']} / {info['machine']}",
    ]
    out.write("\n".join(lines) + "\n")


def get_num_threads() -> int:
    """Threads used by the batch kernels (assign, dense route, cluster sums)."""
    return int(_core.get_num_threads())


def set_num_threads(n: int) -> None:
    """Set the batch kernels' thread count for this process; 0 restores the default."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"n must be an int, got {type(n).__name__}")
    _core.set_num_threads(n)
