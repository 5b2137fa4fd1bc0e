"""The router file format: versioned, non-executable, checksummed, written atomically.

A router file is a zip archive (an ``.npz`` that ``numpy.load(..., allow_pickle=False)``
can open) holding:

- ``metadata.json``: UTF-8 JSON with ``format`` (``"uniroute.router"``),
  ``format_version``, ``kind`` (the router class), the router's fields (model names,
  hyperparameters, encoder identity and dimension), ``arrays`` (the dtype and shape of
  every array member) and ``checksum`` (SHA-256 over the metadata without the checksum
  and over every array's name, dtype, shape and bytes);
- one ``<name>.npy`` member per array, of a plain numeric dtype (never object).

Loading never unpickles, checks every member name, type and size against the metadata
before reading it, refuses links, unknown versions and sizes beyond ``max_bytes``, and
verifies the checksum. Saving writes a temporary file in the target directory, fsyncs
it and renames it over the target, so a crash never leaves a half-written router.
"""
from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import stat
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from uniroute.exceptions import RouterFileError

FORMAT_NAME = "uniroute.router"
FORMAT_VERSION = 1
METADATA_MEMBER = "metadata.json"
MAX_METADATA_BYTES = 16 * 2**20
DEFAULT_MAX_BYTES = 2**30
_ALLOWED_DTYPES = {"<f4", "<f8", "<i8", "<i4", "|u1"}

PathLike = str | os.PathLike[str]


def _checksum(metadata: dict[str, Any], arrays: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    body = {k: v for k, v in metadata.items() if k != "checksum"}
    h.update(json.dumps(body, sort_keys=True, ensure_ascii=True).encode())
    for name in sorted(arrays):
        arr = arrays[name]
        h.update(f"\0{name}\0{arr.dtype.str}\0{arr.shape}\0".encode())
        h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()


def _metadata(kind: str, arrays: dict[str, np.ndarray], fields: dict[str, Any]) -> dict[str, Any]:
    from uniroute import __version__

    for name, arr in arrays.items():
        if arr.dtype.str not in _ALLOWED_DTYPES:
            raise TypeError(f"array {name!r} has dtype {arr.dtype}, not storable")
    metadata: dict[str, Any] = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "kind": kind,
        "uniroute_version": __version__,
        **fields,
        "arrays": {k: {"dtype": v.dtype.str, "shape": list(v.shape)} for k, v in arrays.items()},
    }
    metadata["checksum"] = {"algorithm": "sha256", "value": _checksum(metadata, arrays)}
    return metadata


