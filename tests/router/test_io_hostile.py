"""Hostile router files: every case is a clear RouterFileError, never code execution,
never unbounded memory. The cases are listed in SECURITY.md."""
from __future__ import annotations

import io
import json
import stat
import zipfile

import numpy as np
import pytest

from uniroute import RouterFileError, UniRouter
from uniroute.io import _checksum


def members(path):
    with zipfile.ZipFile(path) as zf:
        return {i.filename: zf.read(i.filename) for i in zf.infolist()}


def npy(arr) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=True)
    return buf.getvalue()


def forge(path, meta_edit=None, arrays=None, extra=None, resign=True):
    """Write a router file from the saved one with edited metadata/arrays, re-signed so
    that only the edit (not the checksum) can be what load refuses."""
    files = members(path)
    meta = json.loads(files.pop("metadata.json"))
    arrs = {k[:-4]: np.load(io.BytesIO(v), allow_pickle=False) for k, v in files.items()}
    arrs.update(arrays or {})
    meta["arrays"] = {k: {"dtype": v.dtype.str, "shape": list(v.shape)} for k, v in arrs.items()}
    if meta_edit:
        meta_edit(meta)
    if resign:
        meta["checksum"]["value"] = _checksum(meta, arrs)
    out = path.with_name("forged.npz")
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("metadata.json", json.dumps(meta))
        for k, v in arrs.items():
            zf.writestr(f"{k}.npy", npy(v))
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return out


CASES = {
    "wrong version": (lambda m: m.update(format_version=2), None, "format version 2"),
    "version as string": (lambda m: m.update(format_version="1"), None, "format version '1'"),
    "control character in a model name": (lambda m: m["models"].__setitem__(0, "a\x1b[31m"), None,
                                          "control"),
    "duplicate model names": (lambda m: m["models"].__setitem__(1, "a"), None, "duplicate"),
    "models not a list": (lambda m: m.update(models="ab"), None, "bad metadata"),
    "10^12 clusters claimed": (lambda m: m["arrays"]["centroids"].update(shape=[10**12, 5]), None,
                               "max_bytes"),
    "negative shape": (lambda m: m["arrays"]["cost"].update(shape=[-2]), None, "bad array description"),
    "object dtype declared": (lambda m: m["arrays"]["cost"].update(dtype="|O"), None,
                              "bad array description"),
    "cost of the wrong shape": (None, {"cost": np.ones(3)}, "must have shape"),
    "centroids of the wrong dtype": (None, {"centroids": np.ones((3, 5), np.int64)}, "dtype"),
    "NaN in cluster_error": (None, {"cluster_error": np.full((2, 3), np.nan)}, "NaN"),
    "negative cost": (None, {"cost": np.array([-1.0, 1.0])}, "inconsistent"),
    "missing hyperparameters": (lambda m: m.pop("hyperparameters"), None, "bad metadata"),
    "another kind": (lambda m: m.update(kind="LearnedMapRouter"), None, "expected a 'UniRouter'"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_forged_metadata_and_arrays_are_refused(saved, case):
    edit, arrays, match = CASES[case]
    with pytest.raises(RouterFileError, match=match):
        UniRouter.load(forge(saved, edit, arrays))


def test_unsigned_edit_fails_checksum(saved):
    bad = forge(saved, lambda m: m["models"].__setitem__(0, "renamed"), resign=False)
    with pytest.raises(RouterFileError, match="checksum mismatch"):
        UniRouter.load(bad)


def test_pickle_disguised_as_an_array_member(saved):
    evil = np.array([{"os.system": "echo pwned"}], dtype=object)
    bad = forge(saved, extra=None)
    files = members(bad)
    files["cost.npy"] = npy(evil)
    with zipfile.ZipFile(bad, "w") as zf:
        for k, v in files.items():
            zf.writestr(k, v)
    with pytest.raises(RouterFileError):
        UniRouter.load(bad)


@pytest.mark.parametrize("name", ["../escape.npy", "sub/dir.npy", "evil.pkl"])
def test_extra_or_path_members_are_refused(saved, name):
    with pytest.raises(RouterFileError):
        UniRouter.load(forge(saved, extra={name: b"\x80\x04K\x01."}))


def test_symlink_member_is_refused(saved):
    files = members(saved)
    bad = saved.with_name("link.npz")
    with zipfile.ZipFile(bad, "w") as zf:
        for k, v in files.items():
            info = zipfile.ZipInfo(k)
            if k == "cost.npy":
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
                v = b"/etc/passwd"
            zf.writestr(info, v)
    with pytest.raises(RouterFileError, match="not a plain file"):
        UniRouter.load(bad)


def test_zip_bomb_member_reads_bounded_bytes(saved):
    # The header declares the real small shape, but the member inflates to 200 MB.
    files = members(saved)
    bad = saved.with_name("bomb.npz")
    with zipfile.ZipFile(bad, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for k, v in files.items():
            zf.writestr(k, v + (b"\0" * 200_000_000 if k == "cost.npy" else b""))
    with pytest.raises(RouterFileError, match="truncated or padded"):
        UniRouter.load(bad)


def test_metadata_bombs(saved):
    deep = "[" * 100_000 + "]" * 100_000
    for payload in [deep, "\xff\xfe not utf-8", "null", "[]", '{"format": "uniroute.router"}']:
        files = members(saved)
        files["metadata.json"] = payload.encode("latin-1")
        bad = saved.with_name("meta.npz")
        with zipfile.ZipFile(bad, "w") as zf:
            for k, v in files.items():
                zf.writestr(k, v)
        with pytest.raises(RouterFileError):
            UniRouter.load(bad)


def test_max_bytes_is_enforced(saved):
    with pytest.raises(RouterFileError, match="max_bytes=10"):
        UniRouter.load(saved, max_bytes=10)


def test_crash_during_save_keeps_the_old_file(saved, monkeypatch, rng):
    before = saved.read_bytes()
    r = UniRouter.load(saved)
    r.remove_model("a")

    def boom(*args, **kwargs):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(np.lib.format, "write_array", boom)
    with pytest.raises(OSError, match="disk full"):
        r.save(saved)
    assert saved.read_bytes() == before
    assert sorted(p.name for p in saved.parent.iterdir()) == ["r.npz"]
    assert UniRouter.load(saved).models == ["a", "b"]
