"""Tests written for mutants of ``_router_base.py`` that the suite let survive
(docs/testing.md): the shrinkage check and its message, the encoder identity cache,
the pool version across a refit, probe costs per cluster by hand, error messages and
the empty state of an unfitted router."""
from __future__ import annotations

import numpy as np
import pytest

from uniroute import UniRouter
from uniroute._router_base import check_shrinkage


def clustered(rng, n=90):
    t = np.arange(n) % 3
    X = (np.eye(4)[t] * 8 + rng.standard_normal((n, 4))).astype(np.float32)
    return X, t


def test_shrinkage_auto_only_where_allowed_and_the_message_says_so():
    check_shrinkage("auto", allow_auto=True)
    check_shrinkage(0.0, allow_auto=False)
    with pytest.raises(ValueError, match=r"^shrinkage must be a number >= 0 or 'auto', "
                                         r"got 'Auto'$"):
        check_shrinkage("Auto", allow_auto=True)
    with pytest.raises(ValueError, match=r"^shrinkage must be a number >= 0, got 'auto' "
                                         r"\(UniRouter.fit has no labels"):
        check_shrinkage("auto", allow_auto=False)


def test_the_selection_grid_is_the_documented_one():
    # docs/quality.md: K in {3, 5, 10, 15, 20, 30, 50, 75, 100, 150, 200, 300}
    assert UniRouter.selection_grid == (3, 5, 10, 15, 20, 30, 50, 75, 100, 150, 200, 300)


def test_the_encoder_name_follows_a_new_encoder_parameter():
    r = UniRouter(encoder="first")
    assert r.encoder_name == "first"
    r.encoder = "second"
    assert r.encoder_name == "second"


def test_the_pool_version_keeps_growing_across_a_refit(rng):
    X, t = clustered(rng)
    r = UniRouter(n_clusters=3, random_state=0).fit(X)
    r.add_model("a", 1.0, X, (t == 0).astype(float))
    assert r._state.version == 1
    r.fit(X)
    assert r._state.version == 2 and r.models == []


def test_too_few_samples_names_the_sample_count(rng):
    X = rng.standard_normal((3, 5)).astype(np.float32)
    with pytest.raises(ValueError, match="^train_embeddings has 3 samples, fewer than "
                                         "n_clusters = 4$"):
        UniRouter(n_clusters=4, random_state=0).fit(X)


def test_tune_shrinkage_needs_the_same_llms_on_both_sides(rng):
    X, t = clustered(rng)
    r = UniRouter(n_clusters=3, random_state=0).fit(X)
    with pytest.raises(ValueError, match="probe_correct has 1 LLMs and heldout_correct 2"):
        r.tune_shrinkage(X[:45], np.ones((45, 1)), X[45:], np.ones((45, 2)))


def test_probe_costs_are_summed_per_cluster_by_hand(rng):
    X, t = clustered(rng)
    r = UniRouter(n_clusters=3, random_state=0).fit(X)
    c = np.arange(90, dtype=np.float64) / 10
    c[::7] = np.nan  # unknown
    r.add_model("a", 1.0, X, np.ones(90), probe_cost=c)
    labels = r.assign(X)
    known = ~np.isnan(c)
    want_sum = [c[known & (labels == k)].sum() for k in range(3)]
    want_count = [float((known & (labels == k)).sum()) for k in range(3)]
    np.testing.assert_allclose(r._state.cost_sum[0], want_sum, rtol=1e-12)
    np.testing.assert_array_equal(r._state.cost_count[0], want_count)
    with pytest.raises(ValueError, match="probe_cost must be finite and >= 0"):
        r.add_model("b", 1.0, X, np.ones(90), probe_cost=np.full(90, -0.5))
    for n in (3, 100):
        with pytest.raises(ValueError, match=f"probe_cost has length {n}, expected 90"):
            r.add_model("b", 1.0, X, np.ones(90), probe_cost=np.ones(n))


