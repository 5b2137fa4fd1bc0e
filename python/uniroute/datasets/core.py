"""The in-memory data set type and the project's own ``.npz`` format.

File format (an ``.npz`` read with ``allow_pickle=False``):

========================  ===============================  =====================================
array                     shape, dtype                     meaning
========================  ===============================  =====================================
``quality``               (N, M) float                     1 = correct, or a score in [0, 1];
                                                           NaN = missing label
``cost``                  (M,) or (N, M) float             price per query (per model, or
                                                           realised per prompt)
``models``                (M,) str                         model names
``embeddings`` (opt.)     (N, d) float                     prompt embeddings
``encoder`` (opt.)        () str                           the encoder that made them
``prompts`` (opt.)        (N,) str                         prompt texts (or ``prompts_utf8``
                                                           uint8 + ``prompts_offsets`` (N+1,))
``tasks`` (opt.)          (N,) str                         task / benchmark of each prompt
``groups`` (opt.)         (M,) str                         models in one group fall on the same
                                                           side of an LLM split
``item_ids`` (opt.)       (N,) str                         prompt ids
``name`` (opt.)           () str                           data set name
``cost_note`` (opt.)      () str                           where the cost comes from ("real
                                                           ...", "derived: ...", "none: ...")
========================  ===============================  =====================================

Only ``quality``, ``cost`` and ``models`` are required. Text arrays are numpy unicode
arrays (``np.array(list_of_str)``), never object arrays: the file is read with
``allow_pickle=False``. ``uniroute.datasets.write_npz`` writes this format.
"""
from __future__ import annotations

import csv
import itertools
import os
import zipfile
import zlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from uniroute.datasets.validation import (
    DataError,
    check_cost,
    check_embeddings,
    check_quality,
    check_unique,
    numeric,
)

_BUNDLED = {
    "routerbench_partial": "routerbench_partial.npz",
    "zeroeval_math_code": "zeroeval_math_code.npz",
}


