"""router.explain: the decision route() makes, with what produced it."""
from __future__ import annotations

import json

import numpy as np
import pytest
from uniroute import Explanation
from uniroute.encoders import CallableEncoder

from tests._production import small_router


def test_explanation_agrees_with_route_and_the_numbers(rng):
    r, X = small_router(rng, M=5)
    lam = 0.08
    exps = r.explain(X[:50], lam)
    assert isinstance(exps, list) and len(exps) == 50
    routes = r.route(X[:50], lam)
    err = r.predict_error(X[:50])
    centroids = r.centroids_.astype(np.float64)
    for i, e in enumerate(exps):
        assert e.chosen == routes[i]
        assert e.cluster == r.assign(X[i])
        want = np.sqrt(((X[i].astype(np.float64) - centroids[e.cluster]) ** 2).sum())
        assert e.distance == pytest.approx(want, rel=1e-4, abs=1e-5)
        np.testing.assert_array_equal(e.predicted_error, err[i])
        np.testing.assert_allclose(e.score, err[i] + lam * r.costs)
        order = sorted(range(5), key=lambda m: (e.score[m], e.cost[m], m))
        assert e.models[order[0]] == e.chosen
        assert e.runner_up == e.models[order[1]]
        assert e.margin == pytest.approx(e.score[order[1]] - e.score[order[0]])
        assert e.margin >= 0 and e.lam == lam and not e.fallback


def test_single_prompt_repr_and_dict(rng):
    r, X = small_router(rng)
    e = r.explain(X[0], 0.0)
    assert isinstance(e, Explanation)
    text = repr(e)
    assert f"cluster={e.cluster}" in text and f"chosen {e.chosen!r}" in text
    assert f"runner-up {e.runner_up!r}" in text
    for m in r.models:
        assert m in text
    d = json.loads(json.dumps(e.to_dict()))
    assert d["chosen"] == e.chosen and len(d["candidates"]) == len(r.models)
    assert {c["model"] for c in d["candidates"]} == set(r.models)


def test_constraints_show_up_in_the_explanation(rng):
    r, X = small_router(rng)
    cheapest = r.models[int(np.argmin(r.costs))]
    e = r.explain(X[0], 0.0, allowed=[m for m in r.models if m != "m1"], max_cost=0.0)
    assert e.fallback and e.chosen != "m1" and not e.feasible.any()
    assert e.runner_up is None and e.margin == float("inf")
    assert e.to_dict()["margin"] is None
    if cheapest != "m1":
        assert e.chosen == cheapest
    e2 = r.explain(X[0], 0.0, allowed=["m2"])
    assert e2.chosen == "m2" and e2.runner_up is None
    assert list(e2.feasible) == [m == "m2" for m in r.models]
    assert "x m1" in repr(e2)


def test_explain_text_with_the_router_encoder(rng):
    table = {}

    def fn(texts):
        return np.stack([table.setdefault(t, rng.standard_normal(8)) for t in texts])

    enc = CallableEncoder(fn, "toy-encoder", dim=8)
    r, _ = small_router(rng, encoder=enc)
    e = r.explain("hello", 0.0)
    assert isinstance(e, Explanation)
    assert e.chosen == r.route(table["hello"].astype(np.float32), 0.0)
    both = r.explain(["hello", "world"], 0.0)
    assert [x.chosen for x in both] == list(r.route_text(["hello", "world"], 0.0))


def test_explain_checks_the_declared_encoder_of_embeddings(rng):
    r, X = small_router(rng, encoder="toy-encoder")
    assert r.explain(X[0], encoder="toy-encoder").chosen == r.route(X[0])
    with pytest.raises(ValueError, match="other"):
        r.explain(X[0], encoder="other")


def test_learned_map_explanation_is_strict_json_and_matches_its_route():
    """A learned map has no centroid distance: NaN on the object, null in to_dict (so the
    dict is strict JSON, as gateways send it), "n/a" in the repr; the rest is the route's."""
    import uniroute

    rng = np.random.default_rng(3)
    X = rng.standard_normal((400, 16)).astype(np.float32)
    Y = (rng.random((400, 2)) < 0.6).astype(float)
    r = uniroute.LearnedMapRouter(4, random_state=0, max_epochs=2).fit(X[:200], Y[:200],
                                                                       X[200:], Y[200:])
    r.add_model("a", 1.0, X[200:], Y[200:, 0])
    r.add_model("b", 2.0, X[200:], Y[200:, 1])
    e = r.explain(X[0], 0.1)
    assert np.isnan(e.distance)
    d = json.loads(json.dumps(e.to_dict(), allow_nan=False))
    assert d["distance"] is None
    assert d["chosen"] == r.route(X[0], 0.1) == e.chosen
    np.testing.assert_allclose([c["predicted_error"] for c in d["candidates"]],
                               r.predict_error(X[0]), rtol=0, atol=1e-12)
    assert "distance=n/a" in repr(e)
