"""Recognise a data set file or folder and read it with the right reader."""
from __future__ import annotations

from pathlib import Path

from uniroute.datasets.core import RoutingDataset, open_npz, read_npz
from uniroute.datasets.validation import DataError


def read_any(path: Path) -> RoutingDataset:
    """Read ``path`` in whichever supported format it is (see :func:`uniroute.datasets.load`)."""
    from uniroute.datasets import embedllm, long, routerbench, routerdc, zeroeval

    if path.is_dir():
        if (path / "combined_matrices.npz").is_file():
            return zeroeval.read_zeroeval(path)
        if (path / "routerbench_partial_matrices.npz").is_file():
            return routerbench.read_routerbench_matrices(path)
        if any(_npz_keys(p) >= {"score", "source_file"} for p in path.glob("*_matrices.npz")):
            return routerdc.read_routerdc(path)
        if embedllm.is_embedllm_folder(path):
            return embedllm.read_embedllm(path)
        tables = sorted(p for p in path.iterdir() if p.name.endswith((".csv", ".csv.gz")))
        if tables and routerbench.is_routerbench_csv(tables[0]):
            return routerbench.read_routerbench_csv(path)
        raise ValueError(f"{path}: a folder in no supported format (ZeroEval, RouterDC or "
                         "RouterBench matrices, EmbedLLM CSVs, RouterBench CSVs)")
    lower = path.name.lower()
    if lower.endswith((".csv", ".csv.gz")):
        if routerbench.is_routerbench_csv(path):
            return routerbench.read_routerbench_csv(path)
        header = long.csv_header(path)
        if long.is_long_header(header):
            return long.read_long(path)
        raise DataError(f"{path}: a CSV in no known layout: the long layout needs the columns "
                        "prompt, model and correct (one row per prompt x model; aliases in "
                        "uniroute.datasets.long), RouterBench's needs <model>|total_cost; "
                        f"found {header[:8]}")
    if lower.endswith((".jsonl", ".jsonl.gz", ".ndjson", ".parquet")):
        return long.read_long(path)
    if path.suffix == ".npz":
        keys = _npz_keys(path)
        if {"correct", "task", "output_chars"} <= keys:
            return zeroeval.read_zeroeval(path.parent)
        if {"score", "source_file"} <= keys:
            return routerdc.read_routerdc(path.parent)
        if "cost_usd" in keys and "sample_id" in keys:
            return routerbench.read_routerbench_matrices(path.parent)
        return read_npz(path)
    raise DataError(f"{path}: unsupported file type (expected .npz, .csv, .csv.gz, .jsonl or "
                    ".parquet; see uniroute.datasets.load)")


def _npz_keys(path: Path) -> set[str]:
    with open_npz(path) as z:
        return set(z.files)
