"""Shared helpers of the production-routing tests."""
from __future__ import annotations

import numpy as np
from uniroute import UniRouter


def small_router(rng: np.random.Generator, M: int = 5, K: int = 6, d: int = 8,
                 encoder=None, duplicate: bool = False) -> tuple[UniRouter, np.ndarray]:
    """A router on random clustered data with M models of random costs; returns (router, X)."""
    centers = rng.standard_normal((K, d)) * 4
    X = (centers[rng.integers(0, K, 600)] + rng.standard_normal((600, d))).astype(np.float32)
    r = UniRouter(n_clusters=K, random_state=0, encoder=encoder).fit(X[:300])
    probes = X[300:]
    answers = []
    for m in range(M):
        cost = float(rng.choice([0.1, 0.5, 1.0, 2.0, 5.0])) if m else 1.0
        p = rng.random(K)[r.assign(probes)]
        answers.append((rng.random(probes.shape[0]) < p).astype(float))
        r.add_model(f"m{m}", cost, probes, answers[-1])
    if duplicate:  # an exact tie with m0: same probe answers, same cost
        r.add_model("twin", float(r.costs[0]), probes, answers[0])
    return r, X


def bundled():
    """The bundled real data set (USE embeddings, real per-prompt USD costs)."""
    from uniroute import datasets

    return datasets.load("routerbench_partial")