def _write_zip(fh: Any, kind: str, arrays: dict[str, np.ndarray],
               fields: dict[str, Any]) -> None:
    arrays = {k: np.ascontiguousarray(v) for k, v in arrays.items()}
    metadata = _metadata(kind, arrays, fields)
    with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr(METADATA_MEMBER, json.dumps(metadata, indent=1, ensure_ascii=True))
        for name, arr in arrays.items():
            with zf.open(f"{name}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, arr, allow_pickle=False)


def archive_bytes(kind: str, arrays: dict[str, np.ndarray], fields: dict[str, Any]) -> bytes:
    """The bytes of the router file that :func:`write_archive` would write."""
    buf = io.BytesIO()
    _write_zip(buf, kind, arrays, fields)
    return buf.getvalue()


def write_archive(path: PathLike, kind: str, arrays: dict[str, np.ndarray],
                  fields: dict[str, Any]) -> None:
    """Atomically write ``arrays`` and JSON ``fields`` as a router file at ``path``."""
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise IsADirectoryError(errno.EISDIR, "cannot save a router over a folder", str(target))
    if not folder.is_dir():
        raise FileNotFoundError(errno.ENOENT, f"cannot save the router to {target}: the folder "
                                f"{folder} does not exist", str(target))
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise type(exc)(exc.errno, f"cannot save the router to {target}: {exc.strerror}",
                        str(target)) from None
    try:
        if hasattr(os, "fchmod"):  # mkstemp makes 0600; a saved file follows the umask
            os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as fh:
            _write_zip(fh, kind, arrays, fields)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    try:  # make the rename itself durable
        dir_fd = os.open(target.parent or ".", os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass


def _umask() -> int:
    """The process's umask, read without changing it where the OS allows."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # elsewhere: set and restore (briefly process-wide)
    os.umask(mask)
    return mask


def read_archive(path: PathLike | bytes, kind: str,
                 max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read and verify a router file written by :func:`write_archive` (or its bytes).

    Raises
    ------
    RouterFileError
        The file is not a router file of ``kind``, is truncated or altered, has an
        unknown format version, or declares more than ``max_bytes`` of arrays.
    """
    if isinstance(path, (bytes, bytearray, memoryview)):
        where, source = "<router bytes>", io.BytesIO(path)
    else:
        where = os.fspath(path)
        source = where
    try:
        return _read_archive(source, where, kind, max_bytes)
    except RouterFileError:
        raise
    except FileNotFoundError:
        raise
    except MemoryError as exc:
        raise RouterFileError(f"{where}: too large to load") from exc
    except Exception as exc:  # zipfile and numpy raise many types on damaged input
        raise RouterFileError(
            f"{where} is not a readable uniroute router file: {type(exc).__name__}: {exc}"
        ) from exc


def _read_archive(source: Any, where: str, kind: str,
                  max_bytes: int) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    with zipfile.ZipFile(source, "r") as zf:
        infos = {info.filename: info for info in zf.infolist()}
        if len(infos) != len(zf.infolist()):
            raise RouterFileError(f"{where}: duplicate archive members")
        for info in infos.values():
            mode = info.external_attr >> 16
            if info.is_dir() or stat.S_ISLNK(mode) or "/" in info.filename or "\\" in info.filename:
                raise RouterFileError(f"{where}: member {info.filename!r} is not a plain file")
        metadata = _read_metadata(zf, infos, where, kind)
        spec = metadata.get("arrays")
        if not isinstance(spec, dict):
            raise RouterFileError(f"{where}: metadata has no 'arrays' table")
        expected = {METADATA_MEMBER} | {f"{name}.npy" for name in spec}
        if set(infos) != expected:
            raise RouterFileError(
                f"{where}: members {sorted(infos)} do not match the metadata {sorted(expected)}")
        total = 0
        arrays: dict[str, np.ndarray] = {}
        for name, desc in spec.items():
            dtype, shape = _array_spec(desc, name, where)
            nbytes = int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
            total += nbytes
            if total > max_bytes:
                raise RouterFileError(
                    f"{where}: arrays declare {total} bytes, more than max_bytes={max_bytes}")
            arrays[name] = _read_npy(zf, infos[f"{name}.npy"], dtype, shape, nbytes, where)
    value = metadata.get("checksum", {})
    if not isinstance(value, dict) or value.get("value") != _checksum(metadata, arrays):
        raise RouterFileError(f"{where}: checksum mismatch; the file is corrupted or was altered")
    return arrays, metadata


def _read_metadata(zf: zipfile.ZipFile, infos: dict[str, zipfile.ZipInfo], where: str,
                   kind: str) -> dict[str, Any]:
    info = infos.get(METADATA_MEMBER)
    if info is None:
        raise RouterFileError(f"{where} is not a uniroute router file: no {METADATA_MEMBER}")
    if info.file_size > MAX_METADATA_BYTES:
        raise RouterFileError(f"{where}: {METADATA_MEMBER} is larger than {MAX_METADATA_BYTES}")
    try:
        with zf.open(info) as fh:
            raw = fh.read(MAX_METADATA_BYTES + 1)
        metadata = json.loads(raw.decode("utf-8"))
    except (zipfile.BadZipFile, OSError, UnicodeDecodeError, ValueError, EOFError) as exc:
        raise RouterFileError(f"{where}: unreadable {METADATA_MEMBER}: {exc}") from exc
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT_NAME:
        raise RouterFileError(f"{where} is not a uniroute router file (format tag missing)")
    version = metadata.get("format_version")
    if version != FORMAT_VERSION:
        raise RouterFileError(
            f"{where} has format version {version!r}; this uniroute reads version "
            f"{FORMAT_VERSION} (upgrade uniroute to read newer files)")
    if metadata.get("kind") != kind:
        raise RouterFileError(f"{where} holds a {metadata.get('kind')!r}, expected a {kind!r}")
    return metadata


def _array_spec(desc: Any, name: str, where: str) -> tuple[np.dtype, tuple[int, ...]]:
    ok = isinstance(desc, dict) and isinstance(name, str) and name.isidentifier()
    shape = desc.get("shape") if ok else None
    dtype = desc.get("dtype") if ok else None
    if (not isinstance(shape, list) or not all(isinstance(s, int) and s >= 0 for s in shape)
            or dtype not in _ALLOWED_DTYPES):
        raise RouterFileError(f"{where}: bad array description for {name!r}: {desc!r}")
    return np.dtype(dtype), tuple(shape)


def _read_npy(zf: zipfile.ZipFile, info: zipfile.ZipInfo, dtype: np.dtype,
              shape: tuple[int, ...], nbytes: int, where: str) -> np.ndarray:
    try:
        with zf.open(info) as fh:
            version = np.lib.format.read_magic(fh)
            if version == (1, 0):
                hshape, fortran, hdtype = np.lib.format.read_array_header_1_0(fh)
            elif version == (2, 0):
                hshape, fortran, hdtype = np.lib.format.read_array_header_2_0(fh)
            else:
                raise ValueError(f"unsupported npy version {version}")
            if hdtype != dtype or tuple(hshape) != shape or fortran:
                raise ValueError(f"header says {hdtype} {hshape}, metadata says {dtype} {shape}")
            data = fh.read(nbytes + 1)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise RouterFileError(f"{where}: member {info.filename!r} is unreadable: {exc}") from exc
    if len(data) != nbytes:
        raise RouterFileError(f"{where}: member {info.filename!r} holds {len(data)} bytes, "
                              f"expected {nbytes} (truncated or padded)")
    return np.frombuffer(data, dtype=dtype).reshape(shape).copy()
