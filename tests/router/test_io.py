"""The router file format: round trip, and clear errors for damaged or foreign files."""
from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest
from uniroute import RouterFileError, UniRouter
from uniroute.io import read_archive, write_archive


def rewrite(src, dst, edit):
    """Copy a router file member by member, letting edit(name, bytes) change members."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = edit(info.filename, zin.read(info.filename))
            if data is not None:
                zout.writestr(info.filename, data)


def test_file_is_a_plain_npz(saved):
    with np.load(saved, allow_pickle=False) as z:
        assert set(z.files) == {"centroids", "cost", "cluster_error", "error_sum", "probe_count",
                                "metadata.json"}
        assert z["centroids"].shape == (3, 5)
    with zipfile.ZipFile(saved) as zf:
        meta = json.loads(zf.read("metadata.json"))
    assert meta["format"] == "uniroute.router" and meta["format_version"] == 1
    assert meta["models"] == ["a", "b"] and meta["embedding_dim"] == 5
    assert meta["checksum"]["algorithm"] == "sha256"


def test_truncated_file(saved, tmp_path):
    raw = saved.read_bytes()
    for n in [0, 10, len(raw) // 2, len(raw) - 30]:
        bad = tmp_path / f"t{n}.npz"
        bad.write_bytes(raw[:n])
        with pytest.raises(RouterFileError):
            UniRouter.load(bad)


def test_flipped_bytes_never_load_silently(saved, tmp_path):
    raw = bytearray(saved.read_bytes())
    rng = np.random.default_rng(0)
    for i, pos in enumerate(rng.integers(0, len(raw), 40)):
        damaged = bytearray(raw)
        damaged[pos] ^= 0xFF
        bad = tmp_path / f"f{i}.npz"
        bad.write_bytes(bytes(damaged))
        try:
            UniRouter.load(bad)
        except RouterFileError:
            continue
        # A flip in bytes the format does not read (zip padding) may still load: then the
        # router must be intact, array for array, and route as the original does.
        got, ref = UniRouter.load(bad), UniRouter.load(saved)
        assert got.models == ref.models and got.shrinkage == ref.shrinkage
        for field in ("costs", "centroids_", "cluster_error_", "probe_count_"):
            np.testing.assert_array_equal(getattr(got, field), getattr(ref, field))
        for key in ("error_sum", "cost_sum", "cost_count"):
            np.testing.assert_array_equal(getattr(got._state, key), getattr(ref._state, key))
        X = np.random.default_rng(i).standard_normal((50, ref.embedding_dim))
        np.testing.assert_array_equal(got.route(X, 0.3), ref.route(X, 0.3))


def test_altered_array_fails_checksum(saved, tmp_path):
    bad = tmp_path / "alt.npz"

    def edit(name, data):
        if name == "cost.npy":
            arr = np.load(io.BytesIO(data))
            arr[0] = 0.5
            buf = io.BytesIO()
            np.save(buf, arr)
            return buf.getvalue()
        return data

    rewrite(saved, bad, edit)
    with pytest.raises(RouterFileError, match="checksum mismatch"):
        UniRouter.load(bad)


@pytest.mark.parametrize("change, match", [
    ({"format_version": 99}, "format version 99"),
    ({"format": "other"}, "not a uniroute router file"),
    ({"kind": "LearnedMapRouter"}, "expected a 'UniRouter'"),
])
def test_foreign_metadata(saved, tmp_path, change, match):
    bad = tmp_path / "m.npz"

    def edit(name, data):
        if name == "metadata.json":
            meta = json.loads(data)
            meta.update(change)
            return json.dumps(meta)
        return data

    rewrite(saved, bad, edit)
    with pytest.raises(RouterFileError, match=match):
        UniRouter.load(bad)


def test_absurd_sizes_and_extra_members_are_refused(saved, tmp_path):
    bad = tmp_path / "big.npz"

    def edit(name, data):
        if name == "metadata.json":
            meta = json.loads(data)
            meta["arrays"]["centroids"]["shape"] = [10**12, 5]
            return json.dumps(meta)
        return data

    rewrite(saved, bad, edit)
    with pytest.raises(RouterFileError, match="more than max_bytes"):
        UniRouter.load(bad)
    extra = tmp_path / "extra.npz"
    rewrite(saved, extra, lambda n, d: d)
    with zipfile.ZipFile(extra, "a") as zf:
        zf.writestr("evil.pkl", b"cos\nsystem\n(S'echo hi'\ntR.")
    with pytest.raises(RouterFileError, match="do not match the metadata"):
        UniRouter.load(extra)


def test_pickle_and_garbage_are_refused(tmp_path):
    import pickle

    p = tmp_path / "p.npz"
    p.write_bytes(pickle.dumps({"centroids": np.zeros(3)}))
    with pytest.raises(RouterFileError, match="not a readable uniroute router file"):
        UniRouter.load(p)
    q = tmp_path / "q.npz"
    np.savez(q, centroids=np.zeros((2, 2)))
    with pytest.raises(RouterFileError, match="no metadata.json"):
        UniRouter.load(q)
    with pytest.raises(FileNotFoundError):
        UniRouter.load(tmp_path / "missing.npz")


def test_object_dtype_member_is_refused(saved, tmp_path):
    bad = tmp_path / "o.npz"

    def edit(name, data):
        if name == "cost.npy":
            buf = io.BytesIO()
            np.save(buf, np.array([1.0, "x"], dtype=object), allow_pickle=True)
            return buf.getvalue()
        return data

    rewrite(saved, bad, edit)
    with pytest.raises(RouterFileError, match="unreadable"):
        UniRouter.load(bad)


def test_write_archive_refuses_object_arrays(tmp_path):
    with pytest.raises(TypeError, match="not storable"):
        write_archive(tmp_path / "x", "K", {"a": np.array(["s"], dtype=object)}, {})


def test_generic_archive_round_trip(tmp_path):
    arrays = {"a": np.arange(6, dtype=np.int64).reshape(2, 3), "b": np.ones(0, np.float32)}
    write_archive(tmp_path / "g", "Thing", arrays, {"x": 1})
    got, meta = read_archive(tmp_path / "g", "Thing")
    np.testing.assert_array_equal(got["a"], arrays["a"])
    assert got["b"].shape == (0,) and meta["x"] == 1
