"""Batch routing through Ray Data on a local Ray instance (skipped without ray).

Ray is an extra (``pip install "uniroute[ray]"``), not a test dependency: default CI
skips this test; run it where ray is installed.
"""
from __future__ import annotations

import runpy
from pathlib import Path

import numpy as np
import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "ray_batch_routing.py"


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_ray_data_routes_like_the_router():
    pytest.importorskip("ray.data", reason='needs the optional package ray: pip install ".[ray]"')
    main = runpy.run_path(str(EXAMPLE))["main"]
    out = main(n_prompts=20_000, lam=5.0, num_cpus=2)
    assert out["agreement"] == 1.0
    assert out["prompts_per_s"] > 0 and np.isfinite(out["seconds"])
