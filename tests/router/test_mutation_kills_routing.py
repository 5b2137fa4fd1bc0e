"""Tests written for mutants of ``_routing.py`` that the suite let survive
(docs/testing.md): the entry points' argument handling, checked by value against the
router's own batch decision and a numpy brute force."""
from __future__ import annotations

import numpy as np
import pytest
from uniroute.encoders import CallableEncoder

from tests._production import small_router


def toy_encoder(rng):
    table = {}

    def fn(texts):
        return np.stack([table.setdefault(t, rng.standard_normal(8)) for t in texts])

    return CallableEncoder(fn, "toy-encoder", dim=8), table


def test_explain_of_a_one_text_list_is_a_list_of_one(rng):
    enc, table = toy_encoder(rng)
    r, _ = small_router(rng, encoder=enc)
    out = r.explain(["only"], 0.0)
    assert isinstance(out, list) and len(out) == 1
    assert out[0].chosen == r.route(table["only"].astype(np.float32), 0.0)


@pytest.mark.parametrize("share", [["m1", 0.5], ("m1", 0.5, 0.1), ("m1",)])
def test_target_share_must_be_a_pair_tuple(rng, share):
    r, X = small_router(rng)
    with pytest.raises(TypeError, match="target_share must be a tuple"):
        r.calibrate(X[:50], target_share=share)


def test_route_text_uses_the_encoder_passed_to_it(rng):
    enc, table = toy_encoder(rng)
    r, _ = small_router(rng, encoder="toy-encoder")  # the router knows the name only
    got = r.route_text(["a", "b", "c"], 0.0, encoder=enc)
    want = r.route(np.stack([table[t] for t in "abc"]).astype(np.float32), 0.0)
    np.testing.assert_array_equal(got, want)
    with pytest.raises(ValueError, match="pass encoder="):
        r.route_text(["a"], 0.0)


def test_predict_error_of_one_prompt_is_its_psi_column(rng):
    r, X = small_router(rng)
    k = r.assign(X[:5])
    np.testing.assert_array_equal(r.predict_error(X[3]), r.cluster_error_[:, k[3]])
    np.testing.assert_array_equal(r.predict_error(X[:5]), r.cluster_error_[:, k].T)


def test_explain_takes_the_prompt_by_keyword_and_options_only_by_keyword(rng):
    r, X = small_router(rng, encoder="toy-encoder")
    assert r.explain(x_or_text=X[0]).chosen == r.route(X[0])
    with pytest.raises(TypeError):
        r.explain(X[0], 0.0, "toy-encoder")


def test_explain_of_texts_checks_every_item_is_text(rng):
    enc, _ = toy_encoder(rng)
    r, _ = small_router(rng, encoder=enc)
    with pytest.raises(TypeError, match=r"prompts\[1\] is a int, expected str"):
        r.explain(["a", 3], 0.0)


def test_route_takes_embeddings_by_keyword_and_options_only_by_keyword(rng):
    r, X = small_router(rng, encoder="toy-encoder")
    np.testing.assert_array_equal(r.route(embeddings=X[:4], lam=0.5), r.route(X[:4], 0.5))
    with pytest.raises(TypeError):
        r.route(X[:4], 0.5, "toy-encoder")


def test_route_text_of_one_str_is_the_route_of_its_embedding(rng):
    enc, table = toy_encoder(rng)
    r, _ = small_router(rng, encoder=enc)
    for lam in (0.0, 0.3, 2.0):
        for text in ("x", "y", "z"):
            got = r.route_text(text, lam)
            assert isinstance(got, str)
            assert got == r.route(table[text].astype(np.float32), lam)


@pytest.mark.parametrize("other", ["a-encoder", "zz-encoder"])
def test_an_encoder_of_another_name_is_refused_whichever_way_it_sorts(rng, other):
    enc, _ = toy_encoder(rng)
    r, _ = small_router(rng, encoder=enc)
    wrong = CallableEncoder(lambda t: np.zeros((len(t), 8)), other, dim=8)
    with pytest.raises(ValueError, match="is not the router's encoder"):
        r.route_text(["a"], 0.0, encoder=wrong)


