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
