"""Live pool changes (update_model, observe, threads) and pickling by value."""
from __future__ import annotations

import copy
import pickle
import pickletools
import threading
import time

import numpy as np
import pytest
from uniroute import RouterFileError, UniRouter
from uniroute.features import probe_statistics, shrunk_cluster_error

from tests._production import small_router


def test_update_model_cost_keeps_place_and_statistics(rng):
    r, X = small_router(rng)
    before = r.cluster_error_
    r.update_model("m2", cost=0.0)
    assert r.models[2] == "m2" and r.costs[2] == 0.0
    np.testing.assert_array_equal(r.cluster_error_, before)
    assert set(r.route(X, lam=1e6)) <= {"m2"} | {m for m, c in zip(r.models, r.costs) if c == 0}


def test_update_model_probes_equals_a_fresh_add(rng):
    r, X = small_router(rng)
    probes, correct = X[:200], (rng.random(200) < 0.3).astype(float)
    r.update_model("m1", 7.0, probes, correct)
    ref = small_router(np.random.default_rng(0))[0]
    ref._state = r._state.without_model(1)
    ref.add_model("m1", 7.0, probes, correct)
    i = r.models.index("m1")
    np.testing.assert_array_equal(r.cluster_error_[i], ref.cluster_error_[-1])
    np.testing.assert_array_equal(r.probe_count_[i], ref.probe_count_[-1])
    assert r.costs[i] == 7.0 and r.models.index("m1") == 1
    with pytest.raises(ValueError, match="together"):
        r.update_model("m1", embeddings=probes)
    with pytest.raises(KeyError, match="unknown model"):
        r.update_model("nope", cost=1.0)


def test_observe_folds_feedback_incrementally(rng):
    r, X = small_router(rng)
    probes, correct = X[300:], (rng.random(300) < 0.5).astype(float)
    r.add_model("new", 1.0, probes[:100], correct[:100])
    r.observe("new", probes[100:250], correct[100:250])
    r.observe("new", probes[250:], np.where(np.arange(50) % 2, correct[250:], np.nan))
    keep = np.concatenate([correct[:250], np.where(np.arange(50) % 2, correct[250:], np.nan)])
    err, cnt = probe_statistics(r.assign(probes), keep, r.n_clusters)
    i = r.models.index("new")
    np.testing.assert_allclose(r.probe_count_[i], cnt)
    np.testing.assert_allclose(r.cluster_error_[i], shrunk_cluster_error(err, cnt, r.shrinkage))
    before = r.cluster_error_
    r.observe("new", probes[:3], np.full(3, np.nan))  # unlabelled feedback changes nothing
    np.testing.assert_array_equal(r.cluster_error_, before)
    with pytest.raises(KeyError):
        r.observe("nope", probes[:3], correct[:3])


def test_pickle_is_by_value_through_the_file_format(rng, tmp_path):
    r, X = small_router(rng, encoder="toy-encoder")
    blob = pickle.dumps(r)
    ops = {op.name for op, _, _ in pickletools.genops(blob)}
    assert "BUILD" not in ops  # no attribute state is pickled, only the router file bytes
    assert r.to_bytes() in blob
    r2 = pickle.loads(blob)
    assert r2.models == r.models and r2.encoder_name == "toy-encoder"
    for lam in (0.0, 0.1, 2.0):
        np.testing.assert_array_equal(r2.route(X, lam), r.route(X, lam))
    np.testing.assert_array_equal(copy.deepcopy(r).route(X), r.route(X))
    r.save(tmp_path / "r.uniroute")
    assert (tmp_path / "r.uniroute").read_bytes() == r.to_bytes()
    unfitted = pickle.loads(pickle.dumps(UniRouter(5, encoder="e", shrinkage=2.0)))
    assert unfitted.n_clusters == 5 and unfitted.shrinkage == 2.0 and unfitted.encoder_name == "e"


def test_from_bytes_refuses_altered_bytes(rng):
    r, _ = small_router(rng)
    data = bytearray(r.to_bytes())
    data[len(data) // 2] ^= 0xFF
    with pytest.raises(RouterFileError):
        UniRouter.from_bytes(bytes(data))
    with pytest.raises(RouterFileError):
        UniRouter.from_bytes(b"not a router")


def test_threads_route_while_the_pool_changes(rng):
    """8 threads route 10,000 prompts each while a writer adds/removes models 1,000 times.

    Every call returns exactly the decision of one pool that existed during the call
    (so every name was in the pool then, and a batch never mixes two pools).
    """
    r, X = small_router(rng, M=3, K=6)
    probes = X[300:]
    X = X[:300]
    base = frozenset(r.models)
    version = [0]  # number of changes made (the writer bumps it after each swap)
    errors: list[BaseException] = []
    saw_tmp = [0]
    start = threading.Barrier(9)
    writer_done = threading.Event()

    base_route = r.route(X[:300], 0.0)

    def expected(c, rows):
        return np.full(rows.size, f"tmp{(c - 1) // 2}") if c % 2 else base_route[rows]

    def pool_after(c):  # change 2i+1 adds tmp{i}, change 2i+2 removes it
        return base | {f"tmp{(c - 1) // 2}"} if c % 2 else base

    def changed():
        assert frozenset(r.models) == pool_after(version[0] + 1)
        version[0] += 1

    def writer():
        start.wait()
        try:
            for i in range(500):
                # a perfect, free model: chosen by every prompt while it is in the pool
                r.add_model(f"tmp{i}", 0.0, probes, np.ones(probes.shape[0]))
                changed()
                time.sleep(2e-4)  # let readers see this pool
                r.remove_model(f"tmp{i}")
                changed()
                time.sleep(2e-4)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        writer_done.set()

    def reader(seed):
        local = np.random.default_rng(seed)
        start.wait()
        try:
            done = 0
            while done < 10_000:
                batch = 1 if done % 500 else 50
                rows = local.integers(0, X.shape[0], batch)
                v0 = version[0]
                out = r.route(X[rows] if batch > 1 else X[rows[0]], 0.0)
                v1 = version[0]
                out = np.atleast_1d(out)
                # the decision of one pool that existed during the call (the change after
                # v1 may already be swapped in, not yet counted), never a mix of two
                assert any(np.array_equal(out, expected(c, rows))
                           for c in range(v0, v1 + 2)), (out, v0, v1)
                saw_tmp[0] += out[0].startswith("tmp")
                done += batch
        except BaseException as exc:  # noqa: BLE001 - collected, re-raised below
            errors.append(exc)

    threads = [threading.Thread(target=reader, args=(s,)) for s in range(8)]
    threads.append(threading.Thread(target=writer))
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors[:3]
    assert writer_done.is_set() and version[0] == 1000
    assert saw_tmp[0] > 0  # the readers did run while the pool changed
    assert r.models == ["m0", "m1", "m2"]
