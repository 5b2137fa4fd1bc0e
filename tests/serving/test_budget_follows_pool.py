"""A budget stays a budget while the pool changes.

After ``observe``, ``update_model`` (labels or price), ``add_model`` and
``remove_model``, routing with a :class:`Calibration` made before meets its target on
the calibration sample exactly as a fresh ``calibrate`` on the new pool does; the
mix's expected value on the sample is recomputed here from plain routing at its two
lams (an independent check of "exact").
"""
from __future__ import annotations

import numpy as np
import pytest
from uniroute import LearnedMapRouter, UniRouter
from uniroute.calibration import mix_uniform


def _world(seed=11, d=10, K=5, n=1200):
    rng = np.random.default_rng(seed)
    topics = rng.standard_normal((K, d)) * 2.5
    t = rng.integers(0, K, n)
    X = (topics[t] + rng.standard_normal((n, d))).astype(np.float32)
    skill = rng.uniform(0.05, 0.95, (10, K))
    Y = (rng.random((n, 10)) < skill[:, t].T).astype(float)
    return X, Y


def _router(kind):
    X, Y = _world()
    if kind == "hard":
        r = UniRouter(5, random_state=0).fit(X[:400])
    else:
        r = LearnedMapRouter(5, random_state=0, max_epochs=10).fit(X[:400], Y[:400, :3],
                                                                   X[400:600], Y[400:600, :3])
    for m, c in enumerate((0.2, 0.5, 1.0, 2.0, 4.0)):
        r.add_model(f"m{m}", c, X[600:700], Y[600:700, 3 + m])
    return r, X, Y


def _value(r, S, kind, model, idx):
    """The sample average that a target of ``kind`` measures, for decisions ``idx``."""
    err = np.atleast_2d(r.predict_error(S))
    rows = np.arange(S.shape[0])
    if kind == "quality":
        return float(np.mean(1.0 - err[rows, idx]))
    if kind == "share":
        return float(np.mean(np.asarray(r.models)[idx] == model))
    return float(np.mean(r.costs[idx]))  # no probe costs given: the spend is the price


CHANGES = {
    "observe": lambda r, X, Y: r.observe("m4", X[700:1000], np.ones(300)),
    "update_labels": lambda r, X, Y: r.update_model("m0", embeddings=X[700:900],
                                                    correct=Y[700:900, 9]),
    "update_cost": lambda r, X, Y: r.update_model("m3", cost=0.3),
    "add_model": lambda r, X, Y: r.add_model("new", 0.7, X[700:900], Y[700:900, 8]),
    "remove_model": lambda r, X, Y: r.remove_model("m2"),
}
TARGETS = {"cost": {"target_cost": 1.1}, "quality": {"target_quality": 0.62},
           "share": {"target_share": ("m1", 0.25)}}


@pytest.mark.parametrize("change", sorted(CHANGES))
@pytest.mark.parametrize("map_kind", ["hard", "soft"])
def test_an_earlier_budget_is_solved_again_on_the_changed_pool(map_kind, change):
    r, X, Y = _router(map_kind)
    S = X[1000:1200]
    cals = {kind: r.calibrate(S, **kw) for kind, kw in TARGETS.items()}
    CHANGES[change](r, X, Y)
    for kind, cal in cals.items():
        fresh = r.calibrate(S, **TARGETS[kind])
        used = r.route_indices(S, budget=cal)
        np.testing.assert_array_equal(used, r.route_indices(S, budget=fresh))
        for i in (0, 7, 199):
            assert r.route(S[i], budget=cal) == r.models[used[i]]
        # the mix's expected value on the sample, from routing at its two lams
        lo = _value(r, S, kind, cal.model, r.route_indices(S, fresh.lam_low))
        hi = _value(r, S, kind, cal.model, r.route_indices(S, fresh.lam_high))
        expected = (1 - fresh.weight) * lo + fresh.weight * hi
        if fresh.exact:
            assert expected == pytest.approx(cal.target, rel=1e-9, abs=1e-12)
        high = mix_uniform(S) < fresh.weight
        lams = np.where(high, fresh.lam_high, fresh.lam_low)
        want = [r.route_indices(S[i], float(lams[i])) for i in range(S.shape[0])]
        np.testing.assert_array_equal(used, want)


def test_a_budget_made_for_other_clusters_is_refused():
    r, X, Y = _router("hard")
    cal = r.calibrate(X[1000:1200], target_cost=1.0)
    r.fit(X[:400])
    r.add_model("m0", 1.0, X[600:700], Y[600:700, 3])
    with pytest.raises(ValueError, match="another pool"):
        r.route(X[:3], budget=cal)


def test_the_newcomers_repro_on_routerbench_keeps_the_spend_at_the_target():
    from uniroute.datasets.core import load

    d = load("routerbench_partial")
    E, Q = d.embeddings, d.quality
    cost = d.cost if d.cost.ndim == 1 else np.nanmean(d.cost, axis=0)
    r = UniRouter(8, random_state=0).fit(E[:1000])
    for j, m in enumerate(d.models):
        r.add_model(m, float(cost[j]), E[1000:1200], Q[1000:1200, j])
    sample = E[2000:2500]
    cal = r.calibrate(sample, target_cost=1e-3)
    share = r.calibrate(sample, target_share=("gpt-4-1106-preview", 0.2))
    r.observe("gpt-4-1106-preview", E[2500:3100], np.ones(600))
    spend = r.costs[r.route_indices(sample, budget=cal)]
    picked = np.asarray(r.models)[r.route_indices(sample, budget=share)] == "gpt-4-1106-preview"
    # The budget was solved again (main: a spend of 4.96e-3): its mix's expectation is
    # the target exactly, and what these 500 prompts realise lies within 4 s.d. of the
    # per-prompt Bernoulli(weight) split of the two bracketing decisions.
    for value, budget, target in ((spend, cal, 1e-3), (picked, share, 0.2)):
        fresh = (r.calibrate(sample, target_cost=1e-3) if budget is cal
                 else r.calibrate(sample, target_share=("gpt-4-1106-preview", 0.2)))
        lo_idx, hi_idx = (r.route_indices(sample, lam) for lam in (fresh.lam_low, fresh.lam_high))
        if budget is cal:
            lo, hi = r.costs[lo_idx], r.costs[hi_idx]
        else:
            lo, hi = ((np.asarray(r.models)[i] == "gpt-4-1106-preview").astype(float)
                      for i in (lo_idx, hi_idx))
        w = fresh.weight
        assert (1 - w) * lo.mean() + w * hi.mean() == pytest.approx(target, rel=1e-9)
        sd = np.sqrt(w * (1 - w) * np.sum((hi - lo) ** 2.0)) / len(lo)
        assert abs(float(np.mean(value)) - target) <= 4 * sd + 1e-12, (np.mean(value), sd)
        assert abs(float(np.mean(value)) - target) < 0.25 * target  # not 4.96e-3 / 0.91
