"""The 400-trial evaluation at EmbedLLM's shapes, on synthetic data (benchmark helper).

EmbedLLM: 36,000 prompts x 112 LLMs, d = 768. Each trial follows the paper's protocol
(section 3 of ../shared/paper.md): 2/3 of the LLMs train / 1/3 test, prompts split
60/10/30; UniRoute (K-means, fixed K = 64, one k-means++ init), K-NN (cosine, k = 50,
on the validation prompts) and ZeroRouter are built from the test LLMs' validation
answers and scored on the test prompts. Every hard router's deferral curve is exact
(uniroute's lambda-path: per cluster for UniRoute, per prompt for K-NN).

The area here is a benchmark-only summary (the evaluation suite owns the reported
metrics): the piecewise-linear curve through the (cost, quality) points, cost divided
by the priciest test LLM, extended flat on both sides, integrated over [0, 1].
Trials run in worker processes with single-threaded kernels (one level of
parallelism: trials, not threads within them).
"""
from __future__ import annotations

import os
import tempfile
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import numpy as np
import uniroute
from uniroute import _core
from uniroute.evaluation.runner import _single_threaded_blas
from uniroute.features import shrunk_cluster_error

_DATA: dict[str, np.ndarray] = {}


def synthetic_embedllm(n_prompts: int = 36_000, n_models: int = 112, dim: int = 768,
                       n_topics: int = 40, seed: int = 0):
    """Unit-norm embeddings around topics; each LLM's accuracy depends on the topic."""
    rng = np.random.default_rng(seed)
    topics = rng.standard_normal((n_topics, dim))
    topic = rng.integers(0, n_topics, n_prompts)
    E = np.empty((n_prompts, dim), np.float32)
    for i in range(0, n_prompts, 4096):
        t = topic[i:i + 4096]
        block = topics[t] + 1.5 * rng.standard_normal((len(t), dim))
        E[i:i + 4096] = block / np.linalg.norm(block, axis=1, keepdims=True)
    skill = rng.normal(0.0, 1.0, n_models)[:, None] + rng.normal(0.0, 1.0, (n_models, n_topics))
    p = 1.0 / (1.0 + np.exp(-skill[:, topic].T))          # (n_prompts, n_models)
    Q = (rng.random(p.shape) < p).astype(np.float32)
    cost = 10.0 ** rng.uniform(0.0, 2.5, n_models)        # "parameters, in billions"
    return E, Q, cost


def curve_area(points_cost: np.ndarray, points_quality: np.ndarray) -> float:
    order = np.argsort(points_cost, kind="stable")
    c, q = points_cost[order], points_quality[order]
    c = np.concatenate([[0.0], c, [1.0]])
    q = np.concatenate([[q[0]], q, [q[-1]]])
    return float(np.sum(np.diff(c) * (q[1:] + q[:-1]) / 2.0))


def path_curve(path, S: np.ndarray, n: np.ndarray, cost: np.ndarray):
    """Exact (cost, quality) points of a hard router over all lam.

    path: route_path of (models, groups); S[g, m]: summed quality of model m on group g's
    test prompts; n[g]: group sizes. Returns per-prompt mean cost and quality.
    """
    offsets, model, lam_lo, _ = path
    G = len(offsets) - 1
    first = model[offsets[:-1]]
    total_c = float((n * cost[first]).sum())
    total_q = float(S[np.arange(G), first].sum())
    seg_group = np.repeat(np.arange(G), np.diff(offsets))
    switch = np.ones(len(model), bool)
    switch[offsets[:-1]] = False
    g, new, old = seg_group[switch], model[switch], model[np.flatnonzero(switch) - 1]
    lam = lam_lo[switch]
    order = np.argsort(lam, kind="stable")
    dc = (n[g] * (cost[new] - cost[old]))[order]
    dq = (S[g, new] - S[g, old])[order]
    N = float(n.sum())
    pc = np.concatenate([[total_c], total_c + np.cumsum(dc)]) / N
    pq = np.concatenate([[total_q], total_q + np.cumsum(dq)]) / N
    return pc, pq


