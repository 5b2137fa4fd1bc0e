"""Why a K is chosen: the within-cluster heterogeneity of Proposition 2.

The excess risk of the cluster router over the optimal one is bounded by (about twice)
``E_x max_h |P[h errs | x] - Psi*_{k(x)}(h)|``: how far an LLM's per-prompt error
strays from its cluster mean. It shrinks as K grows, while the variance of estimating
``Psi`` from ``N_val / K`` probes per cluster grows -- the trade-off K selection makes.

``heterogeneity`` estimates the first term on labelled prompts (the training LLMs on the
training prompts, never test data): the per-prompt error ``P[h errs | x]`` is smoothed
over the prompt's ``n_neighbors`` nearest labelled prompts (cosine), and the cluster mean
is the mean of those smoothed errors over the cluster's prompts. (Taking the cluster
mean of the raw 0/1 labels instead would add their sampling noise, which grows as
clusters shrink, and hide the fall of the bias term with K; the sampling side is shown
separately, as the probe standard error of
:func:`uniroute.evaluation.selection.k_sweep`.)
"""
from __future__ import annotations

import numpy as np


def knn_error(embeddings: np.ndarray, correct: np.ndarray, n_neighbors: int = 20,
              block: int = 2048) -> np.ndarray:
    """Per-prompt error of each LLM smoothed over its ``n_neighbors`` nearest prompts
    (cosine, the prompt itself included): ``(n, M)``; NaN labels are skipped."""
    X = np.asarray(embeddings, dtype=np.float32)
    X = X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)
    err = 1.0 - np.asarray(correct, dtype=np.float64)
    seen = ~np.isnan(err)
    err0 = np.where(seen, err, 0.0)
    k = min(n_neighbors, X.shape[0])
    out = np.empty_like(err0)
    for lo in range(0, X.shape[0], block):
        sim = X[lo:lo + block] @ X.T
        nn = np.argpartition(-sim, k - 1, axis=1)[:, :k]
        num = err0[nn].sum(axis=1)
        den = seen[nn].sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[lo:lo + block] = num / den
    return out


def heterogeneity(embeddings: np.ndarray, correct: np.ndarray, labels: np.ndarray,
                  n_clusters: int, n_neighbors: int = 20,
                  local_error: np.ndarray | None = None) -> float:
    """``mean_x max_h |err_knn(x, h) - mean_{x' in k(x)} err_knn(x', h)|`` over labelled prompts.

    Parameters
    ----------
    embeddings : (n, dim) prompts with labels (e.g. the training prompts)
    correct : (n, M) correctness of LLMs on them (NaN = missing)
    labels : (n,) cluster of each prompt
    local_error : (n, M), optional
        ``knn_error(embeddings, correct, n_neighbors)`` if already computed (it does not
        depend on the clusters, so a K sweep computes it once).
    """
    local = knn_error(embeddings, correct, n_neighbors) if local_error is None else local_error
    local = np.asarray(local, dtype=np.float64)
    seen = np.isfinite(local)
    sums = np.zeros((n_clusters, local.shape[1]))
    counts = np.zeros((n_clusters, local.shape[1]))
    np.add.at(sums, labels, np.where(seen, local, 0.0))
    np.add.at(counts, labels, seen)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums / counts
    gap = np.abs(local - means[labels])
    per_prompt = np.nanmax(np.where(np.isnan(gap), -np.inf, gap), axis=1)
    return float(np.mean(per_prompt[np.isfinite(per_prompt)]))
