"""The long layout: one row per prompt x model, from CSV, JSONL or Parquet.

This is the shape of most request logs and evaluation harness outputs. Columns (the
first name of each row is the canonical one; the others are accepted aliases, matched
case-insensitively):

===========  ==========================================  ==================================
column       aliases                                     meaning
===========  ==========================================  ==================================
``prompt``   ``question``, ``input``, ``query``,         the prompt text (required unless
             ``text``                                    ``prompt_id`` is given)
``model``    ``model_name``, ``llm``                     the LLM that answered (required)
``correct``  ``score``, ``quality``, ``label``,          1 = correct, 0 = wrong, or a score
             ``is_correct``, ``accuracy``                in [0, 1] (required; empty = NaN)
``cost``     ``cost_usd``, ``price``, ``total_cost``     what the call cost (optional;
                                                         without it every model costs 1)
``prompt_id``  ``item_id``, ``sample_id``, ``id``        identifies a prompt (optional;
                                                         default: the prompt text)
``task``     ``category``, ``eval_name``, ``dataset``    the prompt's task (optional)
===========  ==========================================  ==================================

Rows are pivoted into the ``(prompts, models)`` matrices of :class:`RoutingDataset`:
prompts in order of first appearance, models likewise. A (prompt, model) pair with no
row is a missing label (NaN); a pair given twice is refused. Quality on a 0-100 scale
is refused with a hint. CSV and JSONL are read with the standard library; Parquet needs
pyarrow (``pip install pyarrow``). The result has no embeddings: ``uniroute embed``
adds them from the prompt texts.
"""
from __future__ import annotations

import csv
import gzip
import io
import json
import math
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from uniroute.datasets.core import RoutingDataset
from uniroute.datasets.validation import DataError

ALIASES: dict[str, tuple[str, ...]] = {
    "prompt": ("prompt", "question", "input", "query", "text"),
    "model": ("model", "model_name", "llm"),
    "correct": ("correct", "score", "quality", "label", "is_correct", "accuracy"),
    "cost": ("cost", "cost_usd", "price", "total_cost"),
    "prompt_id": ("prompt_id", "item_id", "sample_id", "id"),
    "task": ("task", "category", "eval_name", "dataset"),
}
SUFFIXES = (".csv", ".csv.gz", ".jsonl", ".jsonl.gz", ".ndjson", ".parquet")


def columns(header: Iterable[str]) -> dict[str, str]:
    """Canonical column name -> the file's column, for the columns found in ``header``."""
    lower = {h.strip().lower(): h for h in header}
    found = {}
    for canonical, names in ALIASES.items():
        for name in names:
            if name in lower:
                found[canonical] = lower[name]
                break
    return found


def is_long_header(header: Iterable[str]) -> bool:
    """Whether a header names a model column and a quality column (the long layout)."""
    found = columns(header)
    return "model" in found and "correct" in found and (
        "prompt" in found or "prompt_id" in found)


def _open_text(path: Path) -> io.TextIOBase:
    if path.name.endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def csv_header(path: Path) -> list[str]:
    """The first row of a CSV file."""
    csv.field_size_limit(sys.maxsize)
    with _open_text(path) as f:
        return next(csv.reader(f), [])


def _csv_rows(path: Path) -> Iterator[dict[str, Any]]:
    csv.field_size_limit(sys.maxsize)
    with _open_text(path) as f:
        yield from csv.DictReader(f)


def _jsonl_rows(path: Path) -> Iterator[dict[str, Any]]:
    with _open_text(path) as f:
        for i, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}: line {i} is not JSON ({exc.msg})") from None
            if not isinstance(row, dict):
                raise DataError(f"{path}: line {i} is not a JSON object")
            yield row


def _parquet_rows(path: Path) -> Iterator[dict[str, Any]]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise ImportError(f"reading {path} needs pyarrow, which is not installed: "
                          "pip install pyarrow") from None
    yield from pq.read_table(path).to_pylist()


