"""Baselines: ZeroRouter, K-NN, Random, best single LLM, and the clairvoyant reference."""
from __future__ import annotations

import warnings

import numpy as np

from uniroute.evaluation.decisions import Decisions, ModelMixtures, PromptErrors
from uniroute.evaluation.metrics import upper_hull
from uniroute.evaluation.protocol import ClairvoyantView, TrialView
from uniroute.evaluation.routers import Router
from uniroute.evaluation.selection import DEFAULT_NEIGHBOR_GRID, neighbor_errors, select_n_neighbors


def _val_accuracy(view: TrialView) -> np.ndarray:
    """Each test LLM's mean quality on its answered probes (0 if none)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nan_to_num(np.nanmean(view.val_quality, axis=0), nan=0.0)


class ZeroRouter(Router):
    """RouterBench's ZeroRouter: prompt-independent mixing along the cost-quality hull.

    The test LLMs' (routing cost, validation quality) points; their non-decreasing upper
    convex hull; every budget is met by mixing the two hull LLMs around it at random.
    Its operating points are the hull LLMs; mixtures lie on the straight segments that
    join them, which the curve draws (scored in expectation).
    """

    name = "zero_router"

    def fit(self, view: TrialView) -> ZeroRouter:
        acc = _val_accuracy(view)
        hull_cost, hull_acc = upper_hull(view.routing_cost, acc)
        self.hull_ = [int(np.flatnonzero((view.routing_cost == c) & (acc == a))[0])
                      for c, a in zip(hull_cost, hull_acc)]
        self.info["hull"] = [view.test_models[m] for m in self.hull_]
        return self

    def decisions(self, view: TrialView) -> Decisions:
        return ModelMixtures(np.eye(len(view.test_models))[self.hull_])


class RandomRouter(Router):
    """Quality-blind random routing: for each cost level, a uniformly random LLM among
    those at most that expensive (by routing cost); scored in expectation."""

    name = "random"

    def fit(self, view: TrialView) -> RandomRouter:
        return self

    def decisions(self, view: TrialView) -> Decisions:
        cost = np.asarray(view.routing_cost)
        rows = [(cost <= c) / np.sum(cost <= c) for c in np.unique(cost)]
        return ModelMixtures(np.array(rows))


class BestSingle(Router):
    """Every prompt to the test LLM with the best validation quality (ties: cheaper)."""

    name = "best_single"

    def fit(self, view: TrialView) -> BestSingle:
        acc = _val_accuracy(view)
        self.best_ = int(np.lexsort((view.routing_cost, -acc))[0])
        self.info["model"] = view.test_models[self.best_]
        return self

    def decisions(self, view: TrialView) -> Decisions:
        return ModelMixtures(np.eye(len(view.test_models))[[self.best_]])


class KNNRouter(Router):
    """K-NN: an LLM's predicted error on a prompt is its mean error on the prompt's k most
    cosine-similar probe (validation) prompts; k is chosen like K, from training LLMs."""

    name = "knn"

    def __init__(self, grid: tuple[int, ...] = DEFAULT_NEIGHBOR_GRID,
                 n_neighbors: int | None = None) -> None:
        super().__init__()
        self.grid, self.n_neighbors = grid, n_neighbors

    def fit(self, view: TrialView) -> KNNRouter:
        k = self.n_neighbors
        if k is None:
            k = int(select_n_neighbors(view.train_embeddings, view.train_quality,
                                       view.val_embeddings, view.val_quality_train_models,
                                       view.val_cost_train_models, grid=self.grid))
        self.k_ = min(k, view.val_embeddings.shape[0])
        self.info["n_neighbors"] = self.k_
        return self

    def decisions(self, view: TrialView) -> Decisions:
        err = neighbor_errors(view.test_embeddings, view.val_embeddings, view.val_quality,
                              [self.k_])[self.k_]
        return PromptErrors(err)


class Clairvoyant(Router):
    """Upper reference (declared exception): a per-LLM logistic regression on the prompt
    embeddings, trained with the **test** LLMs' labels on the train prompts.

    Embeddings are projected on their top ``n_components`` principal directions (fitted
    on the train prompts); the L2 strength of each LLM's model is picked from ``regs``
    by its log loss on the LLM's validation (probe) labels; Newton's method.
    """

    name = "clairvoyant"
    clairvoyant = True

    def __init__(self, n_components: int = 128, regs: tuple[float, ...] = (1e-3, 1e-2, 1e-1)):
        super().__init__()
        self.n_components, self.regs = n_components, regs

    def fit(self, view: TrialView) -> Clairvoyant:
        if not isinstance(view, ClairvoyantView):
            raise TypeError("the clairvoyant reference needs a ClairvoyantView")
        X = np.asarray(view.train_embeddings, dtype=np.float64)
        self.mean_ = X.mean(0)
        Xc = X - self.mean_
        _, vectors = np.linalg.eigh(Xc.T @ Xc)  # principal directions, ascending
        self.basis_ = vectors[:, ::-1][:, : self.n_components]
        Z, Zv = self._features(X), self._features(view.val_embeddings)
        Y, Yv = view.test_models_train_quality, view.val_quality
        self.coef_ = np.zeros((Z.shape[1], Y.shape[1]))
        for m in range(Y.shape[1]):
            fits = [_logistic(Z, Y[:, m], reg) for reg in self.regs]
            self.coef_[:, m] = min(fits, key=lambda w: _log_loss(Zv, Yv[:, m], w))
        return self

    def _features(self, X: np.ndarray) -> np.ndarray:
        Z = (np.asarray(X, dtype=np.float64) - self.mean_) @ self.basis_
        return np.hstack([Z, np.ones((Z.shape[0], 1))])

    def decisions(self, view: TrialView) -> Decisions:
        p = _sigmoid(self._features(view.test_embeddings) @ self.coef_)
        return PromptErrors(1.0 - p)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _log_loss(Z: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    ok = np.isfinite(y)
    if not ok.any():
        return 0.0
    p = np.clip(_sigmoid(Z[ok] @ w), 1e-6, 1 - 1e-6)
    return float(-np.mean(y[ok] * np.log(p) + (1 - y[ok]) * np.log(1 - p)))


def _logistic(Z: np.ndarray, y: np.ndarray, reg: float, iters: int = 25) -> np.ndarray:
    """L2-regularised logistic regression (soft labels in [0, 1]) by Newton's method;
    the last column of ``Z`` is the unpenalised bias."""
    ok = np.isfinite(y)
    Z, y = Z[ok], y[ok]
    d = Z.shape[1]
    w = np.zeros(d)
    if Z.shape[0] == 0:
        return w
    penalty = np.full(d, reg)
    penalty[-1] = 1e-8
    n = Z.shape[0]
    for _ in range(iters):
        p = _sigmoid(Z @ w)
        grad = Z.T @ (p - y) / n + penalty * w
        hess = (Z * (p * (1 - p))[:, None]).T @ Z / n + np.diag(penalty)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.max(np.abs(step)) < 1e-6:
            break
    return w
