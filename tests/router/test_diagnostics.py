from __future__ import annotations

import numpy as np
import pytest

from uniroute.diagnostics import heterogeneity, knn_error


def test_knn_error_hand_case():
    X = np.array([[1.0, 0.0], [0.99, 0.1], [0.0, 1.0], [0.1, 0.99]])
    correct = np.array([[1.0], [0.0], [1.0], [np.nan]])
    out = knn_error(X, correct, n_neighbors=2)
    np.testing.assert_allclose(out[:, 0], [0.5, 0.5, 0.0, 0.0])


def test_heterogeneity_is_zero_for_homogeneous_clusters_and_falls_with_k(rng):
    # Two topics; the LLM errs on topic 1 only.
    topic = rng.integers(0, 2, 400)
    X = np.eye(2)[topic] + 0.01 * rng.standard_normal((400, 2))
    correct = (topic == 0).astype(float)[:, None]
    assert heterogeneity(X, correct, topic, 2, n_neighbors=10) == pytest.approx(0.0, abs=1e-9)
    one = heterogeneity(X, correct, np.zeros(400, dtype=int), 1, n_neighbors=10)
    # one cluster: smoothed errors are exactly 0 (topic 0) and 1 (topic 1), the cluster
    # mean is p = P(topic 1), the gaps p and 1 - p: the mean gap is 2 p (1 - p)
    p = float(np.mean(topic == 1))
    assert one == pytest.approx(2 * p * (1 - p), rel=1e-12)
    assert heterogeneity(X, correct, topic, 2, n_neighbors=10) < one
