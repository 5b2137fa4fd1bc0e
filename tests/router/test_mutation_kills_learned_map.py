"""Tests written for mutants of ``learned_map.py`` that the suite let survive
(docs/testing.md): the documented defaults, fit's required labels, that L-BFGS is the
optimizer used when asked for, and the learned map's checks when a file is read."""
from __future__ import annotations

import numpy as np
import pytest

from uniroute import LearnedMapRouter, RouterFileError
from uniroute.io import archive_bytes


def data(rng, n=240, d=4):
    centers = np.array([[6.0, 0, 0, 0], [0, 6.0, 0, 0], [0, 0, 6.0, 0]])
    t = np.arange(n) % 3
    X = (centers[t] + rng.standard_normal((n, d))).astype(np.float32)
    Y = np.stack([(t == 0), (t != 2)], 1).astype(float)
    return X, Y


def test_defaults_are_the_documented_ones():
    assert LearnedMapRouter().get_params() == {
        "n_clusters": 8, "random_state": None, "encoder": None, "shrinkage": 1.0,
        "n_init": 3, "max_iter": 100, "tol": 1e-4, "temperature": None, "l2": 1e-3,
        "learning_rate": 0.01, "max_epochs": 100, "patience": 5, "batch_size": 512,
        "psi_source": "validation", "optimizer": "adam", "probe_temperature": None,
        "safe_level": None}


@pytest.mark.parametrize("missing", [0, 1, 2])
def test_fit_needs_all_three_label_arrays(rng, missing):
    X, Y = data(rng)
    args = [Y[:160], X[160:], Y[160:]]
    args[missing] = None
    with pytest.raises(TypeError, match="needs train_embeddings, train_correct"):
        LearnedMapRouter(n_clusters=3, random_state=0).fit(X[:160], *args)


def test_lbfgs_ignores_the_learning_rate_adam_does_not(rng):
    pytest.importorskip("scipy")
    X, Y = data(rng)

    def W(**kw):
        r = LearnedMapRouter(n_clusters=3, random_state=0, max_epochs=15, **kw)
        return r.fit(X[:160], Y[:160], X[160:], Y[160:]).map_.W

    np.testing.assert_array_equal(W(optimizer="lbfgs", learning_rate=0.01),
                                  W(optimizer="lbfgs", learning_rate=0.3))
    assert not np.array_equal(W(optimizer="adam", learning_rate=0.01),
                              W(optimizer="adam", learning_rate=0.3))


@pytest.mark.parametrize("key, bad", [
    ("map_weight", lambda W, b: W[:, :-1]), ("map_weight", lambda W, b: W.astype(np.float64)),
    ("map_bias", lambda W, b: b[:-1]), ("map_bias", lambda W, b: b.astype(np.float64))])
def test_a_map_of_the_wrong_shape_or_dtype_is_refused(rng, key, bad):
    X, Y = data(rng)
    r = LearnedMapRouter(n_clusters=3, random_state=0, max_epochs=3)
    r.fit(X[:160], Y[:160], X[160:], Y[160:])
    r.add_model("m", 1.0, X[160:], Y[160:, 0])
    arrays, fields = r._archive()
    arrays = dict(arrays, **{key: bad(arrays["map_weight"], arrays["map_bias"])})
    with pytest.raises(RouterFileError, match="map_weight must be float32"):
        LearnedMapRouter.from_bytes(archive_bytes("LearnedMapRouter", arrays, fields))


def test_fit_needs_at_least_one_training_llm(rng):
    X, _ = data(rng)
    with pytest.raises(ValueError, match=r"train_correct has 0 LLMs .* \(at least one\)"):
        LearnedMapRouter(n_clusters=3, random_state=0).fit(
            X[:160], np.zeros((160, 0)), X[160:], np.zeros((80, 0)))


@pytest.mark.parametrize("key", ["map_weight", "map_bias"])
def test_a_map_holding_nan_is_refused(rng, key):
    X, Y = data(rng)
    r = LearnedMapRouter(n_clusters=3, random_state=0, max_epochs=3)
    r.fit(X[:160], Y[:160], X[160:], Y[160:])
    r.add_model("m", 1.0, X[160:], Y[160:, 0])
    arrays, fields = r._archive()
    bad = np.array(arrays[key])
    bad.flat[0] = np.nan
    with pytest.raises(RouterFileError, match="the learned map holds NaN or inf"):
        LearnedMapRouter.from_bytes(archive_bytes("LearnedMapRouter", dict(arrays, **{key: bad}),
                                                  fields))


