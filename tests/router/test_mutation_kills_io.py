"""Tests written for mutants of ``io.py`` that the suite let survive (docs/testing.md):
members missing from a file, format tags and array names that are not ours, a -1 in a
declared shape, npy members of format 2.0, and a failing temporary file on save."""
from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest

from uniroute import RouterFileError, UniRouter
from uniroute.io import archive_bytes, read_archive

from tests.router.test_io_hostile import forge, members


def test_a_file_missing_a_member_is_refused(saved, tmp_path):
    files = members(saved)
    files.pop("cost.npy")
    out = tmp_path / "missing.npz"
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    with pytest.raises(RouterFileError, match="do not match the metadata"):
        UniRouter.load(out)


@pytest.mark.parametrize("tag", ["uniroute.routes", "zzz", "a"])
def test_another_format_tag_is_refused_whichever_way_it_sorts(saved, tag):
    with pytest.raises(RouterFileError, match="format tag missing"):
        UniRouter.load(forge(saved, lambda m: m.update(format=tag)))


def test_an_array_name_that_is_not_an_identifier_is_refused():
    data = archive_bytes("UniRouter", {"a-b": np.zeros(2)}, {})
    with pytest.raises(RouterFileError, match="bad array description for 'a-b'"):
        read_archive(data, "UniRouter")
    arrays, meta = read_archive(archive_bytes("UniRouter", {"a_b": np.arange(3.0)}, {}),
                                "UniRouter")
    np.testing.assert_array_equal(arrays["a_b"], [0.0, 1.0, 2.0])


def test_a_declared_shape_of_minus_one_is_refused(saved):
    with pytest.raises(RouterFileError, match="bad array description"):
        UniRouter.load(forge(saved, lambda m: m["arrays"]["cost"].update(shape=[-1])))


def test_npy_members_of_format_2_load(saved, tmp_path):
    files = members(saved)
    out = tmp_path / "v2.npz"
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in files.items():
            if name.endswith(".npy"):
                buf = io.BytesIO()
                np.lib.format.write_array(buf, np.load(io.BytesIO(data)), version=(2, 0))
                data = buf.getvalue()
                assert np.lib.format.read_magic(io.BytesIO(data)) == (2, 0)
            zf.writestr(name, data)
    a, b = UniRouter.load(saved), UniRouter.load(out)
    assert b.models == a.models
    np.testing.assert_array_equal(b.cluster_error_, a.cluster_error_)
    assert json.loads(files["metadata.json"])["format"] == "uniroute.router"


def test_a_failing_temporary_file_names_the_target(saved, tmp_path, monkeypatch):
    import tempfile

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tempfile, "mkstemp", full)
    target = tmp_path / "r.npz"
    with pytest.raises(OSError, match=f"cannot save the router to {target}: No space left"):
        UniRouter.load(saved).save(target)


def test_max_bytes_defaults_to_the_documented_one_gib():
    import inspect

    from uniroute import io as uio

    assert uio.DEFAULT_MAX_BYTES == 2**30  # SECURITY.md: "default 1 GiB"
    for f in (UniRouter.load, UniRouter.from_bytes, read_archive):
        assert inspect.signature(f).parameters["max_bytes"].default == 2**30


def test_metadata_that_is_not_utf8_is_unreadable(saved, tmp_path):
    files = members(saved)
    out = tmp_path / "latin.npz"
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, b'{"format": "\xff"}' if name == "metadata.json" else data)
    with pytest.raises(RouterFileError, match="unreadable metadata.json"):
        UniRouter.load(out)


def test_an_npy_member_of_version_0_is_refused(saved, tmp_path):
    files = members(saved)
    out = tmp_path / "v0.npz"
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in files.items():
            if name == "cost.npy":
                data = data[:6] + b"\x00" + data[7:]  # magic version (0, 0), same header
            zf.writestr(name, data)
    with pytest.raises(RouterFileError, match="unsupported npy version"):
        UniRouter.load(out)


def test_metadata_keys_in_another_order_still_verify(saved, tmp_path):
    files = members(saved)
    meta = json.loads(files["metadata.json"])
    files["metadata.json"] = json.dumps(dict(reversed(list(meta.items())))).encode()
    out = tmp_path / "reordered.npz"
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    assert UniRouter.load(out).models == UniRouter.load(saved).models


def test_arrays_larger_than_256_bytes_round_trip(rng):
    X = rng.standard_normal((200, 16)).astype(np.float32)
    r = UniRouter(n_clusters=12, random_state=0).fit(X)  # centroids: 768 bytes
    r.add_model("a", 1.0, X, (np.arange(200) % 3 == 0).astype(float))
    loaded = UniRouter.from_bytes(r.to_bytes())
    np.testing.assert_array_equal(loaded.centroids_, r.centroids_)
    np.testing.assert_array_equal(loaded.route(X), r.route(X))


