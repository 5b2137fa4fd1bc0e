"""Exactness of the fast paths on real prompt embeddings (../shared/data).

The fp16 single-prompt path and the batch path must return the labels of the exact
fp32 kernel on real all-MiniLM-L6-v2 embeddings (d = 384): K-means with K = 256 fitted
on part of the prompts, the other prompts assigned. routerbench_partial is not used:
its MiniLM rows are largely duplicates.
"""
from __future__ import annotations

import numpy as np
import pytest

import uniroute
from uniroute import _core

from tests.conftest import shared_data


def load_embeddings(name: str) -> np.ndarray:
    with np.load(shared_data(name) / "embeddings_minilm.npz") as z:
        key = "embeddings" if "embeddings" in z.files else z.files[0]
        return np.ascontiguousarray(z[key], dtype=np.float32)


@pytest.mark.parametrize("name,n_fit", [("routerdc_7models", 12_000),
                                        ("zeroeval_math_code", 1_500)])
def test_fast_paths_give_exact_labels_on_real_embeddings(name, n_fit):
    E = load_embeddings(name)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(E))
    fit, rest = E[order[:n_fit]], E[order[n_fit:]]
    K = 256 if n_fit >= 4096 else 64
    km = uniroute.KMeans(K, n_init=1, max_iter=15, random_state=0).fit(fit)
    C = km.cluster_centers_
    idx = _core.CentroidIndex(C)
    batch = idx.assign(rest)[0]
    fp16 = _core.CentroidIndex(C, fixed_point=False)
    E64, C64 = rest.astype(np.float64), C.astype(np.float64)
    S = (C64 * C64).sum(1) - 2.0 * E64 @ C64.T
    exact = np.argmin(S, axis=1)
    single = np.array([idx.nearest(x) for x in rest])  # int16 copy + re-check
    assert (single == batch).mean() == 1.0
    single16 = np.array([fp16.nearest(x) for x in rest])  # fp16 copy + re-check
    assert (single16 == batch).mean() == 1.0
    # The exact fp32 kernel's labels equal the float64 argmin except where two
    # centroids tie within double rounding (none expected on real data).
    srt = np.sort(S, axis=1)
    clear = (srt[:, 1] - srt[:, 0]) > 1e-9
    assert clear.mean() > 0.99
    assert (batch[clear] == exact[clear]).all()
    assert (_core.assign(rest, C)[0] == batch).all()
