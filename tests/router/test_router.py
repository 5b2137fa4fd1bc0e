from __future__ import annotations

import numpy as np
import pytest

import uniroute
from uniroute import UniRouter

from tests.reference import assign_ref, cluster_error_ref, route_ref


@pytest.fixture
def world(rng):
    """Prompts in 4 topics; 'expert' is right on topics 0-1 only, 'big' always, 'tiny' rarely."""
    d = 8
    topics = rng.standard_normal((4, d)) * 5
    def prompts(n):
        t = rng.integers(0, 4, n)
        return (topics[t] + rng.standard_normal((n, d))).astype(np.float32), t
    train, _ = prompts(800)
    probes, t = prompts(400)
    correct = {"big": np.ones(400), "expert": (t < 2).astype(float),
               "tiny": (rng.random(400) < 0.1).astype(float)}
    return prompts, train, probes, correct


def make_router(world, n_clusters=4):
    _, train, probes, correct = world
    r = UniRouter(n_clusters=n_clusters, random_state=0).fit(train)
    r.add_model("big", 10.0, probes, correct["big"])
    r.add_model("expert", 1.0, probes, correct["expert"])
    r.add_model("tiny", 0.1, probes, correct["tiny"])
    return r


def test_routes_follow_cluster_errors_and_costs(world):
    prompts = world[0]
    r = make_router(world)
    X, t = prompts(300)
    assert set(r.route(X, lam=0.0)) == {"big"}  # most accurate everywhere
    mid = r.route(X, lam=0.05)  # expert where it is right, big elsewhere
    np.testing.assert_array_equal(mid == "expert", t < 2)
    assert set(r.route(X, lam=100.0)) == {"tiny"}
    assert r.models == ["big", "expert", "tiny"]
    np.testing.assert_array_equal(r.costs, [10.0, 1.0, 0.1])
    assert r.n_clusters == 4 and r.embedding_dim == 8
    assert r.cluster_error_.shape == (3, 4) and r.probe_count_.sum() == 1200


def test_predict_error_and_route_indices_agree(world):
    prompts = world[0]
    r = make_router(world)
    X, _ = prompts(50)
    err = r.predict_error(X)
    np.testing.assert_allclose(err, _psi_ref(r, world[2], world[3]).T[assign_ref(
        X, r.centroids_)[0]], rtol=1e-12)
    for lam in [0.0, 0.01, 0.3]:
        idx = r.route_indices(X, lam)
        score = err + lam * r.costs
        np.testing.assert_array_equal(idx, score.argmin(1))


def test_single_prompt_returns_the_batch_rows_values(world):
    prompts, _, probes, correct = world
    r = make_router(world)
    X = prompts(40)[0]
    labels = assign_ref(X, r.centroids_)[0]
    psi = _psi_ref(r, probes, correct)
    for x, k in zip(X, labels):
        assert r.assign(x) == k and isinstance(r.assign(x), int)
        np.testing.assert_allclose(r.predict_error(x), psi[:, k], rtol=1e-12)
        for lam in (0.0, 0.05, 100.0):
            want = int(route_ref(np.array([k]), psi, r.costs, lam)[0])
            got = r.route_indices(x, lam)
            assert got == want and isinstance(got, int)
            assert r.route(x, lam) == r.models[want] and isinstance(r.route(x, lam), str)
            assert r.route(x[None], lam).tolist() == [r.models[want]]


def test_route_many_prompts(world):
    _, _, probes, correct = world
    r = make_router(world)
    X = np.random.default_rng(0).standard_normal((200_000, 8)).astype(np.float32)
    out = r.route_indices(X, lam=0.05)
    want = route_ref(assign_ref(X, r.centroids_)[0], _psi_ref(r, probes, correct), r.costs, 0.05)
    np.testing.assert_array_equal(out, want)
    assert len(set(want)) >= 2


def _psi_ref(r, probes, correct):
    labels = assign_ref(probes, r.centroids_)[0]
    return np.stack([cluster_error_ref(labels, correct[m], r.n_clusters, 1.0) for m in r.models])


def test_empty_cluster_gets_overall_error_never_zero_or_nan(world):
    _, train, probes, correct = world
    r = UniRouter(n_clusters=4, random_state=0).fit(train)
    # Probes from one cluster only.
    lab = r.assign(probes)
    keep = lab == lab[0]
    r.add_model("m", 1.0, probes[keep], np.ones(keep.sum()))
    psi = r.cluster_error_[0]
    assert np.isfinite(psi).all() and np.all(psi > 0)
    empty = r.probe_count_[0] == 0
    n = keep.sum()
    np.testing.assert_allclose(psi[empty], 0.5 / (n + 1))
    np.testing.assert_allclose(psi[~empty], (0 + 0.5 / (n + 1)) / (n + 1))


