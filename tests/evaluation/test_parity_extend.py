"""tools/encoder_parity.py --extend: a shorter parity run completed from saved static trials."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "tools" / "encoder_parity.py"


def write_inputs(tmp_path: Path, old_reference: list[float]) -> list[str]:
    old = {"dataset": "toy", "trials": 2, "seed": 0, "metric": "area",
           "reference_encoder": "ref", "static_encoder": "static",
           "methods": {"knn": {"reference": old_reference, "static": [0.52, 0.58]}}}
    reference = {"dataset": "toy", "trials": 4, "seed": 0,
                 "methods": {"knn": {"area": {"per_trial": [0.50, 0.60, 0.70, 0.80]}}}}
    trials = tmp_path / "static"
    trials.mkdir()
    for index, value in ((2, 0.73), (3, 0.80)):
        (trials / f"trial_{index:04d}.json").write_text(json.dumps(
            {"index": index, "metrics": {"knn": {"area": value}}, "curves": {}, "info": {}}))
    (tmp_path / "old.json").write_text(json.dumps(old))
    (tmp_path / "ref.json").write_text(json.dumps(reference))
    return [sys.executable, str(TOOL), "toy", "--extend", str(tmp_path / "old.json"),
            "--reference", str(tmp_path / "ref.json"), "--static-trials", str(trials),
            "--routers", "knn", "--json", str(tmp_path / "out.json")]


def test_extend_pairs_old_and_new_static_trials_with_the_reference(tmp_path):
    subprocess.run(write_inputs(tmp_path, [0.50, 0.60]), check=True, capture_output=True)
    out = json.loads((tmp_path / "out.json").read_text())
    knn = out["methods"]["knn"]
    assert out["trials"] == 4
    assert knn["static"] == [0.52, 0.58, 0.73, 0.80]
    # differences (static - reference): +0.02, -0.02, +0.03, 0.00 -> mean 0.0075
    assert knn["diff_mean"] == pytest.approx(0.0075)
    d = [0.02, -0.02, 0.03, 0.0]
    sd = (sum((x - 0.0075) ** 2 for x in d) / 3) ** 0.5
    assert knn["diff_2se"] == pytest.approx(2 * sd / 2)
    assert (knn["static_better"], knn["static_worse"]) == (2, 1)


def test_extend_refuses_a_reference_that_differs_on_shared_trials(tmp_path):
    proc = subprocess.run(write_inputs(tmp_path, [0.50, 0.61]), capture_output=True, text=True)
    assert proc.returncode != 0
    assert "differs from the previous reference" in proc.stderr