def one_trial(seed: int, K: int = 64, knn: int = 50, max_iter: int = 20) -> dict[str, float]:
    E, Q, cost = _DATA["E"], _DATA["Q"], _DATA["cost"]
    rng = np.random.default_rng(seed)
    n, M = Q.shape
    models = rng.permutation(M)
    test_m = models[(2 * M) // 3:]                       # unseen LLMs (training LLMs unused here)
    perm = rng.permutation(n)
    tr, va, te = np.split(perm, [int(0.6 * n), int(0.7 * n)])
    c = cost[test_m]
    cmax = c.max()
    q_va, q_te = Q[va][:, test_m], Q[te][:, test_m]
    E_te, E_va = E[te], E[va]
    out: dict[str, float] = {}

    # UniRoute (K-means): cluster the training prompts, Psi from validation answers.
    km = uniroute.KMeans(K, n_init=1, max_iter=max_iter, random_state=seed).fit(E[tr])
    index = _core.CentroidIndex(km.cluster_centers_)
    lab_va, lab_te = index.assign(E_va)[0], index.assign(E_te)[0]
    onehot_va = np.zeros((len(va), K), np.float32)
    onehot_va[np.arange(len(va)), lab_va] = 1.0
    err_sum = (onehot_va.T @ (1.0 - q_va)).T.astype(np.float64)        # (Mt, K)
    count = np.broadcast_to(onehot_va.sum(0, dtype=np.float64), err_sum.shape)
    psi = shrunk_cluster_error(err_sum, count, 1.0)
    onehot_te = np.zeros((len(te), K), np.float32)
    onehot_te[np.arange(len(te)), lab_te] = 1.0
    S = (onehot_te.T @ q_te).astype(np.float64)                        # (K, Mt)
    pc, pq = path_curve(_core.route_path(psi, c), S, onehot_te.sum(0, dtype=np.float64), c)
    out["uniroute"] = curve_area(pc / cmax, pq)

    # K-NN: mean validation error of the k most cosine-similar validation prompts.
    nn = _core.top_k_inner(E_te, E_va, knn)
    err_va = (1.0 - q_va)
    gamma = err_va[nn].mean(axis=1, dtype=np.float64)                  # (n_te, Mt)
    pc, pq = path_curve(_core.route_path(gamma.T, c), q_te.astype(np.float64),
                        np.ones(len(te)), c)
    out["knn"] = curve_area(pc / cmax, pq)

    # ZeroRouter: the upper concave hull of the validation (cost, accuracy) points.
    acc_va, acc_te = q_va.mean(0), q_te.mean(0)
    order = np.lexsort((-acc_va, c))
    hull: list[int] = []
    for m in order:
        if hull and acc_va[m] <= acc_va[hull[-1]]:
            continue
        while len(hull) >= 2:
            (c1, a1), (c2, a2) = [(c[h], acc_va[h]) for h in hull[-2:]]
            if (a2 - a1) * (c[m] - c1) <= (acc_va[m] - a1) * (c2 - c1):
                hull.pop()
            else:
                break
        hull.append(m)
    out["zerorouter"] = curve_area(c[hull] / cmax, acc_te[hull].astype(np.float64))
    return out


def _init_worker(path: str) -> None:
    with np.load(path) as z:
        _DATA.update(E=z["E"], Q=z["Q"], cost=z["cost"])


def run_trials(n_trials: int, workers: int = 2, shapes: dict | None = None) -> dict[str, float]:
    """Mean area per router over n_trials, trials spread over worker processes."""
    E, Q, cost = synthetic_embedllm(**(shapes or {}))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "data.npz")
        np.savez(path, E=E, Q=Q, cost=cost)
        # One level of parallelism: single-threaded kernels and BLAS inside each worker.
        with _single_threaded_blas(), ProcessPoolExecutor(
                workers, mp_context=get_context("spawn"), initializer=_init_worker,
                initargs=(path,)) as pool:
            results = list(pool.map(one_trial, range(n_trials)))
    return {name: float(np.mean([r[name] for r in results])) for name in results[0]}
