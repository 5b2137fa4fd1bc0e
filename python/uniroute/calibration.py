"""Budget calibration: choose lam on a sample of unlabelled traffic, exactly.

With hard clusters the decision for a cluster is piecewise constant in lam (the exact
lam-path, :meth:`UniRouter.route_path`), so the sample's average cost, predicted
quality or one model's share is a step function of lam with known breakpoints. We
walk those breakpoints (no search, no grid) to the step that brackets the target. A
target strictly inside a step cannot be met by any single lam; it is met by mixing the
two bracketing decisions, routing a fraction ``weight`` of prompts with the higher lam
(as ZeroRouter mixes two models), so that the *expected* average over the sample
equals the target exactly. Which prompts take the higher lam is decided by a hash of
the prompt's embedding (:func:`mix_uniform`): the same prompt always gets the same model.
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from uniroute import _core
from uniroute._pool import PoolSnapshot

log = logging.getLogger(__name__)

_N_PLANES = 64
_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


@dataclass(frozen=True)
class Calibration:
    """A calibrated lam, possibly a mix of two bracketing decisions.

    Attributes
    ----------
    kind : "cost", "quality" or "share"
    target : the requested average cost, predicted quality, or share of ``model``
    model : the model of a share target, else None
    lam : the breakpoint where the step brackets the target (the single lam if unmixed)
    lam_low, lam_high : the two lams that are mixed (equal when unmixed)
    weight : fraction of prompts routed with ``lam_high`` (0 when unmixed)
    predicted_cost, predicted_quality : expected averages on the sample at this mix
    predicted_share : expected share of prompts per model name
    exact : whether the target is met (to rounding); False when it is out of reach
    n_prompts : size of the calibration sample
    models, costs : the pool it was made for (routing with another pool is refused)
    """

    kind: str
    target: float
    model: str | None
    lam: float
    lam_low: float
    lam_high: float
    weight: float
    predicted_cost: float
    predicted_quality: float
    predicted_share: dict[str, float]
    exact: bool
    n_prompts: int
    models: tuple[str, ...]
    costs: tuple[float, ...]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready fields."""
        d = asdict(self)
        d["models"], d["costs"] = list(self.models), list(self.costs)
        return d

    def check_pool(self, pool: PoolSnapshot) -> None:
        if self.models != pool.names or self.costs != tuple(float(c) for c in pool.cost):
            raise ValueError("this calibration was made for another pool (models or costs "
                             "changed since); call calibrate() again")


