"""The probe settings on both sibling routers (RouterBase): parameters stored as given,
the safe option applied to every snapshot (add, reprice, observe, remove, load), soft
probes in LearnedMap's pool, the settings in the file."""
from __future__ import annotations

import numpy as np
import pytest
from uniroute import LearnedMapRouter, UniRouter
from uniroute.features import safe_cluster_error, shrunk_cluster_error, soft_probe_statistics

from tests.router.test_tuning import two_topic_data


def soft_reference(centroids, X, y, T, strength):
    """Psi of one model from soft probe counts, in float64 numpy."""
    C = centroids.astype(np.float64)
    d2 = ((X.astype(np.float64)[:, None, :] - C[None]) ** 2).sum(-1)
    W = np.exp(-(d2 - d2.min(1, keepdims=True)) / T)
    W /= W.sum(1, keepdims=True)
    return soft_probe_statistics(W, y)


@pytest.mark.parametrize("kind", ["kmeans", "learned_map"])
def test_safe_option_follows_every_pool_change(kind, rng):
    X, Y = two_topic_data(rng, n=500)
    if kind == "kmeans":
        r = UniRouter(4, random_state=0, probe_temperature=2.0, safe_level=2.0).fit(X[:300])
    else:
        r = LearnedMapRouter(4, random_state=0, probe_temperature=2.0, safe_level=2.0,
                             max_epochs=2).fit(X[:300], Y[:300, :2], X[300:400], Y[300:400, :2])
    assert (r.probe_temperature, r.safe_level) == (2.0, 2.0)  # parameters kept as given
    assert (r.probe_temperature_, r.safe_level_) == (2.0, 2.0)
    P = X[400:]
    prices = {"a": 1.0, "b": 0.5, "c": 0.2}
    stats = {}
    for j, name in enumerate(prices):
        r.add_model(name, prices[name], P, Y[400:, j + 1])
        stats[name] = soft_reference(r.centroids_, P, Y[400:, j + 1], 2.0, 1.0)

    def expected(names):
        E = np.stack([stats[n][0] for n in names])
        N = np.stack([stats[n][1] for n in names])
        raw = shrunk_cluster_error(E, N, 1.0)
        return safe_cluster_error(raw, E, N, np.array([prices[n] for n in names]), 2.0)

    np.testing.assert_allclose(r.cluster_error_, expected(["a", "b", "c"]), rtol=1e-9)
    prices["a"] = 0.1  # the best model's price changes the rule's tie order
    r.update_model("a", cost=0.1)
    np.testing.assert_allclose(r.cluster_error_, expected(["a", "b", "c"]), rtol=1e-9)
    r.remove_model("b")  # the pool's best can change: the rule is re-applied
    np.testing.assert_allclose(r.cluster_error_, expected(["a", "c"]), rtol=1e-9)
    other = type(r).from_bytes(r.to_bytes())
    assert (other.probe_temperature_, other.safe_level_) == (2.0, 2.0)
    np.testing.assert_array_equal(other.cluster_error_, r.cluster_error_)
    np.testing.assert_array_equal(other.route(P, lam=0.0), r.route(P, lam=0.0))


def test_defaults_write_no_probe_settings_and_auto_k_stays_a_parameter(rng):
    X, Y = two_topic_data(rng, n=300)
    r = UniRouter(3, random_state=0).fit(X)
    r.add_model("a", 1.0, X[:50], Y[:50, 0])
    assert "probe_settings" not in r._archive()[1]  # earlier versions' files, unchanged
    assert r.n_clusters_ == 3 and (r.probe_temperature_, r.safe_level_) == (None, None)
    with pytest.raises(ValueError, match="no labels to resolve 'auto'"):
        UniRouter(3, shrinkage="auto").fit(X)