def test_an_unfitted_router_has_an_empty_pool():
    r = UniRouter()
    assert r.models == [] and r.costs.shape == (0,) and r.cluster_error_.shape == (0, 0)
    assert r.probe_count_.shape == (0, 0)


def test_pool_changes_take_the_model_by_keyword_and_options_only_by_keyword(rng):
    X, t = clustered(rng)
    r = UniRouter(n_clusters=3, random_state=0, encoder="enc").fit(X)
    y = (t == 0).astype(float)
    r.add_model(name="a", cost=1.0, embeddings=X, correct=y)
    r.observe(name="a", embeddings=X[:30], correct=np.ones(30))
    P, H = X[:45], X[45:]
    r.tune_shrinkage(probe_embeddings=P, probe_correct=y[:45, None],
                     heldout_embeddings=H, heldout_correct=y[45:, None])
    with pytest.raises(TypeError):
        r.add_model("b", 1.0, X, y, "enc")
    with pytest.raises(TypeError):
        r.observe("a", X, y, "enc")
    with pytest.raises(TypeError):
        r.tune_shrinkage(P, y[:45, None], H, y[45:, None], (0.0, 1.0))


def test_an_equal_encoder_name_is_accepted_whatever_string_object_it_is(rng):
    X, t = clustered(rng)
    r = UniRouter.from_bytes(UniRouter(n_clusters=3, random_state=0, encoder="toy-encoder")
                             .fit(X).add_model("a", 1.0, X, np.ones(90)).to_bytes())
    name = "".join(["toy-", "encoder"])  # equal, not the same object
    r.add_model("b", 0.5, X, (t == 1).astype(float), encoder=name)
    assert r.models == ["a", "b"]
    with pytest.raises(ValueError, match="come from encoder 'other'"):
        r.add_model("c", 0.5, X, np.ones(90), encoder="other")


def test_repr_of_an_unfitted_and_a_fitted_router(rng):
    assert repr(UniRouter()) == "UniRouter(n_clusters=8, unfitted, models=0, encoder=None)"
    X, _ = clustered(rng)
    r = UniRouter(n_clusters=3, random_state=0).fit(X).add_model("a", 1.0, X, np.ones(90))
    assert repr(r) == "UniRouter(n_clusters=3, dim=4, models=1, encoder=None)"


def test_the_encoder_dim_is_recorded_by_fit_only_with_an_encoder(rng):
    X, _ = clustered(rng)
    named = UniRouter(n_clusters=3, random_state=0, encoder="e").fit(X)
    assert named._archive()[1]["encoder"] == {"name": "e", "dim": 4}
    bare = UniRouter(n_clusters=3, random_state=0).fit(X)
    assert bare._archive()[1]["encoder"] == {"name": None, "dim": None}


def test_more_argument_checks_in_both_directions(rng):
    for bad in ("Auto", "zz"):
        with pytest.raises(ValueError, match=f"got '{bad}'"):
            check_shrinkage(bad, allow_auto=True)
    X, t = clustered(rng)
    assert UniRouter(n_clusters=3, random_state=0).fit(X[:3]).n_clusters_ == 3  # n == K
    r = UniRouter(n_clusters=3, random_state=0, encoder="toy-encoder").fit(X)
    r.add_model("a", 1.0, X, np.ones(90))
    with pytest.raises(ValueError, match="embeddings and correct must be given together"):
        r.update_model("a", correct=np.ones(90))
    with pytest.raises(ValueError, match="embeddings and correct must be given together"):
        r.update_model("a", embeddings=X)
    with pytest.raises(ValueError, match=r"expected the same LLMs \(at least one\)"):
        r.tune_shrinkage(X[:45], np.ones((45, 0)), X[45:], np.ones((45, 0)))
    for other in ("a-encoder", "zz-encoder"):
        with pytest.raises(ValueError, match=f"come from encoder '{other}'"):
            r.add_model("b", 1.0, X, np.ones(90), encoder=other)
