"""LLM features: the per-cluster error Psi[m, k] of a model, from its probe answers.

The rule (the paper leaves it open, section 2.1):

- ``overall = (sum of errors + 0.5) / (n_answered + 1)`` -- the model's error over all
  answered probes, with a Jeffreys-style half count so that it is never exactly 0 or 1;
- ``Psi[k] = (error_sum[k] + shrinkage * overall) / (probe_count[k] + shrinkage)``.

A cluster with no probe prompt therefore gets the model's overall error (never NaN,
never a perfect 0), and one with few probes is pulled toward it; with many probes the
plain mean dominates. ``shrinkage`` is in units of probe prompts (default 1).
"""
from __future__ import annotations

import numpy as np


def probe_statistics(labels: np.ndarray, correct: np.ndarray,
                     n_clusters: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-cluster error sums and answered-probe counts.

    Parameters
    ----------
    labels : (n_probes,) int64
        Cluster of each probe prompt.
    correct : (n_probes,) float64
        Correctness in [0, 1]; NaN means not answered and is ignored.
    n_clusters : int

    Returns
    -------
    error_sum, probe_count : (n_clusters,) float64
    """
    answered = ~np.isnan(correct)
    lab = labels[answered]
    error = 1.0 - correct[answered]
    error_sum = np.bincount(lab, weights=error, minlength=n_clusters).astype(np.float64)
    probe_count = np.bincount(lab, minlength=n_clusters).astype(np.float64)
    return error_sum, probe_count


def shrunk_cluster_error(error_sum: np.ndarray, probe_count: np.ndarray,
                         shrinkage: float = 1.0) -> np.ndarray:
    """Psi from probe statistics, shrunk toward the model's overall error (see module doc).

    Works on one model ``(K,)`` or a pool ``(M, K)``.
    """
    if not (np.isfinite(shrinkage) and shrinkage >= 0):
        raise ValueError(f"shrinkage must be a finite number >= 0, got {shrinkage}")
    total_err = error_sum.sum(axis=-1, keepdims=True)
    total_n = probe_count.sum(axis=-1, keepdims=True)
    overall = (total_err + 0.5) / (total_n + 1.0)
    denom = probe_count + shrinkage
    with np.errstate(invalid="ignore", divide="ignore"):
        psi = (error_sum + shrinkage * overall) / denom
    # shrinkage = 0 and an empty cluster: back off to the overall error.
    return np.where(denom > 0, psi, np.broadcast_to(overall, psi.shape))
