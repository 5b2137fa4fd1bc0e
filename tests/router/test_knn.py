"""KNNRouter: predictions against a brute-force numpy reference, the pool API, the file."""
from __future__ import annotations

import pickle

import numpy as np
import pytest
import uniroute
from uniroute import KNNRouter
from uniroute.exceptions import EmptyPoolError, NotFittedError, RouterFileError


def brute_error(Q, P, correct, k):
    """float64 reference: mean error over the k most cosine-similar probes (answered only;
    ties in similarity to the lower probe index); overall error when none answered."""
    Qn = Q / np.linalg.norm(Q, axis=1, keepdims=True)
    Pn = P / np.linalg.norm(P, axis=1, keepdims=True)
    out = np.empty(Q.shape[0])
    answered = ~np.isnan(correct)
    overall = np.mean(1.0 - correct[answered])
    for i, q in enumerate(Qn):
        sim = Pn @ q
        nbrs = np.lexsort((np.arange(P.shape[0]), -sim))[:k]
        ok = nbrs[answered[nbrs]]
        out[i] = np.mean(1.0 - correct[ok]) if ok.size else overall
    return out


def test_predicted_error_is_the_mean_over_the_k_nearest_probes(rng):
    P = rng.standard_normal((80, 6))
    Q = rng.standard_normal((25, 6))
    c1 = (rng.random(80) < 0.6).astype(float)
    c2 = rng.random(80)  # graded quality
    c2[rng.random(80) < 0.2] = np.nan  # some probes not answered
    r = KNNRouter(n_neighbors=7).add_model("a", 1.0, P, c1).add_model("b", 2.0, P, c2)
    err = r.predict_error(Q)
    np.testing.assert_allclose(err[:, 0], brute_error(Q, P, c1, 7), atol=1e-6)
    np.testing.assert_allclose(err[:, 1], brute_error(Q, P, c2, 7), atol=1e-6)
    assert len(r._state.probe_sets) == 1  # one neighbour search for both


def test_matches_the_evaluations_knn(rng):
    from uniroute.evaluation.selection import neighbor_errors

    P, Q = rng.standard_normal((60, 5)), rng.standard_normal((30, 5))
    C = (rng.random((60, 3)) < 0.5).astype(float)
    r = KNNRouter(n_neighbors=9)
    for m in range(3):
        r.add_model(f"m{m}", float(m), P, C[:, m])
    np.testing.assert_allclose(r.predict_error(Q), neighbor_errors(Q, P, C, [9])[9], atol=1e-6)


def test_each_model_uses_its_own_probes(rng):
    P1, P2 = rng.standard_normal((40, 4)), rng.standard_normal((50, 4))
    c1, c2 = (rng.random(40) < 0.3).astype(float), (rng.random(50) < 0.8).astype(float)
    r = KNNRouter(n_neighbors=60).add_model("a", 1.0, P1, c1).add_model("b", 1.0, P2, c2)
    Q = rng.standard_normal((10, 4))
    err = r.predict_error(Q)  # k above a set's size: all of its probes
    np.testing.assert_allclose(err[:, 0], 1.0 - c1.mean())
    np.testing.assert_allclose(err[:, 1], 1.0 - c2.mean())
    r.remove_model("a")
    assert r.models == ["b"] and len(r._state.probe_sets) == 1
    np.testing.assert_allclose(r.predict_error(Q)[:, 0], 1.0 - c2.mean())


def test_route_is_argmin_of_error_plus_lam_cost_ties_to_cheaper(rng):
    P = rng.standard_normal((20, 3))
    r = KNNRouter(n_neighbors=20)
    r.add_model("pricey", 2.0, P, np.ones(20))  # error 0
    r.add_model("cheap", 1.0, P, np.r_[np.ones(10), np.zeros(10)])  # error 0.5
    r.add_model("twin", 1.0, P, np.r_[np.zeros(10), np.ones(10)])  # error 0.5, added later
    Q = rng.standard_normal((4, 3))
    assert list(r.route(Q, lam=0.0)) == ["pricey"] * 4
    # 0 + 2 lam vs 0.5 + lam: the cheap pair wins above lam = 0.5; at 0.5 a tie -> cheaper
    assert list(r.route(Q, lam=0.6)) == ["cheap"] * 4
    assert r.route(Q[0], lam=0.5) == "cheap"
    assert r.route_indices(Q[0], lam=0.49) == 0


