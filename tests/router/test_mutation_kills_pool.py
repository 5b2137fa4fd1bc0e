"""Tests written for mutants of ``_pool.py`` that the suite let survive (docs/testing.md):
the snapshot's documented version, token and sharing rules, the read-only cached masks
and the bound of the mask cache, checked by value on hand-made snapshots."""
from __future__ import annotations

import numpy as np
import pytest

from uniroute import _core
from uniroute._pool import _MASK_CACHE_SIZE, PoolSnapshot


def snapshot() -> PoolSnapshot:
    centroids = np.array([[0.0, 0.0], [10.0, 0.0]], np.float32)
    s = PoolSnapshot(centroids)
    for name, cost in (("a", 1.0), ("b", 2.0), ("c", 0.5)):
        s = s.with_model(name, cost, cluster_error=np.array([0.1, 0.2]))
    return s


def test_version_grows_by_one_with_every_change():
    s = PoolSnapshot(np.zeros((2, 2), np.float32))
    assert s.version == 0
    s1 = s.with_model("a", 1.0)
    s2 = s1.with_model("b", 2.0)
    s3 = s2.with_row(0, cost=3.0)
    s4 = s3.without_model(1)
    assert [x.version for x in (s1, s2, s3, s4)] == [1, 2, 3, 4]
    assert s4.names == ("a",) and s4.cost.tolist() == [3.0]


def test_clusters_token_is_kept_by_pool_changes_and_renewed_by_new_clusters_or_map():
    s = snapshot()
    assert s.with_row(0, cost=9.0).clusters_token == s.clusters_token
    assert s.without_model(0).clusters_token == s.clusters_token
    moved = s._evolve(centroids=np.array([[5.0, 5.0], [-5.0, 0.0]], np.float32))
    mapped = s._evolve(map_weight=np.ones((2, 2), np.float32),
                       map_bias=np.zeros(2, np.float32))
    assert len({s.clusters_token, moved.clusters_token, mapped.clusters_token}) == 3


def test_the_compiled_index_is_shared_only_while_the_centroids_stay():
    s = snapshot()
    X = np.array([[1.0, 0.0], [6.0, 0.0]], np.float32)
    np.testing.assert_array_equal(s.compiled_index().assign(X)[0], [0, 1])
    assert s.with_row(1, cost=0.1).compiled_index() is s.compiled_index()
    assert s.with_model("d", 1.0).compiled_index() is s.compiled_index()
    moved = s._evolve(centroids=np.array([[6.0, 0.0], [0.0, 0.0]], np.float32))
    assert moved.compiled_index() is not s.compiled_index()
    # the new centroids decide, as a brute-force nearest centroid does
    np.testing.assert_array_equal(moved.compiled_index().assign(X)[0],
                                  _core.assign(X, moved.centroids)[0])
    np.testing.assert_array_equal(moved.compiled_index().assign(X)[0], [1, 0])


def test_masks_of_names_are_read_only_and_right():
    s = snapshot()
    mask = s.mask_of(["c", "a"])
    assert mask.tolist() == [True, False, True]
    with pytest.raises(ValueError):
        mask[1] = True
    assert s.mask_of(("a", "c")).tolist() == [True, False, True]
    assert s.mask_of("b").tolist() == [False, True, False]


def test_the_mask_cache_holds_at_most_its_size_then_starts_again():
    names = tuple(f"m{i}" for i in range(7))
    s = PoolSnapshot(np.zeros((1, 2), np.float32))
    for n in names:
        s = s.with_model(n, 1.0)
    subsets = [tuple(n for j, n in enumerate(names) if (i >> j) & 1) for i in range(1, 2**7)]
    for i, sub in enumerate(subsets[:_MASK_CACHE_SIZE]):
        assert s.mask_of(list(sub)).tolist() == [n in sub for n in names]
        assert len(s._cache["masks"]) == i + 1
    s.mask_of(list(subsets[_MASK_CACHE_SIZE]))  # one more: the cache starts again
    assert len(s._cache["masks"]) == 1
    assert _MASK_CACHE_SIZE == 64
