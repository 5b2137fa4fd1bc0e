"""Router files written by the code of main before the one-decision-path rework (commit
in ``data/main_expected.json``) still load, and route as they did then."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from uniroute import LearnedMapRouter, UniRouter

DATA = Path(__file__).parent / "data"


def test_files_saved_by_main_load_and_route_the_same():
    expected = json.loads((DATA / "main_expected.json").read_text())
    Q = np.load(DATA / "main_queries.npy")
    for cls, stem, key in ((UniRouter, "main_unirouter", "unirouter"),
                           (LearnedMapRouter, "main_learned_map", "learned_map")):
        r = cls.load(DATA / f"{stem}.npz")
        want = expected[key]
        assert r.models == ["small", "large"]
        assert list(r.route(Q, 0.0)) == want["route_lam0"]
        assert list(r.route(Q, 1.0)) == want["route_lam1"]
        assert [r.route(q, 1.0) for q in Q] == want["route_lam1"]
        np.testing.assert_allclose(r.predict_error(Q), np.array(want["predict_error"]),
                                   rtol=1e-5, atol=1e-6)
        again = cls.from_bytes(r.to_bytes())
        assert list(again.route(Q, 1.0)) == want["route_lam1"]


class _MainPickle:
    """Pickles exactly what main's ``__reduce__`` wrote: a call of
    ``uniroute._router_file._unpickle(file bytes, kind)`` (or ``_unpickle_unfitted``)."""

    def __init__(self, call):
        self.call = call

    def __reduce__(self):
        return self.call


def test_pickles_made_by_main_unpickle():
    import pickle

    from uniroute import _router_file

    expected = json.loads((DATA / "main_expected.json").read_text())
    Q = np.load(DATA / "main_queries.npy")
    for cls, stem, key, kind in ((UniRouter, "main_unirouter", "unirouter", "UniRouter"),
                                 (LearnedMapRouter, "main_learned_map", "learned_map",
                                  "LearnedMapRouter")):
        data = (DATA / f"{stem}.npz").read_bytes()
        blob = pickle.dumps(_MainPickle((_router_file._unpickle, (data, kind))))
        r = pickle.loads(blob)
        assert type(r) is cls
        assert list(r.route(Q, 1.0)) == expected[key]["route_lam1"]
    params = {"n_clusters": 3, "random_state": 0, "encoder": None, "shrinkage": 1.0,
              "n_init": 3, "max_iter": 100, "tol": 1e-4}
    r = pickle.loads(pickle.dumps(_MainPickle((_router_file._unpickle_unfitted, (params,)))))
    assert type(r) is UniRouter and r.n_clusters == 3 and r.random_state == 0