@dataclass
class RoutingDataset:
    """Prompts x LLMs quality with costs and (optionally) embeddings.

    Attributes
    ----------
    quality : (n_prompts, n_models) float32; NaN = missing label.
    cost : (n_models,) or (n_prompts, n_models) float64.
    models : list of str.
    embeddings : (n_prompts, dim) float32 or None.
    prompts, tasks, item_ids : lists of str (length n_prompts) or None.
    groups : list of str (length n_models) or None.
    encoder : name of the encoder of ``embeddings`` or None.
    name : str.
    cost_note : where the cost comes from ("real ...", "derived: ...", "none: ...") or None.
    """

    quality: np.ndarray
    cost: np.ndarray
    models: list[str]
    embeddings: np.ndarray | None = None
    prompts: list[str] | None = None
    tasks: list[str] | None = None
    groups: list[str] | None = None
    item_ids: list[str] | None = None
    encoder: str | None = None
    name: str = "dataset"
    cost_note: str | None = None

    def __post_init__(self) -> None:
        self.quality = numeric(self.quality, "quality").astype(np.float32)
        self.cost = numeric(self.cost, "cost").astype(np.float64)
        self.models = [str(m) for m in self.models]
        if self.quality.ndim != 2:
            raise DataError(f"quality must be (n_prompts, n_models), got shape {self.quality.shape}")
        N, M = self.quality.shape
        if len(self.models) != M:
            raise DataError(f"models has {len(self.models)} names, quality has {M} columns")
        if self.cost.shape not in ((M,), (N, M)):
            raise DataError(f"cost must have shape ({M},) or ({N}, {M}), got {self.cost.shape}")
        check_unique(self.models)
        check_quality(self.quality)
        check_cost(self.cost)
        if self.embeddings is not None:
            self.embeddings = numeric(self.embeddings, "embeddings").astype(np.float32)
            if self.embeddings.ndim != 2 or self.embeddings.shape[0] != N:
                raise DataError(f"embeddings must be ({N}, dim), got {self.embeddings.shape}")
            check_embeddings(self.embeddings)
        for field, n in (("prompts", N), ("tasks", N), ("item_ids", N), ("groups", M)):
            value = getattr(self, field)
            if value is not None:
                value = [str(v) for v in value]
                if len(value) != n:
                    raise DataError(f"{field} has length {len(value)}, expected {n}")
                setattr(self, field, value)

    @property
    def n_prompts(self) -> int:
        return int(self.quality.shape[0])

    @property
    def n_models(self) -> int:
        return int(self.quality.shape[1])

    def model_cost(self, rows: np.ndarray | None = None) -> np.ndarray:
        """Mean cost per model over ``rows`` (all prompts by default): (n_models,)."""
        if self.cost.ndim == 1:
            return self.cost.copy()
        c = self.cost if rows is None else self.cost[rows]
        return np.nanmean(c, axis=0)

    def select(self, prompts: np.ndarray | None = None,
               models: np.ndarray | None = None) -> RoutingDataset:
        """A new data set restricted to some prompts and/or models (index arrays or masks)."""
        rows = np.arange(self.n_prompts) if prompts is None else np.arange(self.n_prompts)[prompts]
        cols = np.arange(self.n_models) if models is None else np.arange(self.n_models)[models]

        def pick(values: list[str] | None, idx: np.ndarray) -> list[str] | None:
            return None if values is None else [values[i] for i in idx]

        cost = self.cost[cols] if self.cost.ndim == 1 else self.cost[np.ix_(rows, cols)]
        return RoutingDataset(
            quality=self.quality[np.ix_(rows, cols)], cost=cost,
            models=pick(self.models, cols) or [],
            embeddings=None if self.embeddings is None else self.embeddings[rows],
            prompts=pick(self.prompts, rows), tasks=pick(self.tasks, rows),
            groups=pick(self.groups, cols), item_ids=pick(self.item_ids, rows),
            encoder=self.encoder, name=self.name, cost_note=self.cost_note)

    def __repr__(self) -> str:
        dim = None if self.embeddings is None else self.embeddings.shape[1]
        return (f"RoutingDataset(name={self.name!r}, n_prompts={self.n_prompts}, "
                f"n_models={self.n_models}, dim={dim}, encoder={self.encoder!r})")


def list_bundled() -> list[str]:
    """Names of the data sets shipped inside the package."""
    return sorted(_BUNDLED)


def load(name_or_path: str | os.PathLike[str]) -> RoutingDataset:
    """A bundled data set by name, or a data set file or folder in any supported format.

    Supported: the project's ``.npz`` (see the module docstring); the long layout, one
    row per prompt x model, in ``.csv``, ``.jsonl`` or ``.parquet`` (see
    :mod:`uniroute.datasets.long`); RouterBench's schema
    (``.csv``/``.csv.gz`` files or a folder of them); EmbedLLM's schema (a folder with
    ``train.csv``, ``val.csv``, ``test.csv``, optional ``model_order.csv`` and
    ``question_order.csv``); the ZeroEval, RouterDC and RouterBench-partial matrices
    folders of the project's shared data. Bundled names may use ``-`` for ``_``.

    Raises
    ------
    DataError
        (a ValueError) The name is unknown, or the file is unreadable or its content
        invalid; the message is one line naming the file, the array or column, and the fix.
    """
    key = os.fspath(name_or_path)
    bundled = key.replace("-", "_")
    if bundled in _BUNDLED and not Path(key).exists():
        ref = resources.files("uniroute.datasets").joinpath("data", _BUNDLED[bundled])
        with resources.as_file(ref) as path:
            return read_npz(path)
    path = Path(key)
    if not path.exists():
        raise DataError(f"unknown data set {key!r}: not a bundled name {list_bundled()} "
                        "and not an existing file or folder")
    from uniroute.datasets.formats import read_any

    try:
        return read_any(path)
    except DataError as exc:
        raise DataError(_where(path, exc)) from None
    except (ValueError, KeyError, IndexError, EOFError, UnicodeDecodeError, csv.Error,
            zipfile.BadZipFile) as exc:
        raise DataError(_where(path, exc)) from exc


