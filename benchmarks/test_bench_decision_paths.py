"""Every call shape of the one decision path, against the 1-D call, faiss and Nordlys.

d = 768, K = 256, M = 100 (``--bench-size=full``). Each group holds one "ours" and the
reference it is bounded by, measured in the same run (ratios, not absolute times):

- ``decision path <case>``: the case against the unconstrained 1-D ``route`` (floor):
  ``(1, d)`` <= 1.3x, ``allowed=`` names and ``max_cost=`` <= 2x, LearnedMapRouter 1-D
  <= 3x, a batch of 64 <= 10x, ``budget=`` <= 3x;
- ``decision vs faiss <case>``: every UniRouter single-row shape >= 2x faster than
  faiss ``IndexFlatL2.search`` of one ``(1, d)`` row (which only finds the centroid);
- ``allowed vs Nordlys K=.. d=..``: ``route(x, allowed=subset)`` against Nordlys
  (``nordlys-core``) ``route(x, models=subset)`` on the same centroids and errors,
  decisions checked to agree.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
import uniroute

from .conftest import importorskip_baseline, run, tag

D, K, M = 768, 256, 100
CASES = ("(1,d)", "allowed names", "max_cost", "LearnedMap 1-D", "batch 64", "budget")
SINGLE_ROW = ("1-D", "(1,d)", "allowed names", "max_cost", "budget")


def _data(rng, d, k, n):
    blobs = rng.standard_normal((k, d), dtype=np.float32)
    X = (blobs[rng.integers(0, k, n)] + 0.3 * rng.standard_normal((n, d), dtype=np.float32))
    return X.astype(np.float32)


@pytest.fixture(scope="module")
def setup(full):
    d, k, m = (D, K, M) if full else (48, 16, 5)
    rng = np.random.default_rng(0)
    X = _data(rng, d, k, 10 * k + 600)
    train, probes, Q = X[: 6 * k], X[6 * k: 10 * k], X[10 * k:]
    hard = uniroute.UniRouter(k, random_state=0, n_init=1, max_iter=10).fit(train)
    Y = (rng.random((train.shape[0], 3)) < 0.6).astype(float)
    Yp = (rng.random((probes.shape[0], 3)) < 0.6).astype(float)
    soft = uniroute.LearnedMapRouter(k, random_state=0, n_init=1, max_iter=10, max_epochs=2,
                                     shrinkage=1.0).fit(train, Y, probes, Yp)
    for j in range(m):
        cost, p = float(rng.uniform(0.1, 10)), rng.uniform(0.3, 0.9)
        correct = rng.random(probes.shape[0]) < p
        hard.add_model(f"llm{j}", cost, probes, correct)
        soft.add_model(f"llm{j}", cost, probes, correct)
    lo = float(np.mean(hard.costs[hard.route_indices(Q, 1e3)]))
    hi = float(np.mean(hard.costs[hard.route_indices(Q, 0.0)]))
    budget = hard.calibrate(Q, target_cost=0.5 * (lo + hi))
    rounds = 20_000 if full else 200
    return {"hard": hard, "soft": soft, "Q": Q, "budget": budget, "names": hard.models[:3],
                "cap": float(np.median(hard.costs)), "rounds": rounds, "shape": f"d={d} K={k} M={m}"}


def _call(s, case):
    """(function, args) of one call shape, and the decision it must make."""
    r, x, lam = s["hard"], s["Q"][0], 0.01
    if case == "1-D":
        return r.route, (x, lam)
    if case == "(1,d)":
        return r.route, (s["Q"][:1], lam)
    if case == "allowed names":
        return (lambda x: r.route(x, lam, allowed=s["names"])), (x,)
    if case == "max_cost":
        return (lambda x: r.route(x, lam, max_cost=s["cap"])), (x,)
    if case == "budget":
        return (lambda x: r.route(x, budget=s["budget"])), (x,)
    if case == "LearnedMap 1-D":
        return s["soft"].route, (x, lam)
    return r.route, (s["Q"][:64], lam)


def _check(s, case, out):
    r, Q = (s["soft"] if case.startswith("LearnedMap") else s["hard"]), s["Q"]
    kw = {"budget": s["budget"]} if case == "budget" else {"lam": 0.01}
    kw.update({"allowed": s["names"]} if case == "allowed names" else {})
    kw.update({"max_cost": s["cap"]} if case == "max_cost" else {})
    batch = r.route(Q[:64], **kw)
    assert (out == batch[0]) if isinstance(out, str) else list(out) == list(batch[:len(out)])
    assert [r.route(q, **kw) for q in Q[:64]] == list(batch)


# Ours and its reference run back to back (the machine's load drifts over minutes).
@pytest.mark.parametrize("case,role", [(c, r) for c in CASES for r in ("ours", "floor")])
def test_decision_path(benchmark, setup, case, role):
    benchmark.group = f"decision path {case} {setup['shape']}"
    if role == "floor":
        tag(benchmark, "floor", "UniRouter route 1-D")
        fn, args = _call(setup, "1-D")
        run(benchmark, fn, *args, rounds=setup["rounds"], warmup=200)
        return
    tag(benchmark, "ours", f"route {case}")
    fn, args = _call(setup, case)
    rounds = setup["rounds"] // (20 if case == "batch 64" else 1)
    _check(setup, case, run(benchmark, fn, *args, rounds=rounds, warmup=200))


@pytest.mark.parametrize("role", ["ours", "sgemm"])
def test_batch_64_vs_sgemm(benchmark, setup, role):
    """What bounds the batch of 64 from below: the bare product of its rows with the
    centroids (numpy sgemm, both cores), which does no argmin and no decision."""
    benchmark.group = f"decision batch 64 vs sgemm {setup['shape']}"
    rounds = setup["rounds"] // 20
    if role == "ours":
        tag(benchmark, "ours", "route batch 64")
        fn, args = _call(setup, "batch 64")
        _check(setup, "batch 64", run(benchmark, fn, *args, rounds=rounds, warmup=50))
        return
    tag(benchmark, "floor", "sgemm (64, d) x (d, K)")
    B, CT = setup["Q"][:64], np.ascontiguousarray(setup["hard"].centroids_.T)
    G = run(benchmark, lambda: B @ CT, rounds=rounds, warmup=50)
    assert G.shape == (64, CT.shape[1])


@pytest.mark.parametrize("case,role", [(c, r) for c in SINGLE_ROW for r in ("ours", "faiss")])
def test_vs_faiss(benchmark, setup, case, role):
    benchmark.group = f"decision vs faiss {case} {setup['shape']}"
    if role == "ours":
        tag(benchmark, "ours", f"route {case}")
        fn, args = _call(setup, case)
        _check(setup, case, run(benchmark, fn, *args, rounds=setup["rounds"], warmup=200))
        return
    faiss = importorskip_baseline("faiss")
    faiss.omp_set_num_threads(1)
    tag(benchmark, "baseline", "faiss IndexFlatL2 search (1, d)")
    C = setup["hard"].centroids_
    index = faiss.IndexFlatL2(C.shape[1])
    index.add(C)
    q = setup["Q"][:1]
    _, got = run(benchmark, index.search, q, 1, rounds=setup["rounds"], warmup=200)
    assert got[0, 0] == setup["hard"].assign(q[0])


NORDLYS_SHAPES = [(10, 128), (100, 512), (256, 768)]


@pytest.fixture(scope="module", params=NORDLYS_SHAPES, ids=lambda s: f"K={s[0]} d={s[1]}")
def nordlys_setup(request, full):
    nc = importorskip_baseline("nordlys_core")
    k, d = request.param if full else (request.param[0] // 10 + 2, request.param[1] // 8)
    m = 100 if full else 6
    rng = np.random.default_rng(1)
    X = _data(rng, d, k, 8 * k + 300)
    r = uniroute.UniRouter(k, random_state=0, n_init=1, max_iter=10).fit(X[: 8 * k])
    for j in range(m):
        r.add_model(f"p/m{j}", float(rng.uniform(0.1, 10)), X[: 8 * k],
                    rng.random(8 * k) < rng.uniform(0.3, 0.9))
    psi = r.cluster_error_
    ckpt = {"cluster_centers": r.centroids_.tolist(),
            "models": [{"model_id": n, "scores": (1.0 - psi[i]).tolist()}  # higher is better
                       for i, n in enumerate(r.models)],
            "embedding": {"model": "none", "trust_remote_code": False,
                          "embedding_prompt_name": "", "embedding_prompt": "",
                          "max_seq_length": 512},
            "clustering": {"n_clusters": k, "random_state": 0, "max_iter": 10, "n_init": 1,
                           "algorithm": "kmeans", "normalization": "none"},
            "reduction": None, "metrics": {}}
    engine = nc.Nordlys.from_checkpoint(nc.NordlysCheckpoint.from_json_string(json.dumps(ckpt)))
    subset = r.models[::3]
    Q = X[8 * k:]
    ours = r.route(Q, 0.0, allowed=subset)
    theirs = [engine.route(q, subset).selected_model for q in Q]
    assert list(ours) == theirs  # same centroids, same errors: the same decisions
    group = f"allowed vs Nordlys K={k} d={d} M={m}"
    return r, engine, subset, Q[0], group, (20_000 if full else 200)


def test_nordlys_ours(benchmark, nordlys_setup):
    r, _, subset, x, group, rounds = nordlys_setup
    benchmark.group = group
    tag(benchmark, "ours", "uniroute route(x, allowed=subset)")
    run(benchmark, lambda: r.route(x, 0.0, allowed=subset), rounds=rounds, warmup=200)


def test_nordlys_baseline(benchmark, nordlys_setup):
    _, engine, subset, x, group, rounds = nordlys_setup
    benchmark.group = group
    tag(benchmark, "baseline", "nordlys route(x, models=subset)")
    run(benchmark, lambda: engine.route(x, subset), rounds=rounds, warmup=200)
