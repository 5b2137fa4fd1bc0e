"""Choosing K (clusters) and k (neighbours) from training-pool labels only (Appendix F.1).

For each candidate on a grid: fit on the train prompts, represent the **training** LLMs
by their errors on the train prompts (per cluster, or per neighbourhood), route them on
the validation prompts, and keep the candidate with the largest Area of that validation
deferral curve (ties: the smaller candidate). No test LLM and no test prompt is used.

Grids are capped by the data: a candidate may not exceed the number of train prompts
nor the number of validation prompts (the probe set that later fills each cluster).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from uniroute._validation import as_float_matrix
from uniroute.clustering import KMeans, RandomState, variance_scale
from uniroute.diagnostics import heterogeneity, knn_error
from uniroute.evaluation.decisions import ClusterErrors, Decisions, PromptErrors, Scorer
from uniroute.evaluation.metrics import area
from uniroute.evaluation.protocol import mean_cost
from uniroute.features import probe_statistics, shrunk_cluster_error

DEFAULT_K_GRID = (5, 10, 15, 20, 30, 40, 50, 75, 100, 150, 200, 300)
DEFAULT_NEIGHBOR_GRID = (1, 2, 3, 5, 7, 10, 15, 20, 30, 50, 75, 100, 150, 200, 300)


def capped_grid(grid: tuple[int, ...] | list[int], n_train: int, n_val: int) -> list[int]:
    """Grid values not above the number of train or validation prompts (at least one)."""
    cap = max(1, min(n_train, n_val))
    kept = sorted({int(g) for g in grid if 1 <= int(g) <= cap})
    return kept or [min(cap, max(1, min(int(g) for g in grid)))]


def validation_area(decisions: Decisions, val_quality: np.ndarray, val_cost: np.ndarray) -> float:
    """Area of the deferral curve of ``decisions`` over the given LLMs on the val prompts."""
    val_quality = np.asarray(val_quality, dtype=np.float64)
    val_cost = np.broadcast_to(np.asarray(val_cost, dtype=np.float64), val_quality.shape)
    pts = Scorer(val_quality, val_cost, mean_cost(val_cost)).points(decisions)
    return area(pts.cost, pts.quality)


def cluster_errors(labels: np.ndarray, quality: np.ndarray, n_clusters: int,
                   shrinkage: float = 1.0) -> np.ndarray:
    """Psi (n_llms, K) of each LLM from its labels on prompts with cluster ``labels``."""
    stats = probe_statistics(labels, np.asarray(quality, np.float64), n_clusters)
    return shrunk_cluster_error(*stats, shrinkage)


def select_n_clusters(train_embeddings: Any, train_quality: Any, val_embeddings: Any,
                      val_quality: Any, val_cost: Any, *,
                      grid: tuple[int, ...] | list[int] = DEFAULT_K_GRID,
                      shrinkage: float = 1.0, random_state: RandomState = None,
                      n_init: int = 3, max_iter: int = 100, tol: float = 1e-4,
                      return_scores: bool = False) -> int | tuple[int, dict[int, float]]:
    """K for UniRoute (K-means) by the paper's Appendix F.1, training-pool labels only.

    Parameters
    ----------
    train_embeddings : (n_train, dim)
        Embeddings of the train prompts (K-means is fitted on them).
    train_quality : (n_train, n_llms)
        The training LLMs' labels on the train prompts (NaN = missing): their Psi.
    val_embeddings : (n_val, dim)
    val_quality : (n_val, n_llms)
        The same LLMs' labels on the validation prompts: the curve is scored on them.
    val_cost : (n_val, n_llms) or (n_llms,)
        Their cost on the validation prompts (routing cost = its mean per LLM).
    grid : candidate K values (capped by the data, see the module doc).
    shrinkage, random_state, n_init, max_iter, tol
        As in :class:`uniroute.UniRouter` (use the same values to reproduce its fit).
    return_scores : also return ``{K: validation Area}``.

    Examples
    --------
    >>> import numpy as np, uniroute
    >>> rng = np.random.default_rng(0)
    >>> X, Q = rng.standard_normal((300, 4)), (rng.random((300, 3)) < 0.6).astype(float)
    >>> k = uniroute.select_n_clusters(X[:200], Q[:200], X[200:], Q[200:], [1.0, 2.0, 3.0],
    ...                                grid=(2, 4, 8), random_state=0)
    >>> k in (2, 4, 8)
    True
    """
    rows = k_sweep(train_embeddings, train_quality, val_embeddings, val_quality, val_cost,
                   grid=grid, shrinkage=shrinkage, random_state=random_state, n_init=n_init,
                   max_iter=max_iter, tol=tol, diagnostics=False)
    scores = {int(r["n_clusters"]): float(r["area"]) for r in rows}
    best = max(scores, key=lambda k: (scores[k], -k))
    return (best, scores) if return_scores else best


def k_sweep(train_embeddings: Any, train_quality: Any, val_embeddings: Any, val_quality: Any,
            val_cost: Any, *, grid: tuple[int, ...] | list[int] = DEFAULT_K_GRID,
            shrinkage: float = 1.0, random_state: RandomState = None, n_init: int = 3,
            max_iter: int = 100, tol: float = 1e-4, diagnostics: bool = True,
            n_neighbors: int = 20, on_fit: Any = None) -> list[dict[str, float]]:
    """The K sweep behind :func:`select_n_clusters`, one row per candidate K.

    Each row has ``n_clusters`` and ``area`` (the validation Area that F.1 maximises).
    With ``diagnostics`` it also shows why a K wins, from the same training-pool labels:

    - ``heterogeneity``: the within-cluster term of Proposition 2 on the train prompts
      (:func:`uniroute.diagnostics.heterogeneity`) -- falls as K grows;
    - ``probes_per_cluster``: validation prompts per cluster, ``n_val / K``;
    - ``probe_std_error``: ``mean_x max_h sqrt(Psi(1 - Psi) / (n_hk + shrinkage))``
      over the validation prompts, with ``Psi`` of the training LLMs estimated from their
      validation answers (``n_hk``: h's answered probes in x's cluster k) -- the variance
      term a new LLM's features carry when they come from the probes; grows with K.

    ``on_fit(K, kmeans, val_labels)``, if given, is called with each fitted :class:`KMeans`
    and the validation prompts' clusters (e.g. to score a diagnostic with the same clusters).
    """
    X = np.asarray(train_embeddings, dtype=np.float32)
    V = np.asarray(val_embeddings, dtype=np.float32)
    TQ = np.asarray(train_quality, dtype=np.float64)
    VQ = np.asarray(val_quality, dtype=np.float64)
    local = knn_error(X, TQ, n_neighbors) if diagnostics else None
    rows: list[dict[str, float]] = []
    Xc = as_float_matrix(X, "train_embeddings")  # checked once for every K
    scale = variance_scale(Xc)
    for K in capped_grid(grid, X.shape[0], V.shape[0]):
        km = KMeans(K, n_init=n_init, max_iter=max_iter, tol=tol,
                    random_state=random_state)._fit_checked(Xc, scale)
        psi = cluster_errors(km.labels_, TQ, K, shrinkage)
        val_labels = np.asarray(km.predict(V), dtype=np.int64)
        row = {"n_clusters": K,
               "area": validation_area(ClusterErrors(val_labels, psi), VQ, val_cost)}
        if diagnostics:
            row["heterogeneity"] = heterogeneity(X, TQ, km.labels_, K, local_error=local)
            row["probes_per_cluster"] = V.shape[0] / K
            err_sum, count = probe_statistics(val_labels, VQ, K)  # (n_llms, K)
            probe_psi = shrunk_cluster_error(err_sum, count, shrinkage)
            se = np.sqrt(probe_psi * (1.0 - probe_psi) / (count + shrinkage + 1e-12))
            row["probe_std_error"] = float(se.max(axis=0)[val_labels].mean())
        if on_fit is not None:
            on_fit(K, km, val_labels)
        rows.append(row)
    return rows


def _unit(X: Any) -> np.ndarray:
    X = np.asarray(X, dtype=np.float32)
    norm = np.linalg.norm(X, axis=1, keepdims=True)
    return X / np.where(norm > 0, norm, 1.0)


def neighbor_errors(query: Any, probes: Any, probe_quality: Any,
                    ks: list[int], block: int = 1024) -> dict[int, np.ndarray]:
    """K-NN predicted error per query and LLM for each k: ``{k: (n_query, n_llms)}``.

    The error of an LLM is its mean error over the k most cosine-similar probe prompts,
    ignoring probes it did not answer (NaN); with none answered, its overall probe error.
    """
    Qp, P = _unit(query), _unit(probes)
    quality = np.asarray(probe_quality, dtype=np.float64)
    answered = np.isfinite(quality)
    err = np.where(answered, 1.0 - np.nan_to_num(quality), 0.0)
    with np.errstate(invalid="ignore"):
        overall = np.where(answered.sum(0) > 0, err.sum(0) / answered.sum(0), 0.5)
    kmax = min(max(ks), P.shape[0])
    out = {k: np.empty((Qp.shape[0], quality.shape[1])) for k in ks}
    for start in range(0, Qp.shape[0], block):
        sim = Qp[start:start + block] @ P.T
        top = np.argpartition(-sim, kmax - 1, axis=1)[:, :kmax]
        order = np.argsort(-np.take_along_axis(sim, top, axis=1), axis=1, kind="stable")
        nbrs = np.take_along_axis(top, order, axis=1)
        # Running sums over the neighbours in similarity order (the cumsum's additions, in
        # its order), read at each k: no (rows, kmax, n_llms) array (183 MB a block at
        # EmbedLLM's 112 LLMs, and most of a K-NN trial's time).
        want = {min(k, kmax) for k in ks}
        e = np.zeros((nbrs.shape[0], quality.shape[1]))
        a = np.zeros((nbrs.shape[0], quality.shape[1]))
        at: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for j in range(kmax):
            e += err[nbrs[:, j]]
            a += answered[nbrs[:, j]]
            if j + 1 in want:
                at[j + 1] = (e.copy(), a.copy())
        for k in ks:
            ek, ak = at[min(k, kmax)]
            with np.errstate(invalid="ignore", divide="ignore"):
                out[k][start:start + block] = np.where(ak > 0, ek / ak, overall)
    return out


def select_n_neighbors(train_embeddings: Any, train_quality: Any, val_embeddings: Any,
                       val_quality: Any, val_cost: Any, *,
                       grid: tuple[int, ...] | list[int] = DEFAULT_NEIGHBOR_GRID,
                       return_scores: bool = False) -> int | tuple[int, dict[int, float]]:
    """k for the K-NN router, chosen like K (same arguments as :func:`select_n_clusters`):
    the train prompts are the neighbours, the validation prompts are routed."""
    X = np.asarray(train_embeddings)
    V = np.asarray(val_embeddings)
    ks = capped_grid(grid, X.shape[0], V.shape[0])
    errors = neighbor_errors(V, X, train_quality, ks)
    scores = {k: validation_area(PromptErrors(errors[k]), val_quality, val_cost) for k in ks}
    best = max(scores, key=lambda k: (scores[k], -k))
    return (best, scores) if return_scores else best
