"""Bounded extra memory: large inputs stream through the core in blocks.

The documented bound (SECURITY.md, README): besides the input and the outputs
(N x 12 bytes for assign), the core allocates O(block) memory -- the converted block of
rows (2**20 elements) and the GEMM block -- plus a copy of the centroids: far below
64 MiB. Measured here with the peak RSS of a child process, so that C++ allocations
count too.
"""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

CHILD = textwrap.dedent("""
    import json, resource, sys
    import numpy as np
    from uniroute import _core

    N, d, K, kind = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    rng = np.random.default_rng(0)
    if kind == "fortran64":      # needs conversion: must not be copied whole
        X = np.empty((N, d), dtype=np.float64, order="F")
        for j in range(d):
            X[:, j] = rng.standard_normal(N)
    else:                        # C-contiguous float32: used in place
        X = np.empty((N, d), dtype=np.float32)
        for i in range(0, N, 4096):
            X[i:i + 4096] = rng.standard_normal((min(4096, N - i), d))
    C = rng.standard_normal((K, d)).astype(np.float32)
    phi = np.full((1, K), 1.0 / K, dtype=np.float32)
    def rss():
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * resource.getpagesize()
    before = max(rss(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
    labels, sqdist = _core.assign(X, C)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"input": X.nbytes, "extra": after - before,
                      "outputs": labels.nbytes + sqdist.nbytes}))
""")


@pytest.mark.parametrize("kind", ["fortran64", "c32"])
def test_assign_extra_memory_is_bounded(kind):
    N, d, K = 150_000, 256, 64
    out = subprocess.run([sys.executable, "-c", CHILD, str(N), str(d), str(K), kind],
                         capture_output=True, text=True, check=True)
    m = json.loads(out.stdout)
    # A whole converted copy would be >= N*d*4 = 154 MB; the bound is 64 MiB.
    assert m["extra"] - m["outputs"] < 64 * 2**20, m
    assert m["input"] > 128 * 2**20  # so that a whole copy would break the bound
