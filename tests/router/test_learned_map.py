from __future__ import annotations

import pickle

import numpy as np
import pytest

import uniroute
from uniroute import LearnedMapRouter, UniRouter

from tests.reference import assign_ref, cluster_error_ref, soft_assign_ref


@pytest.fixture
def world(rng):
    """4 topics; 4 training LLMs and 3 new ones, each good on some topics."""
    d = 10
    topics = rng.standard_normal((4, d)) * 3

    def prompts(n):
        t = rng.integers(0, 4, n)
        return (topics[t] + rng.standard_normal((n, d))).astype(np.float32), t

    skill = rng.uniform(0.1, 0.95, (7, 4))

    def answers(t, models):
        return (rng.random((t.size, len(models))) < skill[models][:, t].T).astype(float)

    Xtr, ttr = prompts(1500)
    Xva, tva = prompts(300)
    return prompts, answers, Xtr, ttr, Xva, tva


def fitted(world, **kw):
    prompts, answers, Xtr, ttr, Xva, tva = world
    r = LearnedMapRouter(n_clusters=6, random_state=0, **kw)
    r.fit(Xtr, answers(ttr, [0, 1, 2, 3]), Xva, answers(tva, [0, 1, 2, 3]))
    for m in (4, 5, 6):
        r.add_model(f"new{m}", float(m), Xva, answers(tva, [m])[:, 0])
    return r


def test_fit_route_and_pool(world):
    prompts = world[0]
    r = fitted(world, max_epochs=20)
    X, _ = prompts(200)
    assert r.models == ["new4", "new5", "new6"]  # training LLMs are not in the pool
    err = r.predict_error(X)
    phi = r.soft_assign(X)
    np.testing.assert_allclose(phi, soft_assign_ref(X, r.map_.W, r.map_.b), atol=2e-5)
    np.testing.assert_allclose(err, phi.astype(np.float64) @ r.cluster_error_.T, rtol=1e-6)
    for lam in (0.0, 0.05, 10.0):
        idx = r.route_indices(X, lam)
        ref = np.argmin(err + lam * r.costs, axis=1)
        assert np.mean(idx == ref) > 0.99
    assert isinstance(r.route(X[0]), str)
    assert r.history_ is not None and len(r.history_.train_loss) >= 1
    r.remove_model("new5")
    assert r.predict_error(X).shape == (200, 2)


def test_sharp_temperature_reproduces_kmeans_routes(world):
    prompts, answers, Xtr, ttr, Xva, tva = world
    lm = fitted(world, temperature=1e-6, max_epochs=0)
    km = UniRouter(n_clusters=6, random_state=0).fit(Xtr)
    X, _ = prompts(500)
    np.testing.assert_array_equal(lm.centroids_, km.centroids_)
    hard = km.assign(X)
    np.testing.assert_array_equal(lm.soft_assign(X).argmax(1), hard)
    psi = lm.cluster_error_  # the K-means router's features for the same probes
    for lam in (0.0, 0.1, 1.0):
        ref = np.argmin(psi.T[hard] + lam * lm.costs, axis=1)
        np.testing.assert_array_equal(lm.route_indices(X, lam), ref)


def test_fit_is_deterministic_for_a_seed(world):
    a = fitted(world, max_epochs=5)
    b = fitted(world, max_epochs=5)
    X = world[2][:100]
    np.testing.assert_array_equal(a.soft_assign(X), b.soft_assign(X))


def _val_bce(W, b, V, errors, psi):
    gamma = np.clip(soft_assign_ref(V, W, b) @ psi.T, 1e-6, 1 - 1e-6)
    return float(-(errors * np.log(gamma) + (1 - errors) * np.log1p(-gamma)).mean())


def _misaligned_world(rng):
    """K-means sees two blobs on axis 0; the LLMs' skill follows a topic on axis 1 that
    agrees with the blob 75% of the time: the initial map (nearest centroid) is poor and a
    learned map that reads axis 1 predicts the errors much better."""
    def prompts(n):
        blob = rng.integers(0, 2, n)
        topic = np.where(rng.random(n) < 0.75, blob, 1 - blob)
        X = rng.standard_normal((n, 6))
        X[:, 0] += np.where(blob, 4.0, -4.0)
        X[:, 1] = np.where(topic, 1.0, -1.0) + 0.3 * rng.standard_normal(n)
        p = np.where(topic[:, None] == 1, [0.95, 0.05], [0.05, 0.95])
        return X.astype(np.float32), (rng.random(p.shape) < p).astype(float)

    return prompts(2000) + prompts(600)


@pytest.mark.parametrize("optimizer", ["adam", "lbfgs"])
def test_learning_improves_validation_loss_and_keeps_the_best_map(rng, optimizer):
    if optimizer == "lbfgs":
        pytest.importorskip("scipy")
    Xtr, Y, Xva, Yv = _misaligned_world(rng)
    r = LearnedMapRouter(n_clusters=2, random_state=0, max_epochs=60, optimizer=optimizer)
    r.fit(Xtr, Y, Xva, Yv)
    h = r.history_
    C, T = r.centroids_.astype(np.float64), r.temperature_
    labels = assign_ref(Xva, C)[0]
    psi = np.stack([cluster_error_ref(labels, Yv[:, m], 2, 1.0) for m in range(2)])
    # epoch 0 is the K-means soft nearest-centroid map softmax(-||x - c||^2 / T)
    start = _val_bce(2 * C / T, -(C * C).sum(1) / T, Xva, 1 - Yv, psi)
    assert h.val_loss[0] == pytest.approx(start, rel=1e-9)
    assert min(h.val_loss) < 0.8 * h.val_loss[0]
    assert h.val_loss[h.best_epoch] == min(h.val_loss)
    # the router keeps the best epoch's map (stored in float32)
    kept = _val_bce(r.map_.W, r.map_.b, Xva, 1 - Yv, psi)
    assert kept == pytest.approx(min(h.val_loss), rel=1e-4)