def _where(path: Path, exc: BaseException) -> str:
    """One line naming the file (once) and the problem."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, KeyError):
        text = f"missing column or array {exc}"
    where = os.fspath(path)
    return text if text.startswith(where) else f"{where}: {text}"


def open_npz(path: str | os.PathLike[str]) -> Any:
    """``numpy.load(path, allow_pickle=False)`` as an NpzFile, or a DataError naming the file."""
    where = os.fspath(path)
    try:
        z = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(f"{where}: not a readable .npz file ({type(exc).__name__}: "
                        f"{' '.join(str(exc).split())}); write one with numpy.savez or "
                        "uniroute.datasets.write_npz") from None
    if not isinstance(z, np.lib.npyio.NpzFile):
        raise DataError(f"{where}: a single array, not an .npz of named arrays (quality, cost, "
                        "models, ...); write one with numpy.savez")
    return z


def _array(z: Any, key: str, where: str) -> np.ndarray:
    try:
        return z[key]
    except ValueError as exc:
        if "pickle" in str(exc):
            raise DataError(f"{where}: array '{key}' is an object (pickled) array, which is never "
                            "loaded; save text as np.array(list_of_str) (a unicode array) and "
                            "numbers as float") from None
        raise DataError(f"{where}: array '{key}' is unreadable: {exc}") from None
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise DataError(f"{where}: array '{key}' is unreadable ({type(exc).__name__}: {exc}); "
                        "the file is damaged") from None


def read_npz(path: str | os.PathLike[str]) -> RoutingDataset:
    """Read a data set in the project's ``.npz`` format (see the module docstring).

    Raises
    ------
    DataError
        The file is not a readable ``.npz``, lacks a required array, holds an object
        array, or its content fails the checks of :class:`RoutingDataset`; the message
        names the file and the array.
    """
    where = os.fspath(path)
    with open_npz(path) as z:
        missing = {"quality", "cost", "models"} - set(z.files)
        if missing:
            raise DataError(f"{where} lacks the arrays {sorted(missing)} (required: quality, "
                            "cost, models)")

        def get(key: str) -> np.ndarray | None:
            return _array(z, key, where) if key in z.files else None

        def text(key: str) -> list[str] | None:
            value = get(key)
            return None if value is None else [str(v) for v in np.atleast_1d(value)]

        def scalar(key: str) -> str | None:
            value = get(key)
            return None if value is None else str(value)

        prompts = text("prompts")
        if prompts is None and "prompts_utf8" in z.files:
            blob = _array(z, "prompts_utf8", where).tobytes()
            off = _array(z, "prompts_offsets", where)
            prompts = [blob[a:b].decode("utf-8") for a, b in itertools.pairwise(off)]
        try:
            return RoutingDataset(
                quality=get("quality"), cost=get("cost"), models=text("models") or [],
                embeddings=get("embeddings"), prompts=prompts, tasks=text("tasks"),
                groups=text("groups"), item_ids=text("item_ids"), encoder=scalar("encoder"),
                name=scalar("name") or Path(path).stem, cost_note=scalar("cost_note"))
        except ValueError as exc:
            raise DataError(_where(Path(where), exc)) from None


def write_npz(dataset: RoutingDataset, path: str | os.PathLike[str]) -> None:
    """Write ``dataset`` in the project's ``.npz`` format (compressed)."""
    arrays: dict[str, np.ndarray] = {
        "quality": dataset.quality, "cost": dataset.cost, "models": np.array(dataset.models),
        "name": np.array(dataset.name)}
    if dataset.embeddings is not None:
        arrays["embeddings"] = dataset.embeddings
    if dataset.encoder is not None:
        arrays["encoder"] = np.array(dataset.encoder)
    if dataset.cost_note is not None:
        arrays["cost_note"] = np.array(dataset.cost_note)
    for field in ("prompts", "tasks", "groups", "item_ids"):
        value = getattr(dataset, field)
        if value is not None:
            arrays[field] = np.array(value, dtype=str)
    np.savez_compressed(path, **arrays)