def test_file_pickle_and_bytes_round_trip(rng, tmp_path):
    P1, P2 = rng.standard_normal((30, 4)), rng.standard_normal((25, 4))
    c = rng.random(30)
    c[3] = np.nan
    r = KNNRouter(n_neighbors=5, encoder="enc").add_model("a", 0.5, P1, c)
    r.add_model("b", 1.5, P2, rng.random(25) < 0.7)
    Q = rng.standard_normal((12, 4))
    r.save(tmp_path / "knn.npz")
    for other in (KNNRouter.load(tmp_path / "knn.npz"), pickle.loads(pickle.dumps(r)),
                  KNNRouter.from_bytes(r.to_bytes())):
        np.testing.assert_array_equal(other.predict_error(Q), r.predict_error(Q))
        assert other.models == ["a", "b"] and other.encoder == "enc"
        np.testing.assert_array_equal(other.costs, [0.5, 1.5])


def test_file_kind_and_damage_are_refused(rng, tmp_path, saved):
    with pytest.raises(RouterFileError, match="KNNRouter"):
        KNNRouter.load(saved)  # a UniRouter file
    r = KNNRouter(3).add_model("a", 1.25, rng.standard_normal((10, 2)), rng.random(10))
    data = bytearray(r.to_bytes())
    at = bytes(data).find(np.float64(1.25).tobytes())  # the stored price
    assert at > 0
    data[at:at + 8] = np.float64(0.25).tobytes()
    with pytest.raises(RouterFileError):
        KNNRouter.from_bytes(bytes(data))


def test_auto_k_is_the_k_of_the_largest_validation_area(rng):
    from uniroute.evaluation.decisions import PromptErrors, Scorer
    from uniroute.evaluation.metrics import area
    from uniroute.knn import NEIGHBOR_GRID, neighbor_mean_error, unit_rows

    X, V = rng.standard_normal((120, 4)), rng.standard_normal((40, 4))
    Y = (rng.random((120, 3)) < [0.3, 0.6, 0.8]).astype(float)
    Yv = (rng.random((40, 3)) < [0.3, 0.6, 0.8]).astype(float)
    cost = np.array([1.0, 2.0, 4.0])
    r = KNNRouter("auto").fit(X, Y, V, Yv, cost=cost)
    scorer = Scorer(Yv, np.tile(cost, (40, 1)), cost)
    areas = {}
    for k in (g for g in NEIGHBOR_GRID if g <= 40):
        err = neighbor_mean_error(unit_rows(V), unit_rows(X), 1.0 - Y, np.ones_like(Y, bool), k)
        pts = scorer.points(PromptErrors(err))
        areas[k] = area(pts.cost, pts.quality)
    best = max(areas, key=lambda k: (areas[k], -k))
    assert r.n_neighbors_ == best


def test_bad_input_is_named(rng):
    with pytest.raises(ValueError, match="n_neighbors"):
        KNNRouter(0)
    r = KNNRouter(3)
    with pytest.raises(EmptyPoolError):
        r.route(np.zeros(2))
    r.add_model("a", 1.0, rng.standard_normal((10, 2)), rng.random(10))
    with pytest.raises(ValueError, match="embeddings has dim 3"):
        r.add_model("b", 1.0, rng.standard_normal((10, 3)), rng.random(10))
    with pytest.raises(ValueError, match="already in the pool"):
        r.add_model("a", 1.0, rng.standard_normal((10, 2)), rng.random(10))
    with pytest.raises(ValueError, match="no answered probe"):
        r.add_model("c", 1.0, rng.standard_normal((10, 2)), np.full(10, np.nan))
    with pytest.raises(KeyError, match="unknown model"):
        r.remove_model("zz")
    with pytest.raises(NotFittedError):
        KNNRouter("auto").add_model("a", 1.0, np.eye(2), [1.0, 0.0]).route(np.eye(2))
    with pytest.raises(ValueError, match="training LLMs' labels"):
        KNNRouter("auto").fit(np.eye(2))


def test_public_import_does_not_need_the_evaluation_package():
    import subprocess
    import sys

    code = ("import sys, importlib; importlib.import_module('uniroute.knn'); "
            "print(any(m.startswith('uniroute.evaluation') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    assert uniroute.KNNRouter is KNNRouter