def test_save_load_and_pickle_round_trip(world, tmp_path):
    prompts = world[0]
    r = fitted(world, max_epochs=5)
    X, _ = prompts(300)
    r.save(tmp_path / "lm.npz")
    loaded = LearnedMapRouter.load(tmp_path / "lm.npz")
    for lam in (0.0, 0.3):
        np.testing.assert_array_equal(loaded.route(X, lam), r.route(X, lam))
    again = pickle.loads(pickle.dumps(r))
    np.testing.assert_array_equal(again.route(X, 0.1), r.route(X, 0.1))
    assert isinstance(again, LearnedMapRouter) and "LearnedMapRouter(" in repr(again)
    with pytest.raises(uniroute.RouterFileError, match="expected a 'UniRouter'"):
        UniRouter.load(tmp_path / "lm.npz")


def test_constraints_match_a_masked_reference(world):
    prompts = world[0]
    r = fitted(world, max_epochs=3)
    X, _ = prompts(100)
    err = r.predict_error(X)
    got = r.route_indices(X, 0.01, allowed=["new4", "new6"])
    score = np.where([True, False, True], err + 0.01 * r.costs, np.inf)
    np.testing.assert_array_equal(got, score.argmin(1))
    capped = r.route(X, 0.0, max_cost=4.5)
    assert set(capped) == {"new4"}
    with pytest.raises(uniroute.NoFeasibleModelError):
        r.route(X, 0.0, max_cost=1.0, strict=True)
    assert set(r.route(X, 0.0, max_cost=1.0)) == {"new4"}  # fallback: cheapest allowed
    r.update_model("new4", cost=7.0)  # the cheapest is now in the middle of the pool
    assert set(r.route(X, 0.0, max_cost=1.0)) == {"new5"}
    assert set(r.route(X, 0.0, allowed=["new4", "new6"], max_cost=1.0)) == {"new6"}
    score = err + 0.01 * r.costs
    got = r.route_indices(X, 0.01, allowed=["new4", "new5"], max_cost=6.5)
    np.testing.assert_array_equal(got, np.full(100, 1))  # new4 (7.0) is over the cap
    got = r.route_indices(X, 0.01, allowed=["new4", "new5", "new6"])
    np.testing.assert_array_equal(got, score.argmin(1))


def test_errors(world):
    prompts, answers, Xtr, ttr, Xva, tva = world
    r = LearnedMapRouter(n_clusters=3)
    with pytest.raises(TypeError, match="needs train_embeddings, train_correct"):
        r.fit(Xtr)
    with pytest.raises(ValueError, match="same training LLMs"):
        r.fit(Xtr, answers(ttr, [0, 1]), Xva, answers(tva, [0]))
    with pytest.raises(ValueError, match=r"train_correct must have shape \(1500"):
        r.fit(Xtr, answers(ttr, [0])[:10], Xva, answers(tva, [0]))
    with pytest.raises(ValueError, match="psi_source"):
        LearnedMapRouter(3, psi_source="x").fit(Xtr, answers(ttr, [0]), Xva, answers(tva, [0]))
    f = fitted(world, max_epochs=1)
    assert not hasattr(f, "route_path")  # a sibling offers only what it supports
    with pytest.raises(uniroute.NotFittedError):
        LearnedMapRouter(3).soft_assign(np.ones((1, 10)))


def test_lbfgs_option_fits_saves_and_loads(world, tmp_path):
    pytest.importorskip("scipy")
    r = fitted(world, optimizer="lbfgs", max_epochs=50)
    h = r.history_
    assert h.val_loss[h.best_epoch] == min(h.val_loss)
    r.save(tmp_path / "lbfgs.npz")
    loaded = LearnedMapRouter.load(tmp_path / "lbfgs.npz")
    assert loaded.optimizer == "lbfgs"
    X = world[2][:200]
    np.testing.assert_array_equal(loaded.route(X, 0.1), r.route(X, 0.1))
    with pytest.raises(ValueError, match="optimizer must be 'adam' or 'lbfgs'"):
        fitted(world, optimizer="sgd")


def test_auto_shrinkage_is_chosen_from_the_training_llms(world, tmp_path):
    prompts, answers, Xtr, ttr, Xva, tva = world
    Y, Yv = answers(ttr, [0, 1, 2, 3]), answers(tva, [0, 1, 2, 3])
    r = LearnedMapRouter(n_clusters=6, random_state=0, max_epochs=3, shrinkage="auto")
    r.fit(Xtr, Y, Xva, Yv)
    # "auto" is the probe-aware selection (uniroute.tuning): the strength it scores best
    # over the replayed probe draws of the training LLMs (ties to the smaller strength)
    sel = r.selection_
    assert r.shrinkage == "auto" and r.shrinkage_ == sel.best().shrinkage
    lab_v = assign_ref(Xva, r.centroids_)[0]
    r.add_model("new", 1.0, Xva, Yv[:, 0])
    np.testing.assert_allclose(r.cluster_error_[0], cluster_error_ref(lab_v, Yv[:, 0], 6,
                                                                      r.shrinkage_), rtol=1e-12)
    r.save(tmp_path / "auto.npz")
    loaded = LearnedMapRouter.load(tmp_path / "auto.npz")
    assert loaded.shrinkage == r.shrinkage_
    np.testing.assert_array_equal(loaded.cluster_error_, r.cluster_error_)
    with pytest.raises(ValueError, match="shrinkage must be a number >= 0 or 'auto'"):
        fitted(world, shrinkage="best")
