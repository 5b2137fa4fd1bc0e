"""RouterBench's schema (Hu et al., 2024) and the shared ``routerbench_partial`` matrices.

The CSV schema: one row per prompt, columns ``sample_id``, ``prompt`` (the string form
of a Python list of turns), ``eval_name``, one column per model holding its quality in
[0, 1], and ``<model>|total_cost`` holding the USD cost of that call (real costs).
Other columns (``<model>|model_response``, ``oracle_model_to_route_to``, an unnamed
index) are ignored. A folder of such CSVs (``.csv`` or ``.csv.gz``) is read as one data
set, files in name order. RouterBench's own ``.pkl`` is a pickle and is not read (it
could execute code): convert it to CSV with pandas first.
"""
from __future__ import annotations

import ast
import csv
import gzip
import io
import sys
from pathlib import Path

import numpy as np

from uniroute.datasets._shared import read_aligned_embeddings, read_parquet_columns
from uniroute.datasets.core import RoutingDataset

COST_SUFFIX = "|total_cost"


def prompt_text(raw: str) -> str:
    """RouterBench stores a prompt as the string form of a list of turns; join them."""
    try:
        turns = ast.literal_eval(raw)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return raw
    return "\n\n".join(str(t) for t in turns) if isinstance(turns, list) else str(turns)


def _open_text(path: Path) -> io.TextIOBase:
    if path.name.endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def _float(value: str) -> float:
    return float(value) if value.strip() not in ("", "nan", "NaN", "None") else np.nan


def is_routerbench_csv(path: Path) -> bool:
    """Whether the file's header has RouterBench's ``<model>|total_cost`` columns."""
    csv.field_size_limit(sys.maxsize)
    with _open_text(path) as f:
        header = next(csv.reader(f), [])
    return "prompt" in header and any(h.endswith(COST_SUFFIX) for h in header)


def read_routerbench_csv(path: str | Path) -> RoutingDataset:
    """Read one RouterBench-schema CSV file or a folder of them (see the module doc)."""
    path = Path(path)
    files = (sorted(p for p in path.iterdir() if p.name.endswith((".csv", ".csv.gz")))
             if path.is_dir() else [path])
    if not files:
        raise ValueError(f"{path}: no .csv or .csv.gz files")
    csv.field_size_limit(sys.maxsize)
    models: list[str] | None = None
    quality, cost, prompts, tasks, ids = [], [], [], [], []
    for file in files:
        with _open_text(file) as f:
            reader = csv.DictReader(f)
            header = reader.fieldnames or []
            names = [h[: -len(COST_SUFFIX)] for h in header if h.endswith(COST_SUFFIX)]
            missing = [m for m in names if m not in header] + [
                c for c in ("prompt",) if c not in header]
            if not names or missing:
                raise ValueError(f"{file}: not RouterBench's schema (need 'prompt', <model> and "
                                 f"<model>{COST_SUFFIX} columns; missing {missing or 'models'})")
            if models is None:
                models = names
            elif sorted(names) != sorted(models):
                raise ValueError(f"{file}: models {sorted(names)} differ from {sorted(models)}")
            for row in reader:
                quality.append([_float(row[m]) for m in models])
                cost.append([_float(row[m + COST_SUFFIX]) for m in models])
                prompts.append(prompt_text(row["prompt"]))
                tasks.append(row.get("eval_name", "") or "")
                ids.append(row.get("sample_id", "") or str(len(ids)))
    assert models is not None
    return RoutingDataset(
        quality=np.array(quality, dtype=np.float32).reshape(-1, len(models)),
        cost=np.array(cost, dtype=np.float64).reshape(-1, len(models)),
        models=models, prompts=prompts, tasks=tasks, item_ids=ids,
        name=path.stem.split(".")[0], cost_note="real: RouterBench <model>|total_cost (USD)")


def read_routerbench_matrices(folder: str | Path) -> RoutingDataset:
    """The shared ``routerbench_partial`` folder (matrices + MiniLM embeddings).

    Caveat: the MiniLM embeddings of all ARC-Challenge rows are identical, and so are
    those of all Winogrande rows (a shared few-shot prefix, truncated at 256 tokens);
    the bundled ``routerbench_partial`` re-embeds each final question instead.
    """
    folder = Path(folder)
    with np.load(folder / "routerbench_partial_matrices.npz", allow_pickle=False) as z:
        models = [str(m) for m in z["models"]]
        quality, cost = z["quality"], z["cost_usd"]
        ids, tasks = [str(s) for s in z["sample_id"]], [str(t) for t in z["eval_name"]]
    emb, encoder = read_aligned_embeddings(folder, len(ids), ids)
    texts = read_parquet_columns(folder / "routerbench_partial.parquet", ["prompt"],
                                 required=False)
    return RoutingDataset(
        quality=quality, cost=cost, models=models, embeddings=emb, encoder=encoder,
        prompts=None if texts is None else [prompt_text(p) for p in texts["prompt"]],
        tasks=tasks, item_ids=ids, name="routerbench_partial_minilm",
        cost_note="real: RouterBench <model>|total_cost (USD)")