def test_nan_correct_is_ignored(world):
    _, train, probes, correct = world
    r = UniRouter(n_clusters=4, random_state=0).fit(train)
    c = correct["expert"].copy()
    c[::2] = np.nan
    r.add_model("half", 1.0, probes, c)
    r.add_model("ref", 1.0, probes[1::2], correct["expert"][1::2])
    np.testing.assert_allclose(r.cluster_error_[0], r.cluster_error_[1])
    assert r.probe_count_[0].sum() == 200


def test_remove_model_and_errors(world):
    prompts, train, probes, correct = world
    r = make_router(world)
    r.remove_model("expert")
    assert r.models == ["big", "tiny"] and r.cluster_error_.shape == (2, 4)
    with pytest.raises(KeyError, match="unknown model 'expert'"):
        r.remove_model("expert")
    with pytest.raises(ValueError, match="already in the pool"):
        r.add_model("big", 1.0, probes, correct["big"])
    with pytest.raises(ValueError, match="embeddings has dim 3, the router was fitted with dim 8"):
        r.route(np.ones((2, 3)))
    with pytest.raises(ValueError, match="cost must be a finite number >= 0"):
        r.add_model("x", -1.0, probes, correct["big"])
    with pytest.raises(TypeError, match="cost must be a real number"):
        r.add_model("x", "cheap", probes, correct["big"])
    with pytest.raises(ValueError, match="correct has length 3, expected 400"):
        r.add_model("x", 1.0, probes, [1, 0, 1])
    with pytest.raises(ValueError, match=r"correct must lie in \[0, 1\]"):
        r.add_model("x", 1.0, probes, correct["big"] * 2)
    with pytest.raises(ValueError, match="no answered probe"):
        r.add_model("x", 1.0, probes, np.full(400, np.nan))
    with pytest.raises(ValueError, match="control"):
        r.add_model("bad\nname", 1.0, probes, correct["big"])
    with pytest.raises(TypeError, match="name must be a str"):
        r.add_model(3, 1.0, probes, correct["big"])
    with pytest.raises(ValueError, match="lam must be a finite number >= 0"):
        r.route(probes, lam=float("nan"))
    with pytest.raises(ValueError, match="embeddings contains NaN"):
        r.route(np.full((1, 8), np.nan))
    r.remove_model("big")
    r.remove_model("tiny")
    with pytest.raises(uniroute.EmptyPoolError, match="pool is empty"):
        r.route(probes)


def test_use_before_fit():
    r = UniRouter(n_clusters=3)
    assert r.n_clusters == 3
    for call in (lambda: r.route(np.ones((1, 2))), lambda: r.add_model("a", 1, np.ones((1, 2)), [1]),
                 lambda: r.embedding_dim, lambda: r.save("x.npz")):
        with pytest.raises(uniroute.NotFittedError, match="not fitted"):
            call()
    assert "unfitted" in repr(r)


def test_encoder_identity_is_recorded_and_enforced(world, tmp_path):
    _, train, probes, correct = world

    class Enc:
        name = "toy-encoder"
        dim = 8

    r = UniRouter(n_clusters=2, random_state=0, encoder=Enc()).fit(train)
    r.add_model("big", 1.0, probes, correct["big"], encoder="toy-encoder")
    with pytest.raises(ValueError, match="from encoder 'other'.*'toy-encoder'"):
        r.route(probes, encoder="other")
    r.save(tmp_path / "r.npz")
    loaded = UniRouter.load(tmp_path / "r.npz")
    assert loaded.encoder_name == "toy-encoder"
    with pytest.raises(ValueError, match="fitted with encoder"):
        loaded.predict_error(probes, encoder="other")

    class Enc16(Enc):
        dim = 16

    with pytest.raises(ValueError, match="train_embeddings has dim 8"):
        UniRouter(n_clusters=2, encoder=Enc16()).fit(train)
    with pytest.raises(TypeError, match="encoder must be"):
        UniRouter(encoder=3.0).fit(train)  # checked in fit (scikit-learn convention)


def test_route_path_agrees_with_route(world):
    prompts = world[0]
    r = make_router(world)
    path = r.route_path()
    X, _ = prompts(100)
    lab = r.assign(X)
    for k in range(r.n_clusters):
        for m, lo, hi in path.segments(k):
            lam = (lo + hi) / 2 if np.isfinite(hi) else lo + 1.0
            idx = r.route_indices(X[lab == k], lam)
            assert np.all(idx == m)


