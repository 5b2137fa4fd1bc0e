"""Plain-numpy references for every kernel of uniroute._core (float64, brute force)."""
from __future__ import annotations

import numpy as np


def assign_ref(X: np.ndarray, C: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact nearest centroid by explicit differences; ties to the lowest index."""
    X = np.asarray(X, dtype=np.float64)
    C = np.asarray(C, dtype=np.float64)
    D = ((X[:, None, :] - C[None, :, :]) ** 2).sum(-1) if X.size else np.zeros((X.shape[0], len(C)))
    return D.argmin(1).astype(np.int64), D.min(1) if len(X) else np.zeros(0)


def all_sqdist_ref(X: np.ndarray, C: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    C = np.asarray(C, dtype=np.float64)
    return ((X[:, None, :] - C[None, :, :]) ** 2).sum(-1)


def soft_assign_ref(X: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    Z = np.asarray(X, np.float64) @ np.asarray(W, np.float64).T + np.asarray(b, np.float64)
    Z -= Z.max(1, keepdims=True)
    E = np.exp(Z)
    return E / E.sum(1, keepdims=True)


def argmin_tie_cheaper(scores: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """Row-wise argmin; exact ties to the cheaper model, then the lower index."""
    out = np.empty(scores.shape[0], dtype=np.int64)
    for i, row in enumerate(scores):
        best = np.flatnonzero(row == row.min())
        out[i] = best[np.lexsort((best, cost[best]))][0]
    return out


def route_ref(phi: np.ndarray, psi: np.ndarray, cost: np.ndarray, lam: float) -> np.ndarray:
    """argmin_m phi . psi[m] + lam * cost[m] for labels (1-D) or dense phi (2-D)."""
    psi = np.asarray(psi, np.float64)
    cost = np.asarray(cost, np.float64)
    if phi.ndim == 1:
        scores = psi.T[phi] + lam * cost
    else:
        scores = np.asarray(phi, np.float64) @ psi.T + lam * cost
    return argmin_tie_cheaper(scores, cost)


def path_choice_ref(psi: np.ndarray, cost: np.ndarray, lam: float) -> np.ndarray:
    """The per-cluster choice at lam, by brute force."""
    return argmin_tie_cheaper(psi.T + lam * cost, cost)


def cluster_error_ref(labels: np.ndarray, correct: np.ndarray, n_clusters: int,
                      strength: float) -> np.ndarray:
    """Psi of one model by explicit loops (float64): the per-cluster error shrunk toward the
    model's overall error ``(errors + 0.5) / (answered + 1)`` with ``strength`` probes.
    NaN labels are not answered."""
    correct = np.asarray(correct, np.float64)
    answered = [i for i in range(correct.shape[0]) if not np.isnan(correct[i])]
    overall = (sum(1.0 - correct[i] for i in answered) + 0.5) / (len(answered) + 1.0)
    psi = np.empty(n_clusters)
    for k in range(n_clusters):
        rows = [i for i in answered if labels[i] == k]
        err, n = sum(1.0 - correct[i] for i in rows), float(len(rows))
        psi[k] = overall if n + strength == 0 else (err + strength * overall) / (n + strength)
    return psi


def masked_route_ref(scores: np.ndarray, cost: np.ndarray, feasible: np.ndarray,
                     allowed: np.ndarray) -> np.ndarray:
    """Row-wise argmin over the feasible models (ties: cheaper, then lower index); a row
    with no feasible model takes its cheapest allowed model (ties: lower index)."""
    cost = np.asarray(cost, np.float64)
    out = np.empty(scores.shape[0], dtype=np.int64)
    for i, row in enumerate(np.asarray(scores, np.float64)):
        cand = np.flatnonzero(feasible[i])
        if cand.size:
            best = cand[row[cand] == row[cand].min()]
        else:
            cand = np.flatnonzero(allowed[i])
            best = cand[cost[cand] == cost[cand].min()]
        out[i] = best[np.lexsort((best, cost[best]))][0]
    return out


def selection_draws_ref(n_all: int, M: int, n_draws: int, seed: int, n_probes: int,
                        pool_size: int, max_heldout: int = 3000) -> list[tuple[np.ndarray, ...]]:
    """The probe-aware selection's simulated draws as documented (uniroute.tuning, step 2):
    per draw a permutation of the prompts, then a pool; ``(probes, held-out, pool)``."""
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(n_draws):
        order = rng.permutation(n_all)
        pool = np.sort(rng.choice(M, pool_size, replace=False))
        draws.append((np.sort(order[:n_probes]),
                      np.sort(order[n_probes:n_probes + max_heldout]), pool))
    return draws
