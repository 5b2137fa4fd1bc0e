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

With a learned (soft) map the decision of each sample prompt is piecewise constant in
lam too (the lower hull of its points ``(cost[m], Phi(x) . Psi[m])``), so the same walk
is exact with every sample prompt as its own "cluster" of weight one.

**A budget follows the pool.** A :class:`Calibration` keeps its target and what it
needs of the sample (the cluster histogram, or the sample's soft weights ``Phi``).
Routing with it on a pool that changed since it was solved (``observe``,
``update_model``, ``add_model``, ``remove_model``, a new price) re-solves it exactly on
the current pool, once per pool snapshot (:func:`resolve`).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field, fields
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

from uniroute import _core
from uniroute._pool import PoolSnapshot

log = logging.getLogger(__name__)



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
    models, costs : the pool it was solved on (routing on a changed pool re-solves it)
    sample : what it keeps of the sample: ``("hard", counts (K,))`` or ``("soft", Phi)``
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
    sample: tuple[str, np.ndarray] | None = field(default=None, repr=False, compare=False)
    pool_token: int = field(default=-1, repr=False, compare=False)
    clusters_token: int = field(default=-1, repr=False, compare=False)
    clusters_fingerprint: str = field(default="", repr=False, compare=False)

    def __getstate__(self) -> dict[str, Any]:
        # The snapshot tokens count snapshots of this process only: another process (or
        # this one after unpickling) could hold an unrelated pool with the same numbers.
        # A pickled budget drops them, so it is re-solved (once, exactly) on the pool it
        # routes on, found by the clusters' fingerprint.
        state = dict(self.__dict__)
        state["pool_token"] = state["clusters_token"] = -1
        return state

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready fields: the report, plus what :meth:`from_dict` needs to
        follow the pool (``sample``: the kept sample; ``clusters_fingerprint``: a digest of
        the clusters and map it belongs to)."""
        d = {f.name: getattr(self, f.name) for f in fields(self)
             if f.name not in ("sample", "pool_token", "clusters_token")}
        d["predicted_share"] = dict(self.predicted_share)
        d["models"], d["costs"] = list(self.models), list(self.costs)
        if self.sample is not None:
            kind, data = self.sample
            d["sample"] = {"kind": kind, "data": np.asarray(data).tolist()}
        return d

    @classmethod
    def from_dict(cls, d: Any) -> Calibration:
        """A :class:`Calibration` from :meth:`to_dict` (e.g. carried as JSON metadata).

        Routing with it re-solves it exactly on the router's current pool, provided the
        router has the clusters (and map) it was made for; otherwise routing raises.
        """
        if not isinstance(d, Mapping):
            raise TypeError(f"a Calibration dict must be a mapping, got {type(d).__name__}")
        known = {f.name for f in fields(cls)} - {"sample", "pool_token", "clusters_token"}
        unknown = sorted(set(d) - known - {"sample"})
        if unknown:
            raise ValueError(f"not a Calibration.to_dict(): unknown keys {unknown}")
        try:
            kw = {k: d[k] for k in known if k in d}
            kw["models"] = tuple(str(m) for m in d["models"])
            kw["costs"] = tuple(float(c) for c in d["costs"])
            kw["predicted_share"] = {str(k): float(v) for k, v in d["predicted_share"].items()}
            sample = d.get("sample")
            if sample is not None:
                kind = sample["kind"]
                dtype = np.float64 if kind == "hard" else np.float32
                data = np.array(sample["data"], dtype=dtype)
                if kind not in ("hard", "soft") or data.ndim != (1 if kind == "hard" else 2) \
                        or not np.isfinite(data).all() or (data < 0).any():
                    raise ValueError("bad 'sample'")
                data.flags.writeable = False
                kw["sample"] = (kind, data)
            return cls(**kw)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"not a Calibration.to_dict(): {exc!r}") from None


def mix_uniform(X: np.ndarray) -> np.ndarray:
    """A deterministic number in [0, 1) per prompt, from its embedding ``(n, dim)``.

    The signs of 64 fixed random projections of the embedding (of its 128 evenly spaced
    coordinates, or all of them below 256 dims) form a 64-bit key (locality-sensitive,
    so float noise from batching or float16 storage rarely changes it), mixed by
    splitmix64 into a uniform number. Computed by the core (the planes are built once
    per dim), with the same per-row arithmetic that routing with a budget uses.
    """
    return _core.mix_uniform(np.asarray(X))


class Problem(NamedTuple):
    """A calibration problem: ``C`` "clusters" of a sample with weights ``counts``.

    ``psi (M, C)`` the predicted error per model and cluster, ``cost (M,)`` the prices,
    ``spend (M, C)`` the expected cost per model and cluster, ``names`` the models.
    Hard clusters: C = K and the counts are the sample's histogram; a soft map: C = n,
    every sample prompt its own cluster of weight one.
    """

    psi: np.ndarray
    cost: np.ndarray
    counts: np.ndarray
    spend: np.ndarray
    names: tuple[str, ...]


def _region_values(p: Problem, kind: str, target_model: int) -> tuple[np.ndarray, np.ndarray]:
    """Breakpoints ``b`` (sorted, b[0] = 0) and the sample value on each ``[b_j, b_j+1)``."""
    offsets, model, lam_lo, _ = _core.route_path(p.psi, p.cost)
    C = p.psi.shape[1]
    cluster = np.repeat(np.arange(C), np.diff(offsets))
    if kind == "cost":
        v = p.spend[model, cluster]
    elif kind == "quality":
        v = 1.0 - p.psi[model, cluster]
    else:
        v = (model == target_model).astype(np.float64)
    w = p.counts[cluster] / p.counts.sum()
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


def _metrics(p: Problem, lam: float) -> tuple[float, float, np.ndarray]:
    """Exact sample average cost, predicted quality and shares of the decision at ``lam``
    (the core's choice table: the decision routing makes)."""
    table = _core.choice_table(p.psi, p.cost, lam)
    w = p.counts / p.counts.sum()
    C = np.arange(p.psi.shape[1])
    cost = float(w @ p.spend[table, C])
    quality = float(w @ (1.0 - p.psi[table, C]))
    share = np.bincount(table, weights=w, minlength=p.psi.shape[0])
    return cost, quality, share


def solve(p: Problem, kind: str, target: float, target_model: int = -1, *,
          n_prompts: int, sample: Any = None, pool_token: int = -1,
          clusters_token: int = -1, clusters_fingerprint: str = "") -> Calibration:
    """Calibrate: walk the breakpoints of ``p`` to the step that brackets ``target``."""
    breaks, values = _region_values(p, kind, target_model)
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
    ma, mb = _metrics(p, a), _metrics(p, b)
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
        model=p.names[target_model] if kind == "share" else None,
        lam=float(lam), lam_low=float(a), lam_high=float(b), weight=float(weight),
        predicted_cost=float(mix[0]), predicted_quality=float(mix[1]),
        predicted_share={n: float(s) for n, s in zip(p.names, mix[2])},
        exact=exact, n_prompts=int(n_prompts), models=p.names,
        costs=tuple(float(c) for c in p.cost), sample=sample, pool_token=pool_token,
        clusters_token=clusters_token, clusters_fingerprint=clusters_fingerprint)


def problem(pool: PoolSnapshot, sample: tuple[str, np.ndarray], strength: float) -> Problem:
    """The calibration problem of a kept sample on ``pool`` (see :class:`Problem`)."""
    spend = pool.expected_cost(strength)
    kind, data = sample
    if kind == "hard":
        return Problem(pool.cluster_error, pool.cost, data, spend, pool.names)
    errors = pool.compiled().errors_of_phi(data)  # what routing compares, bit for bit
    phi = data.astype(np.float64)
    phi /= phi.sum(axis=1, keepdims=True)  # float32 weights sum to 1 only to ~1e-7
    return Problem(np.ascontiguousarray(errors.T), pool.cost, np.ones(errors.shape[0]),
                   np.ascontiguousarray((phi @ spend.T).T), pool.names)


def calibrate(pool: PoolSnapshot, sample: tuple[str, np.ndarray], n_prompts: int, kind: str,
              target: float, model: str | None, strength: float) -> Calibration:
    """Solve a target on ``pool`` for a kept sample."""
    target_model = pool.index_of(model) if kind == "share" else -1  # type: ignore[arg-type]
    return solve(problem(pool, sample, strength), kind, target, target_model,
                 n_prompts=n_prompts, sample=sample, pool_token=pool.token,
                 clusters_token=pool.clusters_token,
                 clusters_fingerprint=pool.clusters_fingerprint())


def resolve(budget: Any, pool: PoolSnapshot, strength: float) -> Calibration:
    """The budget to route with on ``pool``: ``budget`` itself if it was solved on this
    snapshot, else its exact re-solution on this snapshot (computed once, cached)."""
    if not isinstance(budget, Calibration):
        raise TypeError("budget must be a Calibration from calibrate()")
    if budget.pool_token == pool.token:
        return budget
    key = ("budget", id(budget))
    hit = pool._cache.get(key)
    if hit is not None and hit[0] is budget:
        return hit[1]  # type: ignore[no-any-return]
    same_clusters = budget.clusters_token == pool.clusters_token or (
        budget.clusters_token == -1 and budget.clusters_fingerprint != ""
        and budget.clusters_fingerprint == pool.clusters_fingerprint())
    if budget.sample is None or not same_clusters:
        raise ValueError("this calibration was made for another pool (other clusters or "
                         "learned map, or not by calibrate()); call calibrate() again")
    new = calibrate(pool, budget.sample, budget.n_prompts, budget.kind, budget.target,
                    budget.model, strength)
    with pool._cache_lock:
        pool._cache[key] = (budget, new)
    return new
