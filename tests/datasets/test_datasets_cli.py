from __future__ import annotations

import numpy as np
import pytest
from uniroute import UniRouter, datasets
from uniroute.cli import main


def test_bundled_data_set_is_real_and_complete():
    assert datasets.list_bundled() == ["routerbench_partial", "zeroeval_math_code"]
    d = datasets.load("routerbench_partial")
    assert (d.n_prompts, d.n_models) == (3178, 11)
    assert d.embeddings.shape == (3178, 512) and d.embeddings.dtype == np.float32
    assert d.cost.shape == (3178, 11) and np.all(d.cost[~np.isnan(d.cost)] > 0)
    assert np.isnan(d.quality).any() and np.nanmax(d.quality) == 1.0
    assert len(d.prompts) == 3178 and set(d.tasks) == {"arc-challenge", "mbpp", "winogrande"}
    assert "gpt-4-1106-preview" in d.models and d.encoder.startswith("fast-universal")
    assert d.model_cost().shape == (11,)
    assert "routerbench_partial" in repr(d)


def test_npz_format_round_trip(tmp_path, rng):
    d = datasets.RoutingDataset(quality=rng.random((5, 2)), cost=[1.0, 2.0], models=["a", "b"],
                                embeddings=rng.random((5, 3)), prompts=list("abcde"),
                                tasks=["t"] * 5, groups=["g", "g"], item_ids=list("12345"),
                                encoder="enc", name="toy")
    d.write = None
    datasets.write_npz(d, tmp_path / "toy.npz")
    e = datasets.load(tmp_path / "toy.npz")
    np.testing.assert_allclose(e.quality, d.quality)
    assert e.models == ["a", "b"] and e.prompts == list("abcde") and e.groups == ["g", "g"]
    assert e.encoder == "enc" and e.name == "toy" and e.model_cost().tolist() == [1.0, 2.0]


@pytest.mark.parametrize("kwargs, match", [
    ({"quality": np.zeros(3), "cost": [1.0], "models": ["a"]}, "quality must be"),
    ({"quality": np.zeros((3, 2)), "cost": [1.0, 2.0], "models": ["a"]}, "models has 1 names"),
    ({"quality": np.zeros((3, 2)), "cost": [1.0], "models": ["a", "b"]}, "cost must have shape"),
    ({"quality": np.zeros((3, 2)), "cost": [1.0, 1.0], "models": ["a", "b"],
      "embeddings": np.zeros((2, 4))}, "embeddings must be"),
    ({"quality": np.zeros((3, 2)), "cost": [1.0, 1.0], "models": ["a", "b"], "tasks": ["x"]},
     "tasks has length 1"),
])
def test_dataset_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        datasets.RoutingDataset(**kwargs)


def test_load_unknown_name(tmp_path):
    with pytest.raises(ValueError, match="unknown data set 'nope'"):
        datasets.load("nope")
    np.savez(tmp_path / "bad.npz", quality=np.zeros((2, 2)))
    with pytest.raises(ValueError, match="lacks the arrays"):
        datasets.load(tmp_path / "bad.npz")


def test_cli_demo_runs_on_bundled_data(capsys, tmp_path):
    out = tmp_path / "router.npz"
    assert main(["demo", "--n-clusters", "4", "--points", "4", "--save", str(out)]) == 0
    text = capsys.readouterr().out
    assert "routerbench_partial: 3178 prompts, 11 LLMs" in text and "router saved" in text
    r = UniRouter.load(out)
    assert len(r.models) == 11 and r.encoder_name.startswith("fast-universal")


def test_cli_demo_needs_embeddings(tmp_path, capsys):
    d = datasets.RoutingDataset(quality=np.ones((4, 1)), cost=[1.0], models=["a"])
    datasets.write_npz(d, tmp_path / "noemb.npz")
    assert main(["demo", "--dataset", str(tmp_path / "noemb.npz")]) == 2
