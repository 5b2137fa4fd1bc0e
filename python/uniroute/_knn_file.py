"""The KNNRouter's router file (kind ``"KNNRouter"`` in the format of :mod:`uniroute.io`).

Arrays: ``probe_embeddings (N, dim) float32`` (the distinct probe sets, unit rows, one
after another), ``probe_offsets (S + 1,) int64``, ``model_set (M,) int64``, ``cost (M,)
float64``, and per model, concatenated in pool order, ``error`` float64 (0 where not
answered) and ``answered`` uint8. Fields: ``models``, ``n_neighbors`` (the parameter),
``n_neighbors_chosen``, ``encoder``. Every value is checked on load.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from uniroute._validation import as_name
from uniroute.exceptions import RouterFileError


@dataclass(frozen=True, eq=False)
class _Pool:
    """The pool at one instant (immutable; swapped atomically on every change)."""

    names: tuple[str, ...]
    cost: np.ndarray  # (M,)
    probe_sets: tuple[np.ndarray, ...]  # unit-norm float32 (n_s, dim) each
    model_set: tuple[int, ...]  # (M,) index into probe_sets
    errors: tuple[np.ndarray, ...]  # (n_s,) float64 per model, 0 where unanswered
    answered: tuple[np.ndarray, ...]  # (n_s,) bool per model


def archive(router: Any) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    pool = router._state
    dim = pool.probe_sets[0].shape[1] if pool.probe_sets else 0
    sizes = [S.shape[0] for S in pool.probe_sets]
    arrays = {
        "probe_embeddings": (np.vstack(pool.probe_sets) if sizes
                             else np.zeros((0, dim), np.float32)).astype(np.float32),
        "probe_offsets": np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
        "model_set": np.asarray(pool.model_set, dtype=np.int64),
        "cost": np.asarray(pool.cost, dtype=np.float64),
        "error": (np.concatenate(pool.errors) if pool.errors else np.zeros(0)).astype(np.float64),
        "answered": (np.concatenate(pool.answered) if pool.answered
                     else np.zeros(0, bool)).astype(np.uint8),
    }
    fields = {"models": list(pool.names), "n_neighbors": router.n_neighbors,
              "n_neighbors_chosen": router.n_neighbors_, "encoder": router.encoder}
    return arrays, fields


def build(cls: Any, arrays: dict[str, np.ndarray], meta: dict[str, Any], where: str) -> Any:
    try:
        names = tuple(as_name(n, "model name") for n in meta["models"])
        k, chosen = meta["n_neighbors"], meta["n_neighbors_chosen"]
        router = cls(k, encoder=meta["encoder"])
        if chosen is not None:
            if isinstance(chosen, bool) or not isinstance(chosen, int) or chosen < 1:
                raise ValueError(f"n_neighbors_chosen must be a positive int, got {chosen!r}")
            router.n_neighbors_ = chosen
    except (KeyError, TypeError, ValueError) as exc:
        raise RouterFileError(f"{where}: bad metadata: {exc!r}") from exc
    want = {"probe_embeddings": (np.float32, 2), "probe_offsets": (np.int64, 1),
            "model_set": (np.int64, 1), "cost": (np.float64, 1), "error": (np.float64, 1),
            "answered": (np.uint8, 1)}
    for key, (dtype, ndim) in want.items():
        a = arrays.get(key)
        if a is None or a.dtype != dtype or a.ndim != ndim:
            raise RouterFileError(f"{where}: array {key!r} must be {np.dtype(dtype).name} "
                                  f"with {ndim} dimension(s)")
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            raise RouterFileError(f"{where}: array {key!r} holds NaN or inf")
    P, off, ms = arrays["probe_embeddings"], arrays["probe_offsets"], arrays["model_set"]
    cost, err, ans = arrays["cost"], arrays["error"], arrays["answered"]
    M, S = len(names), off.size - 1
    sizes = np.diff(off) if S >= 0 else np.zeros(0, np.int64)
    ok = (S >= 0 and off[0] == 0 and off[-1] == P.shape[0] and (sizes > 0).all()
          and ms.shape == (M,) and cost.shape == (M,) and len(set(names)) == M
          and (cost >= 0).all() and ((ms >= 0) & (ms < max(S, 1))).all()
          and (S == 0) == (M == 0) and ((ans == 0) | (ans == 1)).all()
          and (P.shape[1] > 0 or M == 0))
    per_model = sizes[ms] if ok and M else np.zeros(0, np.int64)
    if not ok or err.shape != (int(per_model.sum()),) or ans.shape != err.shape \
            or ((err < 0) | (err > 1)).any():
        raise RouterFileError(f"{where}: inconsistent router (sizes, names or values)")
    sets = []
    for s in range(S):
        block = np.array(P[off[s]:off[s + 1]], dtype=np.float32)
        block.flags.writeable = False
        sets.append(block)
    bounds = np.concatenate([[0], np.cumsum(per_model)]).astype(np.int64)
    router._state = _Pool(names, cost.copy(), tuple(sets), tuple(int(s) for s in ms),
                          tuple(err[bounds[m]:bounds[m + 1]].copy() for m in range(M)),
                          tuple(ans[bounds[m]:bounds[m + 1]].astype(bool) for m in range(M)))
    return router
