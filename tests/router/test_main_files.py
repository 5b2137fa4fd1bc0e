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
