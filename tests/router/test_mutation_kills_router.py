"""Tests written for mutants of ``router.py`` that the suite let survive (docs/testing.md).

Each checks a value against an independent reference: the documented defaults, the
lam-path recomputed with numpy from ``cluster_error_`` and ``costs``, the errors of
``fit`` with "auto" and partial labels.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from uniroute import UniRouter


@pytest.fixture
def topics(rng):
    """Prompts in 3 well separated topics and the answers of three models on probes."""
    centers = np.array([[8.0, 0, 0, 0], [0, 8.0, 0, 0], [0, 0, 8.0, 0]])

    def prompts(n):
        t = np.arange(n) % 3
        return (centers[t] + rng.standard_normal((n, 4))).astype(np.float32), t

    train, _ = prompts(300)
    probes, t = prompts(120)
    correct = {"big": np.ones(120), "expert": (t == 0).astype(float),
               "tiny": (t == 2).astype(float)}
    return prompts, train, probes, correct


def test_defaults_are_the_documented_ones(topics):
    assert UniRouter().get_params() == {
        "n_clusters": 8, "random_state": None, "encoder": None, "shrinkage": 1.0,
        "n_init": 3, "max_iter": 100, "tol": 1e-4, "probe_temperature": None,
        "safe_level": None}
    _, train, _, _ = topics
    assert UniRouter(random_state=0).fit(train).n_clusters_ == 8


def test_fit_takes_its_arrays_by_keyword_and_cost_only_by_keyword(topics):
    _, train, probes, correct = topics
    r = UniRouter(n_clusters=3, random_state=0).fit(train_embeddings=train)
    assert r.n_clusters_ == 3
    with pytest.raises(TypeError):
        UniRouter(n_clusters=3).fit(train, None, None, None, np.ones(2))


def test_route_path_segments_tile_lam_and_match_a_numpy_argmin(topics):
    _, train, probes, correct = topics
    r = UniRouter(n_clusters=3, random_state=0).fit(train)
    r.add_model("big", 10.0, probes, correct["big"])
    r.add_model("expert", 1.0, probes, correct["expert"])
    r.add_model("tiny", 0.1, probes, correct["tiny"])
    path = r.route_path()
    with pytest.raises(dataclasses.FrozenInstanceError):
        path.model = np.zeros(1)  # type: ignore[misc]
    psi, cost = r.cluster_error_.astype(np.float64), r.costs.astype(np.float64)
    for k in range(3):
        seg = path.segments(k)
        assert seg, f"cluster {k} has no segment"
        assert seg[0][1] == 0.0 and seg[-1][2] == np.inf
        for (_, _, hi), (_, lo, _) in zip(seg[:-1], seg[1:]):
            assert hi == lo
        for m, lo, hi in seg:
            lam = (lo + hi) / 2 if np.isfinite(hi) else lo + 1.0
            score = psi[:, k] + lam * cost
            assert m == int(np.argmin(score))


@pytest.mark.parametrize("missing", ["train_correct", "val_embeddings", "val_correct"])
def test_auto_shrinkage_needs_all_three_label_arrays(topics, missing):
    _, train, probes, correct = topics
    labels = {"train_correct": np.stack([correct["big"], correct["expert"]], 1)[:120],
              "val_embeddings": probes, "val_correct": np.stack(
                  [correct["big"], correct["expert"]], 1)}
    r = UniRouter(n_clusters=3, random_state=0, shrinkage="auto")
    r.fit(train[:120], **labels)  # all three: "auto" is resolved
    assert r.shrinkage_ is not None and r.shrinkage_ >= 0
    labels[missing] = None
    with pytest.raises(ValueError, match="has no labels to resolve 'auto'"):
        UniRouter(n_clusters=3, random_state=0, shrinkage="auto").fit(train[:120], **labels)
