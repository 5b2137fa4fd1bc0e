"""Both routers are siblings on one base, follow scikit-learn's conventions, keep the
README's API names, and pickle by value."""
from __future__ import annotations

import inspect
import pickle

import numpy as np
import pytest
from uniroute import LearnedMapRouter, UniRouter
from uniroute._router_base import RouterBase

README_API = {  # README.md's API table
    UniRouter: ["fit", "tune_shrinkage", "add_model", "remove_model", "predict_error", "route",
                "route_indices", "route_path", "assign", "save", "load", "models", "costs",
                "n_clusters", "embedding_dim", "cluster_error_", "probe_count_", "centroids_"],
    LearnedMapRouter: ["fit", "add_model", "route", "predict_error", "soft_assign", "save",
                       "load"],
}


def _fitted(cls):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 6)).astype(np.float32)
    if cls is UniRouter:
        r = UniRouter(3, random_state=0).fit(X[:200])
    else:
        Y = (rng.random((300, 2)) < 0.6).astype(float)
        r = LearnedMapRouter(3, random_state=0, max_epochs=3).fit(X[:150], Y[:150], X[150:250],
                                                                  Y[150:250])
    r.add_model("a", 0.5, X[200:], rng.random(100) < 0.5)
    r.add_model("b", 1.0, X[200:], rng.random(100) < 0.8)
    return r, X


def test_siblings_not_a_subclass():
    assert not issubclass(LearnedMapRouter, UniRouter)
    assert issubclass(UniRouter, RouterBase) and issubclass(LearnedMapRouter, RouterBase)
    for cls, names in README_API.items():
        missing = [n for n in names if not hasattr(_fitted(cls)[0], n)]
        assert missing == []


@pytest.mark.parametrize("cls", [UniRouter, LearnedMapRouter])
def test_init_stores_its_parameters_and_nothing_else(cls):
    params = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    r = cls(4, random_state=3)
    assert sorted(vars(r)) == sorted(params)
    assert r.get_params()["n_clusters"] == 4 and r.get_params()["random_state"] == 3
    fitted, _ = _fitted(cls)
    learned = [k for k in vars(fitted) if k not in params]
    assert learned and all(k.endswith("_") for k in learned), learned
    assert "pool_" in learned


@pytest.mark.parametrize("cls", [UniRouter, LearnedMapRouter])
def test_bad_shrinkage_is_refused_by_fit(cls):
    X = np.random.default_rng(0).standard_normal((50, 4))
    r = cls(2, shrinkage=-1.0)  # stored as given
    args = (X,) if cls is UniRouter else (X, np.ones((50, 1)), X, np.ones((50, 1)))
    with pytest.raises(ValueError, match="shrinkage must be a finite number >= 0"):
        r.fit(*args)


@pytest.mark.parametrize("cls", [UniRouter, LearnedMapRouter])
def test_a_negative_price_cap_is_refused(cls):
    r, X = _fitted(cls)
    for cap in (-1.0, np.array([0.5, -1.0])):
        with pytest.raises(ValueError, match="max_cost must be >= 0"):
            r.route(X[:2] if np.ndim(cap) else X[0], max_cost=cap)
    with pytest.raises(ValueError, match="max_cost contains NaN"):
        r.route(X[0], max_cost=float("nan"))


@pytest.mark.parametrize("cls", [UniRouter, LearnedMapRouter])
def test_pickling_is_by_value(cls):
    r, X = _fitted(cls)
    again = pickle.loads(pickle.dumps(r))
    assert type(again) is cls and again.models == r.models
    np.testing.assert_array_equal(again.route(X, 0.3), r.route(X, 0.3))
    blank = pickle.loads(pickle.dumps(cls(5, random_state=1)))
    assert type(blank) is cls and blank.get_params() == cls(5, random_state=1).get_params()
