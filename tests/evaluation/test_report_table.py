"""The evaluation table: fits 100 columns by default, a legend defines every metric shown
with its direction, APGR/CPT only when asked for; the built-in progress bar."""
from __future__ import annotations

import io

import numpy as np
import pytest
from uniroute import datasets
from uniroute._progress import ProgressBar
from uniroute.evaluation import evaluate, report


@pytest.fixture(scope="module")
def summary():
    d = datasets.load("zeroeval_math_code")
    rows = np.sort(np.random.default_rng(0).choice(d.n_prompts, 400, replace=False))
    small = d.select(prompts=rows, models=np.array([0, 3, 6, 9, 12, 15]))
    run = evaluate(small, trials=3, seed=0, n_test_models=2, n_jobs=1,
                   routers=["zero_router", "knn", "uniroute_kmeans", "random", "best_single"])
    return report.summarize(run)


def table_lines(text):
    head = next(i for i, line in enumerate(text.splitlines()) if line.startswith("method"))
    lines = text.splitlines()[head:]
    return lines[:lines.index(next(x for x in lines if x.startswith("Area:")))]


def test_default_table_fits_100_columns_with_a_legend(summary):
    text = report.format_table(summary)
    rows = table_lines(text)
    assert len(rows) == 1 + 6 and all(len(r) <= 100 for r in rows)
    assert all(len(line) <= 100 for line in text.splitlines()[2:])
    header = rows[0].split()
    assert header[:2] == ["method", "Area"] and "APGR" not in text
    for metric, direction in (("Area:", "higher is better"), ("QNC:", "lower is better")):
        line = next(x for x in text.splitlines() if x.startswith(metric))
        assert direction in " ".join(text.splitlines()[text.splitlines().index(line):][:4])
    assert "Not shown (--wide shows them)" in text


def test_wide_shows_every_column_and_pairs_only_when_asked(summary):
    wide = report.format_table(summary, wide=True)
    for name in ("Area(50%)", "QNC", "peak", "AIQ", "Area W-L", "QNC W-L"):
        assert name in table_lines(wide)[0]
    assert "Not shown" not in wide and "APGR" not in wide
    pairs = report.format_table(summary, wide=True, pair_metrics=True)
    assert all(h in table_lines(pairs)[0] for h in ("APGR", "CPT(50%)", "CPT(80%)"))
    assert "above 1 = better than the strong LLM" in " ".join(pairs.split())
    oracle = summary["methods"]["oracle"]["apgr"]["mean"]
    assert f"{oracle:.3f}" in next(x for x in table_lines(pairs) if x.startswith("Oracle"))


def test_progress_bar_lines_off_a_terminal():
    out = io.StringIO()
    bar = ProgressBar(20, "trials", stream=out)
    for _ in range(20):
        bar.update(1)
    bar.close()
    lines = out.getvalue().splitlines()
    assert [int(x.split(": ")[1].split("/")[0]) for x in lines] == list(range(0, 21, 2))
    assert lines[-1].startswith("trials: 20/20 [" + "#" * 24 + "]")


def test_progress_bar_redraws_one_line_on_a_terminal():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    out = Tty()
    bar = ProgressBar(3, "x", stream=out)
    for _ in range(3):
        bar.update(1)
    bar.close()
    text = out.getvalue()
    assert text.count("\n") == 1 and text.startswith("\rx: 0/3") and "\rx: 3/3" in text


def test_gap_closed_is_a_column_of_the_default_table(summary):
    text = report.format_table(summary)
    rows = table_lines(text)
    assert "Gap C/O" in rows[0] and all(len(r) <= 100 for r in rows)
    area = {m: e["area"]["mean"] for m, e in summary["methods"].items()}
    share = (area["knn"] - area["best_single"]) / (area["oracle"] - area["best_single"])
    knn = next(x for x in rows if x.startswith("K-NN"))
    assert f" -/{share:.0%} " in knn  # no clairvoyant row in this run: "-" for it
    assert " - " in next(x for x in rows if x.startswith("Oracle"))
    assert "Gap C/O: gap closed in mean Area" in text
