"""ZeroEval math + code (GSM8K, MATH level 5, CRUXEval): 29 LLMs, derived USD cost.

ZeroEval records no cost. The cost here is **derived** the way a price would be: each
model's per-token price (``data/zeroeval_prices.json``, built from LiteLLM's price map
by ``tools/zeroeval_prices.py``; the mapping rules and the imputed prices are listed in
``data/LICENSE-DATA.md``) times (prompt characters + answer characters) / 4.
"""
from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from uniroute.datasets._shared import read_aligned_embeddings, read_parquet_columns
from uniroute.datasets.core import RoutingDataset

TASKS = ("gsm", "math-l5", "crux")
CHARS_PER_TOKEN = 4.0
COST_NOTE = ("derived: USD = per-token price (LiteLLM 1.110.2 map; 9 of 29 imputed, see "
             "LICENSE-DATA.md) x (prompt + answer characters) / 4")

# Near-duplicate models: the same weights from two providers, two dates of one model.
GROUPS = {
    "Llama-3.1-405B-Inst@hyperbolic": "llama-3.1-405b",
    "Llama-3.1-405B-Inst@sambanova": "llama-3.1-405b",
    "gpt-4o-2024-05-13": "gpt-4o",
    "gpt-4o-2024-08-06": "gpt-4o",
    "gemini-1.5-flash": "gemini-1.5-flash",
    "gemini-1.5-flash-exp-0827": "gemini-1.5-flash",
}


def prices() -> dict[str, Any]:
    """The per-token price table of the 29 models (``zeroeval_prices.json``)."""
    ref = resources.files("uniroute.datasets").joinpath("data", "zeroeval_prices.json")
    return json.loads(ref.read_text(encoding="utf-8"))


def derived_cost(models: list[str], prompt_chars: np.ndarray,
                 output_chars: np.ndarray) -> np.ndarray:
    """USD per prompt and model: ``(N, M)``; NaN where the answer length is missing."""
    table = prices()["models"]
    unknown = [m for m in models if m not in table]
    if unknown:
        raise ValueError(f"no price for models {unknown}; see tools/zeroeval_prices.py")
    p_in = np.array([table[m]["input_usd_per_token"] for m in models])
    p_out = np.array([table[m]["output_usd_per_token"] for m in models])
    tokens_in = np.asarray(prompt_chars, dtype=np.float64)[:, None] / CHARS_PER_TOKEN
    tokens_out = np.asarray(output_chars, dtype=np.float64) / CHARS_PER_TOKEN
    return tokens_in * p_in + tokens_out * p_out


def read_zeroeval(folder: str | Path) -> RoutingDataset:
    """The shared ``zeroeval_math_code`` folder: combined matrices, texts, MiniLM embeddings.

    Reading the item texts (needed for the prompt length in the cost) needs pyarrow; the
    bundled ``zeroeval_math_code`` data set does not.
    """
    folder = Path(folder)
    with np.load(folder / "combined_matrices.npz", allow_pickle=False) as z:
        models = [str(m) for m in z["models"]]
        quality, output_chars = z["correct"], z["output_chars"]
        tasks, ids = [str(t) for t in z["task"]], [str(i) for i in z["item_ids"]]
    items = read_parquet_columns(folder / "combined_items.parquet", ["task", "id", "question"],
                                 required=True)
    assert items is not None
    if items["id"] != ids or items["task"] != tasks:
        raise ValueError(f"{folder}: combined_items.parquet rows do not match the matrices")
    prompt_len: dict[tuple[str, str], int] = {}
    for task in TASKS:
        cols = read_parquet_columns(folder / f"{task}_items.parquet", ["id", "prompt_full"],
                                    required=True)
        assert cols is not None
        prompt_len.update({(task, i): len(p) for i, p in zip(cols["id"], cols["prompt_full"])})
    prompt_chars = np.array([prompt_len[(t, i)] for t, i in zip(tasks, ids)], dtype=np.float64)
    emb, encoder = read_aligned_embeddings(folder, len(ids), ids)
    return RoutingDataset(
        quality=quality, cost=derived_cost(models, prompt_chars, output_chars), models=models,
        embeddings=emb, encoder=encoder, prompts=items["question"], tasks=tasks,
        groups=[GROUPS.get(m, m) for m in models], item_ids=ids, name="zeroeval_math_code",
        cost_note=COST_NOTE)
