"""The CLI's user-error cases: input -> the one line it prints -> exit code 2.

Shared by ``tests/cli/test_cli_errors.py`` (which asserts each line) and
``tools/cli_error_table.py`` (which runs them and writes ``docs/cli-errors.md``).
Every data file is cut from the bundled real ``zeroeval_math_code`` data and then
damaged in one way.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

# (what is wrong, argv with {dir} for the case folder, a text the line must contain); a
# case whose label names PYTHONPATH runs with that PYTHONPATH.
CASES: list[tuple[str, list[str], str]] = [
    ("--trials 0", ["evaluate", "{dir}/good.npz", "--trials", "0"],
     "argument --trials: must be at least 1, got 0"),
    ("--trials -3", ["evaluate", "{dir}/good.npz", "--trials", "-3"],
     "argument --trials: must be at least 1, got -3"),
    ("--jobs 0", ["evaluate", "{dir}/good.npz", "--jobs", "0"],
     "argument --jobs: must be at least 1, got 0"),
    ("--jobs -4", ["evaluate", "{dir}/good.npz", "--jobs", "-4"],
     "argument --jobs: must be at least 1, got -4"),
    ("select-k --trials 0", ["select-k", "{dir}/good.npz", "--trials", "0"],
     "argument --trials: must be at least 1, got 0"),
    ("select-k --grid 0", ["select-k", "{dir}/good.npz", "--grid", "0"],
     "argument --grid: must be at least 1, got 0"),
    ("--min-coverage 1.5", ["evaluate", "{dir}/good.npz", "--min-coverage", "1.5"],
     "argument --min-coverage: must lie in [0, 1], got 1.5"),
    ("--json into a missing folder",
     ["evaluate", "{dir}/good.npz", "--json", "{dir}/missing/x.json"],
     "--json {dir}/missing/x.json: the folder {dir}/missing does not exist"),
    ("--plot into a missing folder",
     ["evaluate", "{dir}/good.npz", "--plot", "{dir}/missing/x.png"],
     "the folder {dir}/missing does not exist"),
    ("--test-llms as many as the LLMs", ["evaluate", "{dir}/good.npz", "--test-llms", "6"],
     "--test-llms 6: the data has 6 LLMs; use 1 to 5"),
    ("--n-val larger than the data", ["evaluate", "{dir}/good.npz", "--n-val", "5000"],
     "--n-val 5000: leaves no training prompt out of 300 (90 are test prompts); use at most "
     "209"),
    ("unknown router", ["evaluate", "{dir}/good.npz", "--routers", "knn", "magic"],
     "--routers: unknown router 'magic'"),
    ("unknown data set", ["evaluate", "nope"], "unknown data set 'nope'"),
    ("NaN embeddings", ["evaluate", "{dir}/nan_embeddings.npz"],
     "{dir}/nan_embeddings.npz: 'embeddings' holds NaN or inf in 1 row(s) (first: row 7)"),
    ("quality on a 0-100 scale", ["evaluate", "{dir}/percent.npz"],
     "'quality' must lie in [0, 1] (1 = correct, or a score), found values in [0, 100]. It "
     "looks like a percentage: divide it by 100."),
    ("duplicate model names", ["evaluate", "{dir}/duplicates.npz"],
     "{dir}/duplicates.npz: 'models' names ["),
    ("broken .npz (truncated)", ["evaluate", "{dir}/truncated.npz"],
     "{dir}/truncated.npz: not a readable .npz file (BadZipFile"),
    ("object-dtype models array", ["evaluate", "{dir}/object_models.npz"],
     "{dir}/object_models.npz: array 'models' is an object (pickled) array"),
    ("required array missing", ["evaluate", "{dir}/no_cost.npz"],
     "{dir}/no_cost.npz lacks the arrays ['cost']"),
    ("no embeddings, prompts given", ["evaluate", "{dir}/long.csv"],
     "{dir}/long.csv has no embeddings; add them from its prompt texts: uniroute embed"),
    ("long CSV without a model column", ["evaluate", "{dir}/no_model.csv"],
     "{dir}/no_model.csv: a CSV in no known layout"),
    ("long CSV with scores 0-100", ["embed", "{dir}/long_percent.csv", "-o", "{dir}/o.npz"],
     "{dir}/long_percent.csv: column 'correct' must lie in [0, 1] (1 = correct, or a score), "
     "found values in [100, 100]. It looks like a percentage: divide it by 100."),
    ("long CSV with a (prompt, model) pair twice", ["embed", "{dir}/long_twice.csv",
                                                    "-o", "{dir}/o.npz"],
     "appear twice; keep one row per prompt and model"),
    ("embed -o into a missing folder", ["embed", "{dir}/long.csv", "-o", "{dir}/missing/o.npz"],
     "-o {dir}/missing/o.npz: the folder {dir}/missing does not exist"),
    ("embed with an unknown encoder", ["embed", "{dir}/long.csv", "--encoder", "nope", "-o",
                                       "{dir}/o.npz"], "--encoder 'nope' is unknown"),
    ("--plot without matplotlib (PYTHONPATH={dir}/no_matplotlib hides it)",
     ["evaluate", "{dir}/good.npz", "--plot", "{dir}/x.png"],
     "--plot needs matplotlib, which is not installed"),
    ("demo --save into a missing folder", ["demo", "--save", "{dir}/missing/r.uniroute"],
     "--save {dir}/missing/r.uniroute: the folder {dir}/missing does not exist"),
]


def make_files(folder: Path) -> None:
    """Write the case files into ``folder`` (300 real prompts x 6 LLMs of ZeroEval)."""
    from uniroute import datasets

    d = datasets.load("zeroeval_math_code")
    rows = np.sort(np.random.default_rng(0).choice(d.n_prompts, 300, replace=False))
    cols = np.array([0, 3, 6, 9, 12, 15])
    base = {"quality": np.nan_to_num(d.quality[np.ix_(rows, cols)], nan=0.0),
            "cost": d.cost[np.ix_(rows, cols)], "models": np.array(d.models)[cols],
            "embeddings": d.embeddings[rows]}

    def save(name: str, **change: object) -> None:
        arrays = {**base, **change}
        np.savez(folder / name, **{k: v for k, v in arrays.items() if v is not None})

    save("good.npz")
    emb = base["embeddings"].copy()
    emb[7, 3] = np.nan
    save("nan_embeddings.npz", embeddings=emb)
    save("percent.npz", quality=base["quality"] * 100)
    names = base["models"].copy()
    names[4] = names[1]
    save("duplicates.npz", models=names)
    save("no_cost.npz", cost=None)
    save("object_models.npz", models=np.array(list(base["models"]), dtype=object))
    blob = (folder / "good.npz").read_bytes()
    (folder / "truncated.npz").write_bytes(blob[: len(blob) // 2])
    prompts = [d.prompts[i] for i in rows[:40]]
    lines = ["prompt,model,correct,cost"]
    for i, p in enumerate(prompts):
        for j, m in enumerate(cols[:3]):
            lines.append(f"{json.dumps(p)},{d.models[m]},{int(base['quality'][i, j])},"
                         f"{base['cost'][i, j]:.6g}")
    (folder / "long.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    percent = [lines[0]] + [",".join(r.rsplit(",", 2)[:1] + ["100", r.rsplit(",", 1)[1]])
                            for r in lines[1:]]
    (folder / "long_percent.csv").write_text("\n".join(percent) + "\n", encoding="utf-8")
    (folder / "long_twice.csv").write_text("\n".join(lines + lines[1:3]) + "\n",
                                           encoding="utf-8")
    hide = folder / "no_matplotlib" / "matplotlib"
    hide.mkdir(parents=True, exist_ok=True)
    (hide / "__init__.py").write_text("raise ImportError('hidden for the test')\n")
    (folder / "no_model.csv").write_text("prompt,correct\nhello,1\n", encoding="utf-8")
