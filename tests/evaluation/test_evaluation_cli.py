"""``uniroute evaluate``: a user's own .npz, JSON shape, N_val sweep, plot."""
from __future__ import annotations

import json

import numpy as np
import pytest
from uniroute import datasets
from uniroute.cli import main


@pytest.fixture(scope="module")
def user_npz(tmp_path_factory):
    """A user's own logs in the documented format, written with plain numpy: 600 real
    ZeroEval prompts, 12 LLMs, per-prompt costs, embeddings (no texts, no groups)."""
    d = datasets.load("zeroeval_math_code")
    rows = np.sort(np.random.default_rng(1).choice(d.n_prompts, 600, replace=False))
    cols = np.arange(12)
    path = tmp_path_factory.mktemp("user") / "my_logs.npz"
    np.savez(path, quality=d.quality[np.ix_(rows, cols)], cost=d.cost[np.ix_(rows, cols)],
             models=np.array(d.models)[cols], embeddings=d.embeddings[rows])
    return path


def test_cli_evaluates_a_users_own_npz(user_npz, tmp_path, capsys):
    out = tmp_path / "result.json"
    code = main(["evaluate", str(user_npz), "--trials", "3", "--seed", "1", "--jobs", "2",
                 "--quiet", "--json", str(out)])
    assert code == 0
    text = capsys.readouterr().out
    assert "my_logs: 600 prompts, 12 LLMs" in text
    for name in ("ZeroRouter", "K-NN", "UniRoute (K-means)", "UniRoute (LearnedMap)",
                 "Clairvoyant", "Random",
                 "Best single LLM", "Oracle", "Area(50%)", "QNC", "run time"):
        assert name in text
    doc = json.loads(out.read_text())
    assert doc["dataset"] == "my_logs" and doc["trials"] == 3 and doc["n_val"] == 60
    assert set(doc["methods"]) == {"zero_router", "knn", "uniroute_kmeans",
                                   "uniroute_learned_map", "uniroute_kmeans_f1",
                                   "uniroute_learned_map_f1", "uniroute_kmeans_safe",
                                   "uniroute_learned_map_safe", "clairvoyant", "random",
                                   "best_single", "oracle"}
    for name, entry in doc["methods"].items():
        for metric in ("area", "area50", "qnc", "peak", "aiq"):
            assert set(entry[metric]) >= {"mean", "band", "per_trial"}
            assert len(entry[metric]["per_trial"]) == 3
        assert ("sign_test_p_vs_knn" in entry) and (name == "knn") == (
            entry["sign_test_p_vs_knn"] is None)
        assert all(q is None or 0 <= q <= 1.5 for q in entry["qnc"]["per_trial"])
        assert entry["qnc"]["not_reached"] == sum(q is None for q in entry["qnc"]["per_trial"])
    area = {m: e["area"]["mean"] for m, e in doc["methods"].items()}
    assert area["oracle"] >= max(area.values()) - 1e-12 and area["random"] < area["knn"]
    # the JSON reports what the API computes for the same data and seed (any n_jobs)
    from uniroute.evaluation import evaluate

    run = evaluate(datasets.load(user_npz), trials=3, seed=1, n_jobs=1)
    for name, entry in doc["methods"].items():
        for metric in ("area", "area50", "qnc", "peak", "aiq"):
            want = [t.metrics[name][metric] for t in run.trials]
            got = entry[metric]["per_trial"]
            assert [g is None for g in got] == [w is None for w in want]
            assert [g for g in got if g is not None] == pytest.approx(
                [w for w in want if w is not None], rel=1e-9)
        assert entry["area"]["mean"] == pytest.approx(np.mean(entry["area"]["per_trial"]),
                                                      rel=1e-12)


def test_cli_n_val_sweep_routers_and_pairs(user_npz, tmp_path, capsys):
    out = tmp_path / "sweep.json"
    assert main(["evaluate", str(user_npz), "--trials", "2", "--jobs", "1", "--quiet",
                 "--n-val", "30", "90", "--routers", "zero_router", "knn",
                 "--test-llms", "2", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Area against N_val" in text and "APGR" in text and "CPT(80%)" in text
    doc = json.loads(out.read_text())
    assert doc["dataset"] == "my_logs" and [r["n_val"] for r in doc["runs"]] == [30, 90]
    assert set(doc["runs"][0]["methods"]) == {"zero_router", "knn", "oracle"}
    assert "apgr" in doc["runs"][0]["methods"]["knn"]


def test_cli_plot(user_npz, tmp_path):
    pytest.importorskip("matplotlib")
    png = tmp_path / "curves.png"
    assert main(["evaluate", str(user_npz), "--trials", "2", "--jobs", "1", "--quiet",
                 "--routers", "zero_router", "random", "--plot", str(png)]) == 0
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_cli_refuses_data_without_embeddings(tmp_path, capsys):
    np.savez(tmp_path / "bare.npz", quality=np.ones((5, 2)), cost=np.ones(2),
             models=np.array(["a", "b"]))
    assert main(["evaluate", str(tmp_path / "bare.npz"), "--trials", "1"]) == 2
    assert "has no 'embeddings' array" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path / "missing.npz")]) == 2
    assert "unknown data set" in capsys.readouterr().err
