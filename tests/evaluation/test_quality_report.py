"""Gap closed (issue 13): the JSON field and the docs table script, on hand-made runs."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from uniroute.evaluation.report import _add_gap_closed

ROOT = Path(__file__).resolve().parents[2]


def stat(values):
    return {"mean": sum(values) / len(values), "band": 0.0, "per_trial": values,
            "not_reached": 0}


def test_gap_closed_is_the_share_of_the_band_in_mean_area():
    methods = {m: {"area": stat(v)} for m, v in {
        "best_single": [0.70, 0.72], "knn": [0.75, 0.75], "clairvoyant": [0.80, 0.80],
        "oracle": [0.90, 0.92]}.items()}
    _add_gap_closed(methods)
    # knn: (0.75 - 0.71) / (0.80 - 0.71) = 0.444..., to the oracle 0.04 / 0.20 = 0.2
    assert methods["knn"]["gap_closed"]["clairvoyant"] == pytest.approx(0.04 / 0.09)
    assert methods["knn"]["gap_closed"]["oracle"] == pytest.approx(0.2)
    assert methods["best_single"]["gap_closed"]["oracle"] == pytest.approx(0.0)


def test_quality_tables_script_checks_the_targets(tmp_path):
    def entry(area, missed):
        e = {"area": stat(area), "qnc": {"not_reached": missed}}
        return e
    doc = {"dataset": "toy", "trials": 4, "seed": 0, "n_val": 10,
           "details": {"split": {"train_llms": 2, "test_llms": 2, "train": 6, "test": 3},
                       "cost": "given"},
           "methods": {"knn": entry([0.5, 0.5, 0.5, 0.5], 2),
                       "uniroute_kmeans": entry([0.6, 0.6, 0.6, 0.6], 3),
                       "uniroute_kmeans_safe": entry([0.55, 0.6, 0.6, 0.6], 1),
                       "best_single": entry([0.4, 0.4, 0.4, 0.4], 1),
                       "clairvoyant": entry([0.7, 0.7, 0.7, 0.7], 0),
                       "oracle": entry([0.9, 0.9, 0.9, 0.9], 0)}}
    path = tmp_path / "run.json"
    path.write_text(json.dumps(doc))
    out = subprocess.run([sys.executable, str(ROOT / "tools" / "quality_tables.py"), str(path)],
                         capture_output=True, text=True, check=True).stdout
    assert "| UniRoute (K-means) | 0.6000 ± 0.0000 | 4-0 | 0.12 | 3 | 67% | 40% |" in out
    assert "misses the best test LLM in 3 trials against K-NN's 2 (**missed by 1**)" in out
    assert "misses in 1 of 4 trials (target <= 5 in 100: **missed**); its Area cost against the same " \
           "router without it: -0.0125" in out