def _splitmix64(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        x = (x + np.uint64(0x9E3779B97F4A7C15)) & _MASK64
        x = ((x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)) & _MASK64
        x = ((x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)) & _MASK64
        return x ^ (x >> np.uint64(31))


def _planes(dim: int) -> np.ndarray:
    """Fixed pseudo-random hyperplanes ``(dim, 64)``, the same in every process."""
    bits = _splitmix64(np.arange(dim * _N_PLANES, dtype=np.uint64))
    return ((bits >> np.uint64(11)).astype(np.float64) * 2.0**-52 - 1.0).astype(
        np.float32).reshape(dim, _N_PLANES)


def mix_uniform(X: np.ndarray) -> np.ndarray:
    """A deterministic number in [0, 1) per prompt, from its embedding ``(n, dim)``.

    The signs of 64 fixed random projections form a 64-bit key (locality-sensitive, so
    float noise from batching or float16 storage rarely changes it), mixed by
    splitmix64 into a uniform number.
    """
    signs = (np.asarray(X, dtype=np.float32) @ _planes(X.shape[1])) > 0
    key = np.packbits(signs, axis=1, bitorder="little").view("<u8").reshape(-1)
    return (_splitmix64(key.astype(np.uint64)) >> np.uint64(11)).astype(np.float64) * 2.0**-53


def _region_values(pool: PoolSnapshot, counts: np.ndarray, kind: str, spend: np.ndarray,
                   target_model: int) -> tuple[np.ndarray, np.ndarray]:
    """Breakpoints ``b`` (sorted, b[0] = 0) and the sample value on each ``[b_j, b_j+1)``."""
    offsets, model, lam_lo, _ = _core.route_path(pool.cluster_error, pool.cost)
    K = pool.n_clusters
    cluster = np.repeat(np.arange(K), np.diff(offsets))
    if kind == "cost":
        v = spend[model, cluster]
    elif kind == "quality":
        v = 1.0 - pool.cluster_error[model, cluster]
    else:
        v = (model == target_model).astype(np.float64)
    w = counts[cluster] / counts.sum()
    first = np.zeros(model.size, dtype=bool)
    first[offsets[:-1]] = True
    start = float(np.sum(w[first] * v[first]))
    step = ~first & (w > 0)
    delta = w[step] * (v[step] - v[np.flatnonzero(step) - 1])
    lam = lam_lo[step]
    breaks, inverse = np.unique(lam, return_inverse=True)
    values = start + np.concatenate([[0.0], np.cumsum(np.bincount(inverse, weights=delta))])
    return np.concatenate([[0.0], breaks]), values


def _representative(breaks: np.ndarray, j: int) -> float:
    """A lam inside region j, away from both of its breakpoints."""
    if j == 0:
        return 0.0
    if j + 1 < breaks.size:
        return float(0.5 * (breaks[j] + breaks[j + 1]))
    return float(2.0 * breaks[j])


def _metrics(pool: PoolSnapshot, counts: np.ndarray, spend: np.ndarray,
             lam: float) -> tuple[float, float, np.ndarray]:
    """Exact sample average cost, predicted quality and shares of the decision at ``lam``."""
    table = pool.choice_table(lam)
    p = counts / counts.sum()
    K = pool.n_clusters
    cost = float(p @ spend[table, np.arange(K)])
    quality = float(p @ (1.0 - pool.cluster_error[table, np.arange(K)]))
    share = np.bincount(table, weights=p, minlength=pool.n_models)
    return cost, quality, share


def solve(pool: PoolSnapshot, labels: np.ndarray, kind: str, target: float,
          spend: np.ndarray, target_model: int = -1) -> Calibration:
    """Calibrate on a sample whose cluster labels are ``labels``.

    ``spend[m, k]`` is the expected cost of model m on a prompt of cluster k.
    """
    counts = np.bincount(labels, minlength=pool.n_clusters).astype(np.float64)
    breaks, values = _region_values(pool, counts, kind, spend, target_model)
    lo = np.minimum(values[:-1], values[1:])
    hi = np.maximum(values[:-1], values[1:])
    inside = np.flatnonzero((lo <= target) & (target <= hi))
    if values[0] == target or inside.size == 0:
        j = 0 if values[0] == target else int(np.argmin(np.abs(values - target)))
        a = b = _representative(breaks, j)
        weight, lam = 0.0, a
    else:
        j = int(inside[0])
        a, b = _representative(breaks, j), _representative(breaks, j + 1)
        lam = float(breaks[j + 1])
    ma, mb = _metrics(pool, counts, spend, a), _metrics(pool, counts, spend, b)
    pick = {"cost": 0, "quality": 1}
    va = ma[pick[kind]] if kind in pick else float(ma[2][target_model])
    vb = mb[pick[kind]] if kind in pick else float(mb[2][target_model])
    if a != b:
        weight = 0.0 if va == vb else float(np.clip((va - target) / (va - vb), 0.0, 1.0))
        tol = 1e-12 * max(abs(va), abs(vb), 1e-300)
        if abs(vb - target) <= tol:
            weight = 1.0
        elif abs(va - target) <= tol:
            weight = 0.0
        if weight in (0.0, 1.0):  # the target sits on a step: no mix needed
            if weight == 1.0:
                a, ma = b, mb
            b, mb, lam, weight = a, ma, a, 0.0
    mix = [(1 - weight) * x + weight * y for x, y in zip(ma, mb)]
    achieved = mix[pick[kind]] if kind in pick else float(mix[2][target_model])
    exact = bool(abs(achieved - target) <= 1e-9 * max(abs(target), 1e-300) + 1e-15)
    if not exact:
        log.warning("calibration target %s=%g is out of reach on this sample; the closest "
                    "is %g", kind, target, achieved)
    return Calibration(
        kind=kind, target=float(target),
        model=pool.names[target_model] if kind == "share" else None,
        lam=float(lam), lam_low=float(a), lam_high=float(b), weight=float(weight),
        predicted_cost=float(mix[0]), predicted_quality=float(mix[1]),
        predicted_share={n: float(s) for n, s in zip(pool.names, mix[2])},
        exact=exact, n_prompts=int(labels.shape[0]), models=pool.names,
        costs=tuple(float(c) for c in pool.cost))