def test_save_load_round_trip(world, tmp_path):
    prompts = world[0]
    r = make_router(world)
    path = tmp_path / "router.uniroute"
    r.save(path)
    loaded = UniRouter.load(path)
    X, _ = prompts(500)
    for lam in [0.0, 0.05, 10.0]:
        np.testing.assert_array_equal(loaded.route(X, lam), r.route(X, lam))
    np.testing.assert_array_equal(loaded.centroids_, r.centroids_)
    np.testing.assert_array_equal(loaded.cluster_error_, r.cluster_error_)
    assert loaded.models == r.models and repr(loaded) == repr(r)
    # The loaded router keeps working as a pool.
    loaded.remove_model("big")
    assert loaded.models == ["expert", "tiny"]
    # Saving over an existing file replaces it and leaves no temporary file behind.
    loaded.save(path)
    assert UniRouter.load(path).models == ["expert", "tiny"]
    assert [p.name for p in tmp_path.iterdir()] == ["router.uniroute"]


def test_refit_clears_the_pool(world):
    r = make_router(world)
    r.fit(world[1])
    assert r.models == []


def test_tune_shrinkage_picks_the_held_out_likelihood_winner_and_re_estimates_the_pool(rng,
                                                                                       tmp_path):
    from uniroute.features import choose_shrinkage, shrunk_cluster_error

    d, K = 6, 12
    topics = rng.standard_normal((3, d)) * 4
    skill = rng.uniform(0.2, 0.9, (5, 3))

    def prompts(n):
        t = rng.integers(0, 3, n)
        X = (topics[t] + rng.standard_normal((n, d))).astype(np.float32)
        return X, (rng.random((n, 5)) < skill[:, t].T).astype(float)

    X, _ = prompts(600)
    P, Yp = prompts(40)        # few probes: 40 prompts over 12 clusters
    H, Yh = prompts(800)
    router = uniroute.UniRouter(K, random_state=0).fit(X)
    router.add_model("new", 1.0, P, Yp[:, 4])
    before = router.cluster_error_.copy()
    scores = router.tune_shrinkage(P, Yp[:, :4], H, Yh[:, :4], grid=(0.0, 1.0, 5.0, 20.0))
    labels_p, labels_h = router.assign(P), router.assign(H)
    best, want = choose_shrinkage(labels_p, Yp[:, :4], labels_h, Yh[:, :4], K,
                                  grid=(0.0, 1.0, 5.0, 20.0))
    assert scores == want and router.shrinkage_ == best
    assert best == max(scores, key=scores.get)
    assert best != 1.0, "the test needs data where tuning moves the strength"
    np.testing.assert_allclose(router.cluster_error_, shrunk_cluster_error(
        _error_sum(router), router.probe_count_, best))
    assert not np.allclose(before, router.cluster_error_)
    router.save(tmp_path / "tuned.uniroute")
    loaded = uniroute.UniRouter.load(tmp_path / "tuned.uniroute")
    assert loaded.shrinkage == best
    np.testing.assert_array_equal(loaded.cluster_error_, router.cluster_error_)
    router.fit(X)
    assert router.shrinkage_ is None  # a refit forgets the tuned strength


def _error_sum(router):
    return router._fitted().error_sum


def test_tune_shrinkage_errors(rng):
    X = rng.standard_normal((100, 4)).astype(np.float32)
    router = uniroute.UniRouter(3, random_state=0).fit(X)
    Y = (rng.random((100, 2)) < 0.5).astype(float)
    with pytest.raises(ValueError, match="probe_correct has 2 LLMs and heldout_correct 1"):
        router.tune_shrinkage(X, Y, X, Y[:, :1])
    with pytest.raises(ValueError, match="probe_correct must have shape"):
        router.tune_shrinkage(X, Y[:50], X, Y)
    with pytest.raises(ValueError, match="heldout_correct holds no answered label"):
        router.tune_shrinkage(X, Y, X, np.full((100, 2), np.nan))
    with pytest.raises(ValueError, match="probe_correct holds no answered label"):
        router.tune_shrinkage(X[:0], Y[:0], X, Y)
    with pytest.raises(ValueError, match="grid must hold finite strengths"):
        router.tune_shrinkage(X, Y, X, Y, grid=(1.0, -1.0))
    with pytest.raises(uniroute.NotFittedError):
        uniroute.UniRouter(3).tune_shrinkage(X, Y, X, Y)
    with pytest.raises(ValueError, match="shrinkage must be a number >= 0, got 'auto'"):
        uniroute.UniRouter(3, shrinkage="auto").fit(X)  # checked in fit, not at add_model
