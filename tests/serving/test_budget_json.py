"""A budget carried as JSON (``Calibration.to_dict`` / ``from_dict``), as a gateway's
request metadata carries it, still follows the pool: after a change of the pool and in
a router loaded from the file of the one it was made on, it routes exactly as a fresh
``calibrate`` on the current pool does; on other clusters it is refused."""
from __future__ import annotations

import json

import numpy as np
import pytest
from uniroute import UniRouter
from uniroute.calibration import Calibration

from tests.serving.test_budget_follows_pool import _router


@pytest.mark.parametrize("kind", ["hard", "soft"])
def test_json_budget_follows_the_pool_and_the_file(kind):
    r, X, Y = _router(kind)
    S = X[1000:1200]
    cal = r.calibrate(S, target_cost=1.1)
    carried = Calibration.from_dict(json.loads(json.dumps(cal.to_dict())))
    assert carried == cal  # the report fields survive the trip
    np.testing.assert_array_equal(r.route(S, budget=carried), r.route(S, budget=cal))
    r.observe("m4", X[700:1000], np.ones(300))
    fresh = r.calibrate(S, target_cost=1.1)
    assert fresh.lam != cal.lam or fresh.weight != cal.weight  # the change matters
    np.testing.assert_array_equal(r.route(S, budget=carried), r.route(S, budget=fresh))
    loaded = type(r).from_bytes(r.to_bytes())  # another router (or process) with the file
    np.testing.assert_array_equal(loaded.route(S, budget=carried), r.route(S, budget=fresh))


def test_json_budget_for_other_clusters_is_refused():
    r, X, Y = _router("hard")
    other = UniRouter(5, random_state=1).fit(X[:300])
    for m, c in enumerate((0.2, 0.5, 1.0, 2.0, 4.0)):
        other.add_model(f"m{m}", c, X[600:700], Y[600:700, 3 + m])
    carried = Calibration.from_dict(r.calibrate(X[1000:1200], target_cost=1.1).to_dict())
    with pytest.raises(ValueError, match="another pool"):
        other.route(X[:3], budget=carried)


def test_from_dict_names_bad_input():
    r, X, _ = _router("hard")
    d = r.calibrate(X[1000:1200], target_cost=1.1).to_dict()
    with pytest.raises(ValueError, match="unknown keys"):
        Calibration.from_dict({**d, "bogus": 1})
    with pytest.raises(ValueError, match="sample"):
        Calibration.from_dict({**d, "sample": {"kind": "hard", "data": [1.0, float("nan")]}})
    with pytest.raises(TypeError, match="mapping"):
        Calibration.from_dict([1, 2])
