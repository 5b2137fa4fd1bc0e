"""Why a prompt went where it went: :class:`Explanation`."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True, eq=False)
class Explanation:
    """The routing decision for one prompt, with everything that produced it.

    Attributes
    ----------
    cluster : nearest centroid ``k(x)`` (a learned map: its most weighted cluster)
    distance : Euclidean distance from the prompt's embedding to that centroid (NaN for
        a learned map, which has no distance; ``None`` in :meth:`to_dict`)
    lam : the cost weight used for this prompt (with a budget: the one its hash picked)
    models : the pool's model names (the snapshot the decision was made on)
    predicted_error : ``Psi[m, k(x)]`` per model, float64 ``(M,)``
    cost : price per query per model, float64 ``(M,)``
    score : ``predicted_error + lam * cost`` (the penalised score minimised), ``(M,)``
    feasible : bool ``(M,)``, False for models excluded by ``allowed`` / ``max_cost``
    chosen : the model chosen
    runner_up : the feasible model with the next-best score (None if it is alone)
    margin : ``score[runner_up] - score[chosen]`` (>= 0; inf without a runner-up)
    fallback : True when no model was feasible and the cheapest allowed one was taken
    """

    cluster: int
    distance: float
    lam: float
    models: tuple[str, ...]
    predicted_error: np.ndarray
    cost: np.ndarray
    score: np.ndarray
    feasible: np.ndarray
    chosen: str
    runner_up: str | None
    margin: float
    fallback: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: scalars and one record per model."""
        return {
            "cluster": self.cluster,
            "distance": None if math.isnan(self.distance) else self.distance,  # strict JSON
            "lam": self.lam,
            "chosen": self.chosen, "runner_up": self.runner_up,
            "margin": None if math.isinf(self.margin) else self.margin,
            "fallback": self.fallback,
            "candidates": [
                {"model": m, "predicted_error": float(e), "cost": float(c),
                 "score": float(s), "feasible": bool(f)}
                for m, e, c, s, f in zip(self.models, self.predicted_error, self.cost,
                                         self.score, self.feasible)],
        }

    def __repr__(self) -> str:
        width = max([5] + [len(m) for m in self.models])
        dist = "n/a" if math.isnan(self.distance) else f"{self.distance:.4f}"
        lines = [f"Explanation(cluster={self.cluster}, distance={dist}, lam={self.lam:.6g})",
                 f"    {'model':<{width}}  {'pred.error':>10}  {'cost':>10}  {'score':>10}"]
        for m in np.lexsort((self.cost, self.score, ~self.feasible)):
            mark = "*" if self.models[m] == self.chosen else ("x" if not self.feasible[m] else " ")
            lines.append(f"  {mark} {self.models[m]:<{width}}  {self.predicted_error[m]:10.4f}  "
                         f"{self.cost[m]:10.4g}  {self.score[m]:10.6f}")
        tail = (f"  chosen {self.chosen!r}" + (" (fallback: nothing feasible)" if self.fallback
                                               else ""))
        if self.runner_up is not None:
            tail += f"; runner-up {self.runner_up!r} by a margin of {self.margin:.6g}"
        return "\n".join(lines + [tail])


def explain_rows(names: tuple[str, ...], cost: np.ndarray, cluster: np.ndarray,
                 sqdist: np.ndarray, lam: np.ndarray, errors: np.ndarray,
                 feasible: np.ndarray, chosen: np.ndarray) -> list[Explanation]:
    """One :class:`Explanation` per prompt, from one core call's details.

    ``cluster``, ``sqdist`` and ``lam`` are ``(n,)``, ``errors`` ``(n, M)`` the predicted
    errors, ``feasible`` ``(n, M)`` bool, ``chosen`` ``(n,)`` pool indices (as routing
    returned them, so that explanation and route always agree). A learned map reports
    its most weighted cluster and no distance (NaN).
    """
    out = []
    for i in range(cluster.shape[0]):
        err = np.array(errors[i], dtype=np.float64)
        score = err + lam[i] * cost
        f = feasible[i].copy()
        c = int(chosen[i])
        others = [m for m in np.lexsort((np.arange(cost.size), cost, score)) if m != c and f[m]]
        runner = int(others[0]) if others else None
        dist = float(sqdist[i])
        out.append(Explanation(
            cluster=int(cluster[i]), distance=dist if np.isnan(dist) else
            float(np.sqrt(max(dist, 0.0))),
            lam=float(lam[i]), models=names, predicted_error=err, cost=cost.copy(),
            score=score, feasible=f, chosen=names[c],
            runner_up=None if runner is None else names[runner],
            margin=math.inf if runner is None else float(score[runner] - score[c]),
            fallback=not bool(f[c])))
    return out
