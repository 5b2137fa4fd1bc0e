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
