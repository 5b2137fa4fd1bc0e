"""EmbedLLM's schema (Zhuang et al., ICLR 2025; HF ``RZ412/EmbedLLM``).

A folder with long-format label files ``train.csv``, ``val.csv``, ``test.csv`` (any of
them; columns ``model_id``, ``prompt_id``, ``label``, optional ``model_name``, ``prompt``,
``category``), and optional order files ``model_order.csv`` (``model_id``,
``model_name``) and ``question_order.csv`` (``prompt_id``, ``prompt``). The splits are
merged into one prompts x models matrix (the evaluation protocol re-splits); a
(model, prompt) pair given twice keeps the larger label, as EmbedLLM's own code does.

EmbedLLM has no cost column; the paper's cost is the number of parameters. When every
model name states its size (``7B``, ``8x7B``, ``70b``, ``350M``) the cost is that count
in billions (labelled derived); otherwise every model costs 1 (labelled none).
"""
from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np

from uniroute.datasets._shared import log
from uniroute.datasets.core import RoutingDataset

SPLITS = ("train.csv", "val.csv", "test.csv")
_MOE = re.compile(r"(\d+(?:\.\d+)?)\s*x\s*(\d+(?:\.\d+)?)\s*b(?![a-z])", re.IGNORECASE)
_DENSE = re.compile(r"(\d+(?:\.\d+)?)\s*([bm])(?![a-z])", re.IGNORECASE)


def is_embedllm_folder(folder: Path) -> bool:
    """Whether ``folder`` holds EmbedLLM-schema label files."""
    for name in SPLITS:
        if (folder / name).is_file():
            with open(folder / name, encoding="utf-8", newline="") as f:
                header = next(csv.reader(f), [])
            return {"model_id", "prompt_id", "label"} <= set(header)
    return False


def parameter_count(name: str) -> float | None:
    """Parameters in billions stated in a model name (``Mixtral-8x7B`` -> 56), or None."""
    moe = _MOE.search(name)
    if moe:
        return float(moe.group(1)) * float(moe.group(2))
    sizes = [float(v) / (1000.0 if unit.lower() == "m" else 1.0)
             for v, unit in _DENSE.findall(name)]
    return max(sizes) if sizes else None


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def read_embedllm(folder: str | Path) -> RoutingDataset:
    """Read an EmbedLLM-schema folder (see the module docstring)."""
    folder = Path(folder)
    records = [r for name in SPLITS if (folder / name).is_file() for r in _rows(folder / name)]
    if not records:
        raise ValueError(f"{folder}: none of {SPLITS} found")
    missing = {"model_id", "prompt_id", "label"} - set(records[0])
    if missing:
        raise ValueError(f"{folder}: label files lack the columns {sorted(missing)}")
    model_names = {r["model_id"]: r.get("model_name") or r["model_id"] for r in records}
    prompt_text = {r["prompt_id"]: r["prompt"] for r in records if r.get("prompt")}
    category = {r["prompt_id"]: r["category"] for r in records if r.get("category")}
    if (folder / "model_order.csv").is_file():
        model_names.update({r["model_id"]: r["model_name"] for r in
                            _rows(folder / "model_order.csv")})
    if (folder / "question_order.csv").is_file():
        prompt_text.update({r["prompt_id"]: r["prompt"] for r in
                            _rows(folder / "question_order.csv")})
    model_ids = sorted({r["model_id"] for r in records}, key=_numeric_first)
    prompt_ids = sorted({r["prompt_id"] for r in records}, key=_numeric_first)
    col = {m: j for j, m in enumerate(model_ids)}
    row = {p: i for i, p in enumerate(prompt_ids)}
    quality = np.full((len(prompt_ids), len(model_ids)), np.nan, dtype=np.float32)
    for r in records:
        i, j = row[r["prompt_id"]], col[r["model_id"]]
        quality[i, j] = np.fmax(quality[i, j], float(r["label"]))
    names = [model_names[m] for m in model_ids]
    sizes = [parameter_count(n) for n in names]
    if all(s is not None and s > 0 for s in sizes):
        cost, note = np.array(sizes, dtype=np.float64), (
            "derived: number of parameters (billions) stated in the model names")
    else:
        unknown = [n for n, s in zip(names, sizes) if s is None]
        log.warning("EmbedLLM data: no size in the names %s; every model costs 1", unknown[:5])
        cost, note = np.ones(len(names)), "none: no cost in the data; equal-cost pool"
    has_text = len(prompt_text) == len(prompt_ids)
    has_cat = len(category) == len(prompt_ids)
    return RoutingDataset(
        quality=quality, cost=cost, models=names,
        prompts=[prompt_text[p] for p in prompt_ids] if has_text else None,
        tasks=[category[p] for p in prompt_ids] if has_cat else None,
        item_ids=prompt_ids, name=folder.name, cost_note=note)


def _numeric_first(key: str) -> tuple[int, float, str]:
    try:
        return (0, float(key), key)
    except ValueError:
        return (1, 0.0, key)