def rewrite(saved, out, metadata: bytes, deflate: bool = False):
    files = members(saved)
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in files.items():
            if name == "metadata.json":
                data = metadata
            zf.writestr(name, data,
                        compress_type=zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED)
    return out


def test_metadata_is_capped_at_exactly_16_mib(saved, tmp_path):
    cap = 16 * 2**20  # SECURITY.md: "The metadata member is capped at 16 MiB"
    body = members(saved)["metadata.json"]
    padded = b" " * (cap - len(body)) + body  # exactly the cap, the JSON at the end
    assert len(padded) == cap
    ok = UniRouter.load(rewrite(saved, tmp_path / "cap.npz", padded, deflate=True))
    assert ok.models == UniRouter.load(saved).models
    with pytest.raises(RouterFileError, match="metadata.json is larger than 16777216"):
        UniRouter.load(rewrite(saved, tmp_path / "over.npz", b" " + padded, deflate=True))


def test_max_bytes_equal_to_the_arrays_total_is_enough(saved):
    arrays, _ = read_archive(str(saved), "UniRouter")
    total = sum(a.nbytes for a in arrays.values())
    assert UniRouter.load(saved, max_bytes=total).models == ["a", "b"]
    with pytest.raises(RouterFileError, match="more than max_bytes"):
        UniRouter.load(saved, max_bytes=total - 1)


def test_an_npy_header_shape_other_than_the_metadata_is_refused(saved, tmp_path):
    from uniroute.io import _checksum

    files = members(saved)
    meta = json.loads(files["metadata.json"])
    arrs = {k[:-4]: np.load(io.BytesIO(v)) for k, v in files.items() if k.endswith(".npy")}
    arrs["extra"] = np.arange(6.0).reshape(3, 2)  # signed as (3, 2) ...
    meta["arrays"]["extra"] = {"dtype": "<f8", "shape": [3, 2]}
    meta["checksum"]["value"] = _checksum(meta, arrs)
    out = tmp_path / "transposed.npz"
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("metadata.json", json.dumps(meta))
        for k, v in arrs.items():
            buf = io.BytesIO()
            np.save(buf, v.reshape(2, 3) if k == "extra" else v)  # ... stored as (2, 3)
            zf.writestr(f"{k}.npy", buf.getvalue())
    with pytest.raises(RouterFileError, match="header says"):
        read_archive(str(out), "UniRouter")


@pytest.mark.parametrize("value", ["0" * 64, "f" * 64])
def test_a_wrong_checksum_is_refused_whichever_way_it_sorts(saved, value):
    def edit(m):
        m["checksum"]["value"] = value

    with pytest.raises(RouterFileError, match="checksum mismatch"):
        UniRouter.load(forge(saved, edit, resign=False))


def test_a_file_of_another_kind_is_refused_whichever_way_the_kinds_sort(saved):
    from uniroute import LearnedMapRouter

    with pytest.raises(RouterFileError, match="holds a 'UniRouter', expected a "
                                              "'LearnedMapRouter'"):
        LearnedMapRouter.load(saved)
    with pytest.raises(RouterFileError, match="holds a 'LearnedMapRouter', expected a "
                                              "'UniRouter'"):
        read_archive(archive_bytes("LearnedMapRouter", {"a": np.zeros(1)}, {}), "UniRouter")


@pytest.mark.parametrize("member", ["sub/x.npy", "sub\\x.npy"])
def test_a_member_in_a_folder_either_separator_is_refused(saved, member):
    with pytest.raises(RouterFileError, match="is not a plain file"):
        UniRouter.load(forge(saved, extra={member: b"x"}))


def test_duplicate_members_and_npy_version_3_are_refused(saved, tmp_path):
    files = members(saved)
    dup = tmp_path / "dup.npz"
    with zipfile.ZipFile(dup, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
        with pytest.warns(UserWarning, match="Duplicate name"):
            zf.writestr("cost.npy", files["cost.npy"])
    with pytest.raises(RouterFileError, match="duplicate archive members"):
        UniRouter.load(dup)
    v3 = tmp_path / "v3.npz"
    with zipfile.ZipFile(v3, "w") as zf:
        for name, data in files.items():
            if name == "cost.npy":
                buf = io.BytesIO()
                np.lib.format.write_array(buf, np.load(io.BytesIO(data)), version=(2, 0))
                data = buf.getvalue()
                data = data[:6] + b"\x03" + data[7:]  # a v2 header under version (3, 0)
            zf.writestr(name, data)
    with pytest.raises(RouterFileError, match="unsupported npy version"):
        UniRouter.load(v3)
