"""Helpers shared by the readers: optional parquet texts, aligned embedding files."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger("uniroute.datasets")

MINILM = "sentence-transformers/all-MiniLM-L6-v2"


def read_parquet_columns(path: Path, columns: list[str], *,
                         required: bool) -> dict[str, list[Any]] | None:
    """Columns of a parquet file, via pyarrow (an optional extra, never needed at run time).

    With ``required=False`` a missing pyarrow or file gives ``None`` (logged); with
    ``required=True`` it raises an ImportError / FileNotFoundError naming the fix.
    """
    if not path.is_file():
        if required:
            raise FileNotFoundError(f"{path} not found")
        return None
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:
        if required:
            raise ImportError(f"reading {path.name} needs pyarrow: pip install pyarrow "
                              "(the bundled data sets do not need it)") from exc
        log.info("pyarrow is not installed: %s not read (prompt texts left empty)", path.name)
        return None
    table = pq.read_table(path, columns=columns)
    return {c: table.column(c).to_pylist() for c in columns}


def read_aligned_embeddings(folder: Path, n_rows: int,
                            row_ids: list[str] | None = None) -> tuple[np.ndarray | None,
                                                                       str | None]:
    """``embeddings_minilm.npz`` of a shared data folder (row i belongs to row i)."""
    path = folder / "embeddings_minilm.npz"
    if not path.is_file():
        return None, None
    with np.load(path, allow_pickle=False) as z:
        emb = z["embeddings"].astype(np.float32)
        encoder = str(z["encoder"]) if "encoder" in z.files else MINILM
        if emb.shape[0] != n_rows:
            raise ValueError(f"{path} has {emb.shape[0]} rows, the matrices have {n_rows}")
        stored = [str(r) for r in z["row_ids"]] if "row_ids" in z.files else None
        if row_ids is not None and stored is not None and stored != [str(r) for r in row_ids]:
            raise ValueError(f"{path}: row_ids do not match the matrices' item ids")
    return emb, encoder
