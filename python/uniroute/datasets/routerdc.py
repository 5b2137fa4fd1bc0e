"""The shared RouterDC 7-model matrices (Chen et al., NeurIPS 2024): no cost."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from uniroute.datasets._shared import read_aligned_embeddings, read_parquet_columns
from uniroute.datasets.core import RoutingDataset

EQUAL_COST = "none: the data has no cost; equal-cost pool (every model costs 1)"


def read_routerdc(folder: str | Path) -> RoutingDataset:
    """``routerdc_7models``: quality (0/1 for multiple choice, a score in [0,1] otherwise).

    Seven 7-8B models of similar price and no recorded cost: the data set is an
    equal-cost pool (cost 1 for every model), i.e. quality-only routing.
    """
    folder = Path(folder)
    matrices = next(folder.glob("*_matrices.npz"))
    with np.load(matrices, allow_pickle=False) as z:
        models = [str(m) for m in z["models"]]
        quality = z["quality"]
        tasks = [str(s) for s in z["source_file"]]
    emb, encoder = read_aligned_embeddings(folder, quality.shape[0])
    texts = read_parquet_columns(folder / (matrices.name.replace("_matrices.npz", ".parquet")),
                                 ["question"], required=False)
    return RoutingDataset(
        quality=quality, cost=np.ones(len(models)), models=models, embeddings=emb,
        encoder=encoder, prompts=None if texts is None else texts["question"], tasks=tasks,
        item_ids=[str(i) for i in range(quality.shape[0])], name=folder.name,
        cost_note=EQUAL_COST)
