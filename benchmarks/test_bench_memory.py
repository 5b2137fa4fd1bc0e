"""Peak memory of batch assign: the input plus at most 64 MiB.

Full size: 1,000,000 x 768 float32 (2.9 GiB of input), K = 256. Measured in a fresh
process: the peak resident set (VmHWM, reset through /proc/self/clear_refs once the
input exists) minus the resident set before the call. numpy's BLAS form, for contrast,
materialises the N x K matrix (1 GB here).
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import tag

LIMIT_MIB = 64
CHILD = r"""
import json, sys, time, numpy as np
from uniroute import _core
n, d, k = map(int, sys.argv[1:4])
def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) * 1024
rng = np.random.default_rng(0)
X = np.empty((n, d), np.float32)
for i in range(0, n, 65536):
    X[i:i + 65536] = rng.standard_normal((min(65536, n - i), d), dtype=np.float32)
C = rng.standard_normal((k, d), dtype=np.float32)
idx = _core.CentroidIndex(C)
idx.assign(X[:1000])  # threads, buffers and code paths warmed up
open("/proc/self/clear_refs", "w").write("5")
before = status("VmRSS:")
t0 = time.perf_counter()
labels, sqdist = idx.assign(X)
seconds = time.perf_counter() - t0
peak = status("VmHWM:")
print(json.dumps({"extra": peak - before, "input": X.nbytes, "seconds": seconds}))
"""


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux /proc")
def test_assign_peak_memory(benchmark, full):
    n, d, k = (1_000_000, 768, 256) if full else (50_000, 64, 32)
    benchmark.group = f"peak memory assign N={n} d={d} K={k}"
    tag(benchmark, "ours", "uniroute", limit_mib=LIMIT_MIB)

    def measure():
        out = subprocess.run([sys.executable, "-c", CHILD, str(n), str(d), str(k)],
                             check=True, capture_output=True, text=True).stdout
        return json.loads(out.strip().splitlines()[-1])

    res = benchmark.pedantic(measure, rounds=1, iterations=1)
    extra_mib = res["extra"] / 2**20
    benchmark.extra_info.update(extra_mib=extra_mib, input_mib=res["input"] / 2**20,
                                assign_seconds=res["seconds"])
    # Everything counts, the outputs too (labels 8 B + sqdist 4 B per row: 11.4 MiB).
    assert extra_mib <= LIMIT_MIB, f"{extra_mib:.1f} MiB over the input"
