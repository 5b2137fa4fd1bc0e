"""Tests written for mutants of ``_pool.py`` that the suite let survive (docs/testing.md):
the snapshot's documented version, token and sharing rules, the read-only cached masks
and the bound of the mask cache, checked by value on hand-made snapshots."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from uniroute import UniRouter, _core
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


def test_a_snapshot_and_its_arrays_are_read_only():
    s = snapshot()
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.version = 7  # type: ignore[misc]
    for a in (s.centroids, s.cost, s.cluster_error, s.error_sum):
        with pytest.raises(ValueError):
            a.flat[0] = 1.0
    assert "_cache_lock" not in repr(s) and "_cache" not in repr(s)
    with pytest.raises(TypeError):
        s.with_row(0, 2.0)  # type: ignore[misc]  # the new price is keyword-only


def test_a_list_of_names_is_cached_and_a_non_iterable_goes_to_the_core():
    s = snapshot()
    assert s.mask_of(["a", "b"]) is s.mask_of(["a", "b"])
    assert s.mask_of(("a", "b")) is s.mask_of(["a", "b"])
    X = np.zeros((60, 2), np.float32)
    X[30:, 0] = 10.0
    r = UniRouter(n_clusters=2, random_state=0).fit(X)
    r.add_model("a", 1.0, X, np.ones(60))
    with pytest.raises(TypeError, match="allowed must be model names, or a bool mask"):
        r.route(X[:2], allowed=3)


def test_clusters_fingerprint_covers_the_centroids_and_the_map():
    s = snapshot()
    W, b = np.ones((2, 2), np.float32), np.zeros(2, np.float32)
    m1 = s._evolve(map_weight=W, map_bias=b)
    m2 = s._evolve(map_weight=2 * W, map_bias=b)
    m3 = s._evolve(map_weight=W, map_bias=b + 1)
    assert len({x.clusters_fingerprint() for x in (s, m1, m2, m3)}) == 4
    assert m1.with_row(0, cost=5.0).clusters_fingerprint() == m1.clusters_fingerprint()
    same = PoolSnapshot(s.centroids.copy(), map_weight=W.copy(), map_bias=b.copy())
    assert same.clusters_fingerprint() == m1.clusters_fingerprint()


def test_expected_cost_by_hand():
    s = PoolSnapshot(np.zeros((2, 2), np.float32))
    s = s.with_model("a", 2.0, cost_sum=np.array([3.0, 0.0]), cost_count=np.array([2.0, 0.0]))
    s = s.with_model("b", 1.0, cost_sum=np.array([0.5, 6.0]), cost_count=np.array([1.0, 3.0]))
    # (cost_sum + s * price) / (cost_count + s) where answers have costs, else the price
    np.testing.assert_allclose(s.expected_cost(1.0), [[(3 + 2) / 3, 2.0],
                                                      [(0.5 + 1) / 2, (6 + 1) / 4]], rtol=1e-15)
    np.testing.assert_allclose(s.expected_cost(0.5), [[(3 + 1) / 2.5, 2.0],
                                                      [(0.5 + 0.5) / 1.5, (6 + 0.5) / 3.5]],
                               rtol=1e-15)


def test_map_arrays_become_read_only_float32():
    s = PoolSnapshot(np.zeros((2, 3), np.float32), map_weight=np.ones((2, 3)),
                     map_bias=np.zeros(2))
    for a in (s.map_weight, s.map_bias):
        assert a.dtype == np.float32 and not a.flags.writeable


def test_per_prompt_masks_as_nested_lists_pass_through_after_names_were_cached():
    s = snapshot()
    s.mask_of(["a"])  # the names cache exists now
    rows = [[True, False, True], [False, True, False]]
    np.testing.assert_array_equal(s.mask_of(rows), np.array(rows))


def test_clusters_fingerprint_is_the_documented_digest():
    import hashlib

    s = snapshot()
    h = hashlib.sha256(s.centroids.tobytes())
    h.update(b"|")
    h.update(b"|")
    assert s.clusters_fingerprint() == h.hexdigest()[:32]
    W, b = np.ones((2, 2), np.float32), np.zeros(2, np.float32)
    h = hashlib.sha256(s.centroids.tobytes())
    h.update(W.tobytes())
    h.update(b.tobytes())
    assert s._evolve(map_weight=W, map_bias=b).clusters_fingerprint() == h.hexdigest()[:32]


def test_a_snapshot_copies_what_it_is_given():
    c = np.array([[0.0, 0.0], [10.0, 0.0]], np.float32)
    psi = np.array([[0.1, 0.2]])
    s = PoolSnapshot(c, names=("a",), cost=np.array([1.0]), cluster_error=psi)
    c[0, 0] = 5.0  # the caller's arrays stay theirs, writable
    psi[0, 0] = 0.9
    assert s.centroids[0, 0] == 0.0 and s.cluster_error[0, 0] == 0.1


def test_expected_cost_without_shrinkage_falls_back_to_the_price_where_nothing_was_seen():
    s = PoolSnapshot(np.zeros((2, 2), np.float32))
    s = s.with_model("a", 2.0, cost_sum=np.array([3.0, 0.0]), cost_count=np.array([2.0, 0.0]))
    np.testing.assert_array_equal(s.expected_cost(0.0), [[1.5, 2.0]])


def test_snapshots_are_identities_and_a_str_is_one_name():
    a, b = snapshot(), snapshot()
    assert a == a and a != b and a != a.with_row(0, cost=1.0)
    s = PoolSnapshot(np.zeros((1, 2), np.float32))
    for name in ("a", "b", "ab"):
        s = s.with_model(name, 1.0)
    assert s.mask_of(["a", "b"]).tolist() == [True, True, False]  # cached under ("a", "b")
    assert s.mask_of("ab").tolist() == [False, False, True]