def test_calibrate_takes_the_sample_by_keyword_and_targets_only_by_keyword(rng):
    r, X = small_router(rng)
    cal = r.calibrate(embeddings=X[:200], target_cost=float(np.median(r.costs)))
    assert cal == r.calibrate(X[:200], target_cost=float(np.median(r.costs)))
    with pytest.raises(TypeError):
        r.calibrate(X[:200], 0.5)


def test_predict_error_takes_embeddings_by_keyword_and_the_encoder_only_by_keyword(rng):
    r, X = small_router(rng, encoder="toy-encoder")
    np.testing.assert_array_equal(r.predict_error(embeddings=X[:3]), r.predict_error(X[:3]))
    with pytest.raises(TypeError):
        r.predict_error(X[:3], "toy-encoder")


def test_an_encoder_passed_to_route_text_wins_over_the_routers_own(rng):
    own, _ = toy_encoder(rng)
    r, X = small_router(rng, encoder=own)
    # the same name and dim, other embeddings: the prompts land where X[i] is
    passed = CallableEncoder(lambda t: X[[int(s) for s in t]], "toy-encoder", dim=8)
    np.testing.assert_array_equal(r.route_text(["0", "1", "2", "3"], 0.0, encoder=passed),
                                  r.route(X[:4], 0.0))


def test_route_indices_and_route_text_take_options_only_by_keyword(rng):
    enc, table = toy_encoder(rng)
    r, X = small_router(rng, encoder=enc)
    np.testing.assert_array_equal(r.route_indices(embeddings=X[:4], lam=0.2),
                                  r.route_indices(X[:4], 0.2))
    assert r.route_text(prompts="p", lam=0.2) == r.route(table["p"].astype(np.float32), 0.2)
    with pytest.raises(TypeError):
        r.route_indices(X[:4], 0.2, "toy-encoder")
    with pytest.raises(TypeError):
        r.route_text(["p"], 0.2, enc)


def test_explain_of_an_embedding_given_as_a_list_is_not_text(rng):
    r, X = small_router(rng)
    e = r.explain([float(v) for v in X[0]], 0.3)
    assert e.chosen == r.explain(X[0], 0.3).chosen == r.route(X[0], 0.3)


def test_a_loaded_router_takes_its_encoder_by_equal_name(rng):
    from uniroute import UniRouter

    enc, table = toy_encoder(rng)
    r, _ = small_router(rng, encoder=enc)
    loaded = UniRouter.from_bytes(r.to_bytes())  # the name is now a str read from JSON
    assert loaded.route_text(["q", "w"], 0.1, encoder=enc).tolist() == \
        r.route_text(["q", "w"], 0.1).tolist()


class NoDim:
    name = "toy-encoder"

    def encode(self, texts):
        return np.ones((len(texts), 1), np.float32)


@pytest.mark.parametrize("dim", [4, 16])
def test_an_encoder_of_another_dim_is_refused_whichever_way(rng, dim):
    r, _ = small_router(rng, encoder="toy-encoder")  # dim 8
    enc = CallableEncoder(lambda t: np.zeros((len(t), dim)), "toy-encoder", dim=dim)
    with pytest.raises(ValueError, match=f"^encoder 'toy-encoder' has dim {dim}, the router"):
        r.route_text(["a"], 0.0, encoder=enc)


def test_an_encoder_without_dim_is_refused_even_for_one_dimension(rng):
    from uniroute import UniRouter

    X = rng.standard_normal((60, 1)).astype(np.float32)
    r = UniRouter(n_clusters=2, random_state=0, encoder="toy-encoder").fit(X)
    r.add_model("a", 1.0, X, np.ones(60))
    with pytest.raises(ValueError, match="has dim None"):
        r.route_text(["a"], 0.0, encoder=NoDim())


def test_a_wide_encoder_is_accepted(rng):
    from uniroute import UniRouter

    X = rng.standard_normal((80, 300)).astype(np.float32)
    enc = CallableEncoder(lambda t: X[[int(s) for s in t]], "wide", dim=300)
    r = UniRouter(n_clusters=2, random_state=0, encoder=enc).fit(X)
    r.add_model("a", 1.0, X, np.ones(80)).add_model("b", 0.5, X, np.arange(80) % 2)
    np.testing.assert_array_equal(r.route_text(["0", "5", "7"], 0.2), r.route(X[[0, 5, 7]], 0.2))
