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
    correct : (n_probes,) or (n_probes, M) float64
        Correctness in [0, 1] of one model or of M; NaN means not answered and is ignored.
    n_clusters : int

    Returns
    -------
    error_sum, probe_count : (n_clusters,) float64, or (M, n_clusters) for M models
    """
    if correct.ndim == 2:
        answered2 = ~np.isnan(correct)
        error_sum2 = np.zeros((n_clusters, correct.shape[1]))
        probe_count2 = np.zeros((n_clusters, correct.shape[1]))
        np.add.at(error_sum2, labels, np.where(answered2, 1.0 - correct, 0.0))
        np.add.at(probe_count2, labels, answered2)
        return error_sum2.T.copy(), probe_count2.T.copy()
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


def mean_backoff_cluster_error(error_sum: np.ndarray, probe_count: np.ndarray) -> np.ndarray:
    """The baseline estimator: the plain per-cluster mean; an empty cluster backs off to
    the model's overall (plain) error. Can be exactly 0 or 1 for a non-empty cluster."""
    total_err = error_sum.sum(axis=-1, keepdims=True)
    total_n = np.maximum(probe_count.sum(axis=-1, keepdims=True), 1.0)
    overall = np.broadcast_to(total_err / total_n, error_sum.shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        psi = error_sum / probe_count
    return np.where(probe_count > 0, psi, overall)


def soft_probe_statistics(weights: np.ndarray, correct: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-cluster error sums and counts where each probe counts toward every cluster by
    its soft assignment ``weights : (n_probes, K)`` (rows summing to 1).

    ``correct`` may be ``(n_probes,)`` (one model) or ``(n_probes, M)``; NaN = not answered.
    Returns arrays of shape ``(K,)`` or ``(M, K)``.
    """
    c = correct if correct.ndim == 2 else correct[:, None]
    answered = ~np.isnan(c)
    errors = np.where(answered, 1.0 - np.nan_to_num(c), 0.0)
    error_sum = errors.T @ weights
    probe_count = answered.T.astype(np.float64) @ weights
    return (error_sum, probe_count) if correct.ndim == 2 else (error_sum[0], probe_count[0])


def bernoulli_log_likelihood(psi: np.ndarray, labels: np.ndarray, correct: np.ndarray,
                             eps: float = 1e-6) -> float:
    """Mean log-likelihood of held-out correctness ``(n, M)`` under ``psi : (M, K)`` with
    the prompts' hard cluster ``labels : (n,)``; NaN labels are skipped."""
    p_err = np.clip(psi.T[labels], eps, 1.0 - eps)
    answered = ~np.isnan(correct)
    err = 1.0 - correct[answered]
    p = p_err[answered]
    return float(np.mean(err * np.log(p) + (1.0 - err) * np.log1p(-p))) if p.size else 0.0


SHRINKAGE_GRID = (0.0, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0)


def choose_shrinkage(probe_labels: np.ndarray, probe_correct: np.ndarray,
                     heldout_labels: np.ndarray, heldout_correct: np.ndarray, n_clusters: int,
                     grid: tuple[float, ...] = SHRINKAGE_GRID
                     ) -> tuple[float, dict[float, float]]:
    """Shrinkage strength with the best held-out likelihood on the *training* LLMs.

    Each training LLM's features are estimated from its probe answers
    ``probe_correct : (n_probe, M)`` and scored on its held-out answers
    ``heldout_correct : (n_heldout, M)`` (e.g. the training prompts). Returns the best
    strength and the log-likelihood of every candidate.
    """
    error_sum, probe_count = probe_statistics(probe_labels, probe_correct, n_clusters)
    scores = {a: bernoulli_log_likelihood(shrunk_cluster_error(error_sum, probe_count, a),
                                          heldout_labels, heldout_correct) for a in grid}
    return max(scores, key=lambda a: (scores[a], -a)), scores


def safe_cluster_error(cluster_error: np.ndarray, error_sum: np.ndarray,
                       probe_count: np.ndarray, cost: np.ndarray,
                       level: float) -> np.ndarray:
    """The safe option: a cluster leaves the best overall LLM only on probe evidence.

    ``b`` is the pool's best overall LLM on its probes (lowest raw error, ties to the
    cheaper, then the earlier). In cluster ``k`` a model ``m`` keeps a cluster error below
    ``b``'s only if its raw probe error there is lower and the two-sample test

    ``z = (p_b - p_m) / sqrt(v_b / n_b + v_m / n_m)``,  ``v = p~ (1 - p~)``,
    ``p~ = (errors + 0.5) / (n + 1)``

    exceeds ``level`` (one-sided; ``p`` the raw per-cluster error, ``n`` the answered
    probes; quality in [0, 1] has variance at most ``p (1 - p)``). Any other model whose
    cluster error is below ``b``'s is raised to just above it (``+ 1e-9``), so at
    ``lam = 0`` every cluster routes to ``b`` or to a model with a lower raw probe error
    there: over probes that every model answered, the hard-cluster route at ``lam = 0``
    errs no more often than ``b`` -- the curve reaches the best single LLM's validation
    quality. Costs and models that are worse than ``b`` are untouched, so the rest of the
    lambda-path changes only where it started above ``b``.

    Parameters
    ----------
    cluster_error, error_sum, probe_count : (M, K) float64
    cost : (M,) float64
    level : float, the z threshold (>= 0; 0 asks only for a lower raw error)
    """
    M = cluster_error.shape[0]
    if M < 2:
        return cluster_error
    n_total = probe_count.sum(axis=1)
    overall = np.where(n_total > 0, error_sum.sum(axis=1) / np.maximum(n_total, 1e-300), 1.0)
    b = int(np.lexsort((np.arange(M), cost, np.round(overall, 12)))[0])  # float-noise ties
    with np.errstate(invalid="ignore", divide="ignore"):
        raw = np.where(probe_count > 0, error_sum / probe_count, np.nan)
        smooth = (error_sum + 0.5) / (probe_count + 1.0)
        var = np.where(probe_count > 0, smooth * (1.0 - smooth) / probe_count, np.inf)
        z = (raw[b] - raw) / np.sqrt(var[b] + var)
        significant = (probe_count > 0) & (probe_count[b] > 0) & (raw < raw[b]) & (z > level)
    floor = np.broadcast_to(cluster_error[b] + 1e-9, cluster_error.shape)
    demote = ~significant & (cluster_error < floor)
    demote[b] = False
    return np.where(demote, floor, cluster_error)
