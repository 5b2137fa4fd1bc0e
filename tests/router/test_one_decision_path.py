"""One decision path: every entry point gives the same answer, for both routers.

For any prompt ``x`` of a batch ``X`` and any option (lam, allowed, max_cost, strict,
budget): ``route(x) == route(x[None])[0] == route(X)[i] == models[route_indices(X)[i]]``,
``explain(x)`` names the same model, and that model is the argmin of an independent
float64 reference (``predict_error + lam * cost`` over the feasible models, ties to the
cheaper then the earlier-added model, cheapest allowed model as the fallback).
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from uniroute import LearnedMapRouter, NoFeasibleModelError, UniRouter
from uniroute.calibration import mix_uniform

D, K, N = 12, 5, 24
COSTS = (0.1, 0.1, 0.5, 1.0, 2.0, 2.0, 0.5)


def _world():
    rng = np.random.default_rng(7)
    topics = rng.standard_normal((K, D)) * 2.5
    t = rng.integers(0, K, 900)
    X = (topics[t] + rng.standard_normal((900, D))).astype(np.float32)
    skill = rng.uniform(0.05, 0.95, (9, K))
    Y = (rng.random((900, 9)) < skill[:, t].T).astype(float)
    return X, Y


def _routers():
    X, Y = _world()
    tr, va, probe = slice(0, 500), slice(500, 700), slice(700, 900)
    hard = UniRouter(K, random_state=0).fit(X[tr])
    soft = LearnedMapRouter(K, random_state=0, max_epochs=15).fit(X[tr], Y[tr, :3], X[va],
                                                                  Y[va, :3])
    for r in (hard, soft):
        for m, c in enumerate(COSTS[:6]):
            r.add_model(f"m{m}", c, X[probe], Y[probe, 3 + m])
        r.add_model("twin", COSTS[6], X[probe], Y[probe, 5])  # same answers as m2, same price
    return {"UniRouter": hard, "LearnedMapRouter": soft}, X[700:]


ROUTERS, PROMPTS = _routers()
M = len(COSTS)


def _reference(r, X, lam_rows, allow, cap, strict):
    """float64 brute force, row by row; None for a row that must raise."""
    err = np.atleast_2d(r.predict_error(X)).astype(np.float64)
    cost = r.costs
    order = np.lexsort((np.arange(M), cost))  # cheaper first, then earlier-added
    out = []
    for i in range(X.shape[0]):
        a = allow[i]
        f = a & (cost <= cap[i])
        if not a.any() or (not f.any() and strict):
            out.append(None)
            continue
        if not f.any():
            out.append(int(order[np.flatnonzero(a[order])[0]]))
            continue
        s = err[i] + lam_rows[i] * cost
        s = np.where(f, s, np.inf)[order]
        out.append(int(order[np.argmin(s)]))
    return out


options = st.fixed_dictionaries({
    "router": st.sampled_from(sorted(ROUTERS)),
    "rows": st.lists(st.integers(0, PROMPTS.shape[0] - 1), min_size=2, max_size=9),
    "lam": st.one_of(st.none(), st.sampled_from([0.0, 0.05, 0.2, 0.5]),
                     st.floats(0.0, 2.0)),
    "allowed": st.sampled_from(["none", "names", "mask", "rows"]),
    "allowed_seed": st.integers(0, 2**16),
    "max_cost": st.sampled_from(["none", "scalar", "rows"]),
    "strict": st.booleans(),
    "budget": st.sampled_from([None, "cost", "quality", "share"]),
})


def _budget(r, kind):
    key = (id(r), kind)
    if key not in _BUDGETS:
        cost = r.costs
        _BUDGETS[key] = {"cost": {"target_cost": float(np.mean(cost[:4]))},
                         "quality": {"target_quality": 0.6},
                         "share": {"target_share": ("m1", 0.3)}}[kind]
    return r.calibrate(PROMPTS, **_BUDGETS[key])


_BUDGETS: dict = {}


@settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck))
@given(options)
def test_every_entry_point_makes_the_same_decision(o):
    r = ROUTERS[o["router"]]
    X = PROMPTS[o["rows"]]
    n = X.shape[0]
    g = np.random.default_rng(o["allowed_seed"])
    allow_rows = np.ones((n, M), dtype=bool)
    kw: dict = {"strict": o["strict"]}
    per_row: list[dict] = [{} for _ in range(n)]
    if o["allowed"] == "names":
        names = [m for m in r.models if g.random() < 0.6] or [r.models[3]]
        kw["allowed"] = names
        allow_rows[:] = np.isin(r.models, names)
        per_row = [dict(p, allowed=names) for p in per_row]
    elif o["allowed"] == "mask":
        mask = g.random(M) < 0.6
        kw["allowed"] = mask
        allow_rows[:] = mask
        per_row = [dict(p, allowed=mask) for p in per_row]
    elif o["allowed"] == "rows":
        allow_rows = g.random((n, M)) < 0.6
        allow_rows[:, 4] |= ~allow_rows.any(axis=1)
        kw["allowed"] = allow_rows
        per_row = [dict(p, allowed=allow_rows[i]) for i, p in enumerate(per_row)]
    cap = np.full(n, np.inf)
    if o["max_cost"] == "scalar":
        cap[:] = 0.5
        kw["max_cost"] = 0.5
        per_row = [dict(p, max_cost=0.5) for p in per_row]
    elif o["max_cost"] == "rows":
        cap = g.choice([0.05, 0.1, 0.5, 1.0, 3.0], n)
        kw["max_cost"] = cap
        per_row = [dict(p, max_cost=float(cap[i])) for i, p in enumerate(per_row)]
    lam_rows = np.full(n, 0.0 if o["lam"] is None else o["lam"])
    if o["budget"] is not None:
        cal = _budget(r, o["budget"])
        kw["budget"] = cal
        lam_rows = np.where(mix_uniform(X) < cal.weight, cal.lam_high, cal.lam_low)
    else:
        kw["lam"] = o["lam"]

    expected = _reference(r, X, lam_rows, allow_rows, cap, o["strict"])
    if any(e is None for e in expected):
        with pytest.raises(NoFeasibleModelError):
            r.route(X, **kw)
        with pytest.raises(NoFeasibleModelError):
            r.route_indices(X, **kw)
    else:
        batch = r.route(X, **kw)
        idx = r.route_indices(X, **kw)
        assert [r.models[j] for j in idx] == list(batch)
        assert list(idx) == expected, (list(idx), expected)
    for i in range(n):
        one = {k: v for k, v in kw.items() if k not in ("allowed", "max_cost")}
        one.update(per_row[i])
        row = dict(one)
        if "allowed" in row and isinstance(row["allowed"], np.ndarray):
            row["allowed"] = row["allowed"][None]
        if "max_cost" in row:
            row["max_cost"] = np.array([row["max_cost"]])
        if expected[i] is None:
            with pytest.raises(NoFeasibleModelError):
                r.route(X[i], **one)
            with pytest.raises(NoFeasibleModelError):
                r.route(X[i][None], **row)
            continue
        name = r.models[expected[i]]
        assert r.route(X[i], **one) == name
        assert r.route_indices(X[i], **one) == expected[i]
        assert r.route(X[i][None], **row)[0] == name
        assert r.explain(X[i], **one).chosen == name


def _plain_router(dense: bool):
    rng = np.random.default_rng(11)
    X = rng.standard_normal((300, 12)).astype(np.float32)
    Q = (rng.random((300, 4)) < 0.6).astype(float)
    if dense:
        r = LearnedMapRouter(5, random_state=0, max_epochs=3).fit(
            X[:200], Q[:200, :2], X[200:], Q[200:, :2])
    else:
        r = UniRouter(5, random_state=0).fit(X)
    for j in range(4):
        r.add_model(f"m{j}", 1.0 + j, X[:120], Q[:120, j])
    return r, X


@pytest.mark.parametrize("dense", [False, True], ids=["kmeans", "learned_map"])
def test_plain_route_shortcut_is_the_general_call(dense):
    # route() sends an unconstrained request to CompiledPool.route_plain (route_one for
    # one float32 row): every input must get what the general call gives, or its error.
    r, X = _plain_router(dense)
    c = r._pool().compiled()
    for lam in (None, 0.0, 0.3, 2, np.float32(0.7), np.float64(5.0)):
        for x in (X[7], X[7].astype(np.float64), X[:9], X[3:4], X[7].tolist(), X[::2][5]):
            want = c.route(x, lam)
            got = c.route_plain(x, lam)
            assert np.array_equal(got, want) and type(got) is type(want)
            # and the general route of the same rows as a batch (no single-row shortcut)
            batch = c.route(np.atleast_2d(np.asarray(x, np.float32)), lam)
            assert np.array_equal(np.atleast_1d(got), batch)
            assert np.array_equal(r.route(x, lam), r.route(x, lam, allowed=r.models))
            # route_indices takes the same shortcut: the same indices as a constrained call
            idx = r.route_indices(x, lam)
            assert np.array_equal(idx, want) and type(idx) is type(want)
            assert np.array_equal(idx, r.route_indices(x, lam, allowed=r.models))
    # a constraint or a budget never takes the shortcut: route_indices against the core's
    # general call (max_cost) and against route()'s general path (budget), on rows where the
    # constraint changes the choice
    cap = float(np.sort(r.costs)[1])  # the two cheapest models only
    cal = r.calibrate(X[:100], target_cost=float(np.sort(r.costs)[:2].mean()))
    moved = [0, 0]
    for x in X[:60]:
        got = r.route_indices(x, 0.0, max_cost=cap)
        assert got == c.route(x, 0.0, None, 0.0, None, cap, False)
        moved[0] += got != r.route_indices(x, 0.0)
        got = r.route_indices(x, budget=cal)
        assert r.models[got] == r.route(x, budget=cal)
        moved[1] += got != r.route_indices(x, 0.0)
    assert min(moved) > 0  # (the test can fail: each constraint changed some choices)
    for bad, exc in (("x", TypeError), (-1.0, ValueError), (float("nan"), ValueError),
                     (True, TypeError)):
        with pytest.raises(exc) as general:
            c.route(X[0], bad)
        with pytest.raises(exc) as plain:
            c.route_plain(X[0], bad)
        assert str(plain.value) == str(general.value)
    for x in (np.full(12, np.nan, np.float32), np.ones(11, np.float32),
              np.full(12, 3e38, np.float32)):
        with pytest.raises(ValueError) as general:
            c.route(x, 0.0)
        with pytest.raises(ValueError) as plain:
            c.route_plain(x, 0.0)
        assert str(plain.value) == str(general.value)