def _number(value: Any, column: str, line: int, path: Path) -> float:
    if value is None or (isinstance(value, str) and value.strip().lower() in
                         ("", "nan", "none", "null", "na")):
        return math.nan
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return float(value.strip().lower() == "true")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise DataError(f"{path}: row {line}: column '{column}' holds {value!r}, expected a "
                        "number") from None


def read_long(path: str | Path, name: str | None = None) -> RoutingDataset:
    """Read a long-layout file (``.csv``, ``.csv.gz``, ``.jsonl``, ``.parquet``).

    Parameters
    ----------
    path : str or Path
        The file (see the module docstring for its columns).
    name : str, optional
        The data set's name (default: the file name without its suffixes).

    Raises
    ------
    DataError
        A required column is missing, a value is not a number, a (prompt, model) pair
        is given twice, or the matrices fail :class:`RoutingDataset`'s checks.
    """
    path = Path(path)
    lower = path.name.lower()
    if lower.endswith(".parquet"):
        rows = _parquet_rows(path)
    elif lower.endswith((".jsonl", ".jsonl.gz", ".ndjson")):
        rows = _jsonl_rows(path)
    else:
        rows = _csv_rows(path)
    prompt_index: dict[str, int] = {}
    model_index: dict[str, int] = {}
    cells: dict[tuple[int, int], tuple[float, float]] = {}
    prompts: list[str] = []
    tasks: list[str] = []
    found: dict[str, str] | None = None
    for line, row in enumerate(rows, start=2):
        if found is None:
            found = columns(row.keys())
            need = [c for c in ("model", "correct") if c not in found]
            if "prompt" not in found and "prompt_id" not in found:
                need.insert(0, "prompt")
            if need:
                raise DataError(f"{path}: no column {need} (the long layout needs prompt, model "
                                f"and correct; aliases: see uniroute.datasets.long); columns "
                                f"found: {sorted(row.keys())}")
        key = str(row.get(found.get("prompt_id", found.get("prompt", "")), ""))
        model = str(row.get(found["model"], "")).strip()
        if not model:
            raise DataError(f"{path}: row {line}: empty '{found['model']}'")
        p = prompt_index.setdefault(key, len(prompt_index))
        if p == len(prompts):
            prompts.append(str(row.get(found.get("prompt", ""), "") or ""))
            tasks.append(str(row.get(found.get("task", ""), "") or ""))
        m = model_index.setdefault(model, len(model_index))
        if (p, m) in cells:
            raise DataError(f"{path}: row {line}: prompt {key[:40]!r} and model {model!r} appear "
                            "twice; keep one row per prompt and model")
        quality = _number(row.get(found["correct"]), found["correct"], line, path)
        cost = (_number(row.get(found["cost"]), found["cost"], line, path)
                if "cost" in found else 1.0)
        cells[(p, m)] = (quality, cost)
    if found is None:
        raise DataError(f"{path}: no rows")
    N, M = len(prompt_index), len(model_index)
    quality_m = np.full((N, M), np.nan, dtype=np.float32)
    cost_m = np.full((N, M), np.nan, dtype=np.float64)
    if cells:
        idx = np.array(list(cells.keys()), dtype=np.int64)
        vals = np.array(list(cells.values()), dtype=np.float64)
        quality_m[idx[:, 0], idx[:, 1]] = vals[:, 0]
        cost_m[idx[:, 0], idx[:, 1]] = vals[:, 1]
    try:
        return RoutingDataset(
            quality=quality_m, cost=cost_m, models=list(model_index),
            prompts=prompts if "prompt" in found else None,
            tasks=tasks if "task" in found else None, item_ids=list(prompt_index),
            name=name or path.name.split(".")[0],
            cost_note=(f"as given: column '{found['cost']}'" if "cost" in found
                       else "none: no cost column (every model costs 1)"))
    except ValueError as exc:  # name the file's own columns, not the matrices
        text = str(exc).replace("'quality'", f"column '{found['correct']}'")
        if "cost" in found:
            text = text.replace("'cost'", f"column '{found['cost']}'")
        raise DataError(f"{path}: {text}") from None