def test_fit_takes_its_arrays_by_keyword_and_cost_only_by_keyword(rng):
    X, Y = data(rng)
    r = LearnedMapRouter(n_clusters=3, random_state=0, max_epochs=3)
    r.fit(train_embeddings=X[:160], train_correct=Y[:160], val_embeddings=X[160:],
          val_correct=Y[160:])
    assert r.n_clusters_ == 3
    with pytest.raises(TypeError):
        r.fit(X[:160], Y[:160], X[160:], Y[160:], np.ones(2))


def test_soft_assign_of_one_prompt_is_its_batch_row_and_a_softmax(rng):
    X, Y = data(rng)
    r = LearnedMapRouter(n_clusters=3, random_state=0, max_epochs=3)
    r.fit(X[:160], Y[:160], X[160:], Y[160:])
    W, b = r.map_.W.astype(np.float64), r.map_.b.astype(np.float64)
    z = X[5].astype(np.float64) @ W.T + b
    want = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    np.testing.assert_allclose(r.soft_assign(X[5]), want, atol=1e-5)
    np.testing.assert_array_equal(r.soft_assign(X[5]), r.soft_assign(X[5:6])[0])


def test_a_file_without_a_temperature_loads_with_temperature_zero(rng):
    X, Y = data(rng)
    r = LearnedMapRouter(n_clusters=3, random_state=0, max_epochs=3)
    r.fit(X[:160], Y[:160], X[160:], Y[160:])
    r.add_model("m", 1.0, X[160:], Y[160:, 0])
    arrays, fields = r._archive()
    fields = dict(fields, learned_map={k: v for k, v in fields["learned_map"].items()
                                       if k != "temperature"})
    loaded = LearnedMapRouter.from_bytes(archive_bytes("LearnedMapRouter", arrays, fields))
    assert loaded.temperature_ == 0.0
    np.testing.assert_array_equal(loaded.route(X), r.route(X))


def test_a_mismatch_of_training_llms_names_both_counts(rng):
    X, Y = data(rng)
    with pytest.raises(ValueError, match="^train_correct has 2 LLMs and val_correct 1;"):
        LearnedMapRouter(n_clusters=3, random_state=0).fit(X[:160], Y[:160], X[160:],
                                                           Y[160:, :1])


def test_psi_source_train_estimates_psi_from_the_training_labels(rng):
    X, Y = data(rng)
    Yv = Y[160:, ::-1].copy()  # validation labels of the models swapped

    def W(source):
        r = LearnedMapRouter(n_clusters=3, random_state=0, max_epochs=5, psi_source=source)
        return r.fit(X[:160], Y[:160], X[160:], Yv).map_.W

    assert not np.allclose(W("train"), W("validation"))


def test_one_training_llm_is_enough_and_counts_must_agree_both_ways(rng):
    X, Y = data(rng)
    r = LearnedMapRouter(n_clusters=3, random_state=0, max_epochs=3)
    assert r.fit(X[:160], Y[:160, :1], X[160:], Y[160:, :1]).n_clusters_ == 3
    with pytest.raises(ValueError, match="^train_correct has 1 LLMs and val_correct 2;"):
        LearnedMapRouter(n_clusters=3, random_state=0).fit(X[:160], Y[:160, :1], X[160:],
                                                           Y[160:])


@pytest.mark.parametrize("edit", [
    lambda a: a.pop("map_weight"),
    lambda a: a.update(map_weight=np.zeros((3, 5), np.float32)),
    lambda a: a.update(map_bias=np.zeros(4, np.float32)),
    lambda a: a.update(map_bias=a["map_bias"].astype(np.int32)),
    lambda a: a.update(map_weight=a["map_weight"].astype(np.int32))])
def test_a_missing_longer_or_integer_map_is_refused(rng, edit):
    X, Y = data(rng)
    r = LearnedMapRouter(n_clusters=3, random_state=0, max_epochs=3)
    r.fit(X[:160], Y[:160], X[160:], Y[160:])
    r.add_model("m", 1.0, X[160:], Y[160:, 0])
    arrays, fields = r._archive()
    arrays = dict(arrays)
    edit(arrays)
    with pytest.raises(RouterFileError, match="map_weight must be float32"):
        LearnedMapRouter.from_bytes(archive_bytes("LearnedMapRouter", arrays, fields))
