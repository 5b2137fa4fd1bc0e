"""What a router hands back for scoring, and the scorer that holds the hidden labels.

A router never sees the labels it is scored on. It returns one of these *decisions* for
the test prompts; the :class:`Scorer` (built by the protocol from the test LLMs' labels
on the test prompts) turns them into operating points ``(cost, quality)``.

- :class:`ClusterErrors` -- a hard-cluster router (UniRoute K-means): prompt ``n`` goes to
  ``argmin_m cluster_error[m, labels[n]] + lam * cost[m]``. Scored **exactly** for every
  ``lam >= 0`` from the core's lambda-path (``_core.route_path``), no grid.
- :class:`PromptErrors` -- any router with a predicted error per prompt and model (K-NN,
  LearnedMap, the clairvoyant reference): the same rule with each prompt its own
  cluster, so also exact.
- :class:`ModelMixtures` -- prompt-independent routers (ZeroRouter, Random, one LLM):
  each row is a distribution over the test LLMs, scored in expectation.
- :class:`Choices` -- anything else: explicit choices per prompt, one row per operating
  point (e.g. a lambda sweep).

The routing cost ``cost[m]`` in the lambda rule is the protocol's (each test LLM's mean
cost on the validation prompts), never the router's own.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from uniroute._deferral import totals_from_sums


@dataclass(frozen=True)
class ClusterErrors:
    """Hard clusters: ``labels`` (n_test,) int, ``cluster_error`` (n_test_llms, K)."""

    labels: np.ndarray
    cluster_error: np.ndarray


@dataclass(frozen=True)
class PromptErrors:
    """Predicted error per test prompt and test LLM: ``error`` (n_test, n_test_llms)."""

    error: np.ndarray


@dataclass(frozen=True)
class ModelMixtures:
    """Prompt-independent mixtures: ``weights`` (n_points, n_test_llms), rows sum to 1."""

    weights: np.ndarray


@dataclass(frozen=True)
class Choices:
    """Explicit choices: ``choices`` (n_points, n_test) int, test-LLM index per prompt."""

    choices: np.ndarray


Decisions = ClusterErrors | PromptErrors | ModelMixtures | Choices


@dataclass(frozen=True)
class Points:
    """Operating points: mean realised ``cost`` (normalised), mean ``quality``, ``usage``
    (n_points, n_test_llms) share of prompts sent to each LLM."""

    cost: np.ndarray
    quality: np.ndarray
    usage: np.ndarray


def path_totals(labels: np.ndarray, cluster_error: np.ndarray, routing_cost: np.ndarray,
                quality: np.ndarray, cost: np.ndarray) -> tuple[np.ndarray, ...]:
    """Sums of quality, cost and prompts per LLM at every breakpoint of the exact lam-path.

    Returns ``(quality_sum (P,), cost_sum (P,), count (P, M))``, point 0 at ``lam = 0``,
    the last for ``lam`` beyond the largest breakpoint (see
    :func:`uniroute._deferral.totals_from_sums`).
    """
    M, K = cluster_error.shape
    sum_q = np.zeros((K, M))
    sum_c = np.zeros((K, M))
    np.add.at(sum_q, labels, quality)
    np.add.at(sum_c, labels, cost)
    size = np.bincount(labels, minlength=K).astype(np.float64)
    return totals_from_sums(sum_q, sum_c, size, cluster_error, routing_cost)


class Scorer:
    """Scores decisions on the test prompts over the test pool (holds the hidden labels).

    Parameters
    ----------
    quality, cost : (n_test, n_test_llms)
        The test LLMs' quality and realised cost on the test prompts. Only prompts where
        every test LLM has a label and a cost are scored (``self.rows``).
    routing_cost : (n_test_llms,)
        The protocol's routing cost (mean validation cost) used in the lambda rule.
    """

    def __init__(self, quality: np.ndarray, cost: np.ndarray, routing_cost: np.ndarray) -> None:
        quality = np.asarray(quality, dtype=np.float64)
        cost = np.asarray(cost, dtype=np.float64)
        self.rows = np.flatnonzero(np.isfinite(quality).all(1) & np.isfinite(cost).all(1))
        if self.rows.size == 0:
            raise ValueError("no test prompt has a label and a cost for every test LLM")
        self.quality, self.cost = quality[self.rows], cost[self.rows]
        self.routing_cost = np.asarray(routing_cost, dtype=np.float64)
        self.mean_quality = self.quality.mean(0)
        self.mean_cost = self.cost.mean(0)
        top = float(self.mean_cost.max())
        self.norm = top if top > 0 else 1.0
        self.best_quality = float(self.mean_quality.max())
        # the lam -> infinity end of every cost-aware router: all to the cheapest LLM
        self.anchor = int(np.argmin(self.routing_cost))

    @property
    def n(self) -> int:
        return int(self.rows.size)

    def points(self, decisions: Decisions) -> Points:
        """Operating points of ``decisions``, plus the anchor (all to the cheapest LLM)."""
        M = self.quality.shape[1]
        if isinstance(decisions, (ClusterErrors, PromptErrors)):
            if isinstance(decisions, ClusterErrors):
                labels = np.asarray(decisions.labels, dtype=np.int64)[self.rows]
                psi = np.asarray(decisions.cluster_error, dtype=np.float64)
            else:
                labels = np.arange(self.n, dtype=np.int64)
                psi = np.asarray(decisions.error, dtype=np.float64)[self.rows].T
            if psi.shape[0] != M:
                raise ValueError(f"decisions cover {psi.shape[0]} LLMs, the test pool has {M}")
            q, c, n = path_totals(labels, np.ascontiguousarray(psi), self.routing_cost,
                                  self.quality, self.cost)
            q, c, usage = q / self.n, c / self.n, n / self.n
        elif isinstance(decisions, ModelMixtures):
            usage = np.atleast_2d(np.asarray(decisions.weights, dtype=np.float64))
            q, c = usage @ self.mean_quality, usage @ self.mean_cost
        elif isinstance(decisions, Choices):
            choice = np.atleast_2d(np.asarray(decisions.choices, dtype=np.int64))[:, self.rows]
            rows = np.arange(self.n)
            q = self.quality[rows, choice].mean(1)
            c = self.cost[rows, choice].mean(1)
            flat = (np.arange(choice.shape[0])[:, None] * M + choice).ravel()
            usage = np.bincount(flat, minlength=choice.shape[0] * M).reshape(-1, M) / self.n
        else:
            raise TypeError(f"unknown decisions type {type(decisions).__name__}")
        a = self.anchor
        return Points(cost=np.append(c, self.mean_cost[a]) / self.norm,
                      quality=np.append(q, self.mean_quality[a]),
                      usage=np.vstack([usage, np.eye(M)[a]]))

    def oracle(self) -> Points:
        """The per-prompt oracle: the cheapest LLM of the best quality on each prompt."""
        best = self.quality.max(1, keepdims=True)
        cost = np.where(self.quality >= best, self.cost, np.inf)
        return self.points(Choices(_full(self, np.argmin(cost, axis=1))))


def _full(scorer: Scorer, chosen: np.ndarray) -> np.ndarray:
    """Choices for all test rows from choices on the scored rows (others unused)."""
    out = np.zeros(int(scorer.rows.max()) + 1, dtype=np.int64)
    out[scorer.rows] = chosen
    return out[None, :]
