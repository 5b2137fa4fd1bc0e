"""KNNRouter: the K-NN router over a changing pool (the paper's strongest baseline, section 2.3).

A model's predicted error on a prompt is its mean error on the ``k`` probe prompts most
cosine-similar to it (probes it did not answer are skipped; with none answered among
them, its overall probe error). The prompt goes to ``argmin_m error[m] + lam * cost[m]``
(ties: the cheaper model, then the earlier-added one) -- the same rule as
:class:`uniroute.UniRouter`. Models join from their probe answers (``add_model``), as in
UniRoute; models that answered the same probe prompts share one neighbour search.

Which router when (the measured figures are in ``docs/quality.md``):

- **Speed and memory per decision.** K-NN searches every stored probe for every prompt:
  ``O(n_probes * dim)`` work per prompt and the probes' embeddings in memory
  (``n_probes * dim * 4`` bytes per distinct probe set); :class:`~uniroute.UniRouter`
  compares the prompt with K centroids only (``O(K * dim)``, K of 5-300) and routes
  from a ``K x M`` table, and :class:`~uniroute.LearnedMapRouter` adds one ``K x M``
  product. With the ~300 probes of these data sets the three are of one order; with
  thousands of probes K-NN is the slowest.
- **Robustness to a cheap encoder.** K-NN trusts the encoder's nearest neighbours
  prompt by prompt; UniRoute only needs prompts of a cluster to resemble each other on
  average, and LearnedMap learns which directions of the embedding matter from the
  training LLMs' labels -- the one of the three that can correct a poor encoder.
- **Few probes.** K-NN averages a model's error over ``k`` probes whatever their count;
  with few probes a large ``k`` tends to the prompt-independent error, and there is no
  prior across models. UniRoute shares the clusters (fitted on unlabelled prompts) and
  shrinks each cluster's error toward the model's overall error by a strength chosen
  from the training LLMs, which is what helps most below ~100 probes.
"""
from __future__ import annotations

import os
import threading
from typing import Any

import numpy as np

from uniroute import _core
from uniroute._knn_file import _Pool, archive, build
from uniroute._validation import (
    as_correct,
    as_cost,
    as_embeddings,
    as_lam,
    as_name,
    as_positive_int,
)
from uniroute.exceptions import EmptyPoolError, NotFittedError
from uniroute.io import DEFAULT_MAX_BYTES, archive_bytes, read_archive, write_archive

NEIGHBOR_GRID = (1, 2, 3, 5, 7, 10, 15, 20, 30, 50, 75, 100, 150, 200, 300)


def unit_rows(X: Any) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), float32 C-contiguous."""
    X = np.asarray(X, dtype=np.float32)
    norm = np.linalg.norm(X, axis=1, keepdims=True)
    return np.ascontiguousarray(X / np.where(norm > 0, norm, 1.0), dtype=np.float32)


def neighbor_mean_error(query_unit: np.ndarray, probe_unit: np.ndarray, error: np.ndarray,
                        answered: np.ndarray, k: int) -> np.ndarray:
    """Mean error ``(n, M)`` over each query's k most cosine-similar probes.

    ``error, answered : (n_probes, M)``; unanswered probes are skipped, and a model with
    none answered among the k gets its overall probe error (0.5 with no answer at all).
    """
    k = min(int(k), probe_unit.shape[0])
    nbrs = _core.top_k_inner(query_unit, probe_unit, k)  # (n, k)
    e = np.where(answered, error, 0.0)
    a = answered.astype(np.float64)
    err_sum = e[nbrs].sum(axis=1)
    ans_sum = a[nbrs].sum(axis=1)
    total = a.sum(axis=0)
    overall = np.where(total > 0, e.sum(axis=0) / np.maximum(total, 1.0), 0.5)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ans_sum > 0, err_sum / ans_sum, overall)


class KNNRouter:
    """Route each prompt by its k nearest probe prompts (cosine similarity).

    Parameters
    ----------
    n_neighbors : int or "auto"
        k. ``"auto"`` chooses it in :meth:`fit` from the training LLMs' labels: the
        train prompts serve as neighbours of the validation prompts, and the k of the
        largest validation Area (their prices as costs) wins, as the evaluation's K-NN.
    encoder : str or None
        Name of the encoder of the embeddings (checked on every call that gives one).

    Examples
    --------
    >>> import numpy as np, uniroute
    >>> rng = np.random.default_rng(0)
    >>> probes = rng.standard_normal((60, 8))
    >>> r = uniroute.KNNRouter(n_neighbors=10)
    >>> _ = r.add_model("small", 0.1, probes, rng.random(60) < 0.5)
    >>> _ = r.add_model("large", 1.0, probes, rng.random(60) < 0.9)
    >>> r.route(probes[:3], lam=0.0).shape
    (3,)
    """

    _FILE_KIND = "KNNRouter"

    def __init__(self, n_neighbors: int | str = 50, *, encoder: str | None = None) -> None:
        if n_neighbors != "auto":
            as_positive_int(n_neighbors, "n_neighbors")
        self.n_neighbors = n_neighbors
        self.encoder = None if encoder is None else as_name(encoder, "encoder")
        self.n_neighbors_: int | None = None if n_neighbors == "auto" else int(n_neighbors)
        self._write_lock = threading.RLock()
        self._state = _Pool((), np.zeros(0), (), (), (), ())

    # ------------------------------------------------------------------ fitting
    def fit(self, train_embeddings: Any = None, train_correct: Any = None,
            val_embeddings: Any = None, val_correct: Any = None, *,
            cost: Any = None) -> KNNRouter:
        """Choose k when ``n_neighbors="auto"`` (else nothing to learn); returns ``self``.

        Arguments as in :meth:`uniroute.UniRouter.fit` (the training LLMs' labels on
        train and validation prompts, their prices ``cost (M,)``, optional).
        """
        if self.n_neighbors != "auto":
            return self
        from uniroute._validation import as_correct_matrix

        if train_correct is None or val_embeddings is None or val_correct is None:
            raise ValueError("n_neighbors='auto' is chosen from the training LLMs' labels: "
                             "pass train_embeddings, train_correct, val_embeddings, val_correct")
        X, _ = as_embeddings(train_embeddings, "train_embeddings")
        V, _ = as_embeddings(val_embeddings, "val_embeddings", X.shape[1])
        Y = as_correct_matrix(train_correct, "train_correct", X.shape[0])
        Yv = as_correct_matrix(val_correct, "val_correct", V.shape[0])
        if Y.shape[1] != Yv.shape[1] or Y.shape[1] < 1:
            raise ValueError("train_correct and val_correct must hold the same LLMs")
        self.n_neighbors_ = choose_n_neighbors(X, Y, V, Yv, cost)
        return self

    # ------------------------------------------------------------------ the pool
    def add_model(self, name: str, cost: float, embeddings: Any, correct: Any, *,
                  encoder: str | None = None) -> KNNRouter:
        """Add an LLM from its probe answers (``embeddings (n, dim)``, ``correct (n,)``
        in [0, 1], NaN = not answered) at price ``cost``."""
        self._check_encoder(encoder)
        name, cost = as_name(name), as_cost(cost)
        with self._write_lock:
            pool = self._state
            dim = pool.probe_sets[0].shape[1] if pool.probe_sets else None
            X, _ = as_embeddings(embeddings, "embeddings", dim)
            if not np.isfinite(X).all():
                raise ValueError("embeddings contains NaN or inf; expected finite values")
            y = as_correct(correct, "correct", X.shape[0])
            if np.isnan(y).all():
                raise ValueError(f"correct has no answered probe for model {name!r}")
            if name in pool.names:
                raise ValueError(f"a model named {name!r} is already in the pool; remove it first")
            P = unit_rows(X)
            sets = list(pool.probe_sets)
            s = next((i for i, S in enumerate(sets) if S.shape == P.shape
                      and np.array_equal(S, P)), len(sets))
            if s == len(sets):
                P.flags.writeable = False
                sets.append(P)
            answered = ~np.isnan(y)
            self._state = _Pool(pool.names + (name,), np.append(pool.cost, cost), tuple(sets),
                                pool.model_set + (s,),
                                pool.errors + (np.where(answered, 1.0 - y, 0.0),),
                                pool.answered + (answered,))
        return self

    def remove_model(self, name: str) -> KNNRouter:
        """Remove a model (and its probe set when no other model uses it)."""
        with self._write_lock:
            pool = self._state
            if name not in pool.names:
                raise KeyError(f"unknown model {name!r}; the pool holds {list(pool.names)}")
            i = pool.names.index(name)
            keep = [j for j in range(len(pool.names)) if j != i]
            used = sorted({pool.model_set[j] for j in keep})
            remap = {s: n for n, s in enumerate(used)}
            self._state = _Pool(tuple(pool.names[j] for j in keep), pool.cost[keep],
                                tuple(pool.probe_sets[s] for s in used),
                                tuple(remap[pool.model_set[j]] for j in keep),
                                tuple(pool.errors[j] for j in keep),
                                tuple(pool.answered[j] for j in keep))
        return self

    # ------------------------------------------------------------------ routing
    def predict_error(self, embeddings: Any, *, encoder: str | None = None) -> np.ndarray:
        """Predicted error per prompt and model: ``(n, M)``, or ``(M,)`` for one prompt."""
        pool = self._pool()
        self._check_encoder(encoder)
        X, single = as_embeddings(embeddings, "embeddings", pool.probe_sets[0].shape[1])
        err = self._errors(pool, X)
        return err[0] if single else err

    def _errors(self, pool: _Pool, X: np.ndarray) -> np.ndarray:
        if not np.isfinite(X).all():
            raise ValueError("embeddings contains NaN or inf; expected finite values")
        k = self._k()
        Q = unit_rows(X)
        out = np.empty((X.shape[0], len(pool.names)))
        for s, P in enumerate(pool.probe_sets):
            members = [m for m, ms in enumerate(pool.model_set) if ms == s]
            E = np.stack([pool.errors[m] for m in members], axis=1)
            A = np.stack([pool.answered[m] for m in members], axis=1)
            out[:, members] = neighbor_mean_error(Q, P, E, A, k)
        return out

    def route_indices(self, embeddings: Any, lam: float | None = None, *,
                      encoder: str | None = None) -> np.ndarray | int:
        """Pool index of the chosen model per prompt (int64 ``(n,)``, or an int)."""
        pool = self._pool()
        idx, single = self._decide(pool, embeddings, lam, encoder)
        return int(idx[0]) if single else idx

    def route(self, embeddings: Any, lam: float | None = None, *,
              encoder: str | None = None) -> np.ndarray | str:
        """Name of the chosen model per prompt: ``(n,)`` str array, or a str for one.

        ``lam`` (default 0) weighs cost against predicted error, as in
        :meth:`uniroute.UniRouter.route`.
        """
        pool = self._pool()
        idx, single = self._decide(pool, embeddings, lam, encoder)
        names = np.asarray(pool.names)
        return str(names[idx[0]]) if single else names[idx]

    def _decide(self, pool: _Pool, embeddings: Any, lam: float | None,
                encoder: str | None) -> tuple[np.ndarray, bool]:
        self._check_encoder(encoder)
        lam_v = as_lam(0.0 if lam is None else lam)
        X, single = as_embeddings(embeddings, "embeddings", pool.probe_sets[0].shape[1])
        scores = self._errors(pool, X) + lam_v * pool.cost
        order = np.argsort(pool.cost, kind="stable")  # ties: cheaper, then earlier
        return order[np.argmin(scores[:, order], axis=1)], single

    # ------------------------------------------------------------------ helpers
    def _k(self) -> int:
        if self.n_neighbors_ is None:
            raise NotFittedError("n_neighbors='auto' is chosen by fit(...) with the training "
                                 "LLMs' labels; call fit first or pass a number")
        return self.n_neighbors_

    def _pool(self) -> _Pool:
        pool = self._state
        if not pool.names:
            raise EmptyPoolError("the pool is empty; add a model with add_model() first")
        return pool

    def _check_encoder(self, encoder: str | None) -> None:
        if encoder is not None and self.encoder is not None and encoder != self.encoder:
            raise ValueError(f"embeddings come from encoder {encoder!r}, but the router "
                             f"uses encoder {self.encoder!r}")

    @property
    def models(self) -> list[str]:
        """Names of the models in the pool, in the order they were added."""
        return list(self._state.names)

    @property
    def costs(self) -> np.ndarray:
        """Price per query of each model: float64 ``(M,)`` (a copy)."""
        return self._state.cost.copy()

    def __repr__(self) -> str:
        return (f"KNNRouter(n_neighbors={self.n_neighbors!r}, models={len(self._state.names)}, "
                f"encoder={self.encoder!r})")

    # ------------------------------------------------------------------ persistence
    def _archive(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        return archive(self)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the router to one file (the safe format of :mod:`uniroute.io`)."""
        write_archive(path, self._FILE_KIND, *self._archive())

    def to_bytes(self) -> bytes:
        """The router file as bytes (what :meth:`save` writes)."""
        return archive_bytes(self._FILE_KIND, *self._archive())

    @classmethod
    def load(cls, path: str | os.PathLike[str], *,
             max_bytes: int = DEFAULT_MAX_BYTES) -> KNNRouter:
        """Read a router written by :meth:`save`; RouterFileError if it is not valid."""
        return cls._from_archive(os.fspath(path), max_bytes)

    @classmethod
    def from_bytes(cls, data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> KNNRouter:
        """Read a router from the bytes of a router file."""
        return cls._from_archive(bytes(data), max_bytes)

    @classmethod
    def _from_archive(cls, source: str | bytes, max_bytes: int) -> KNNRouter:
        arrays, meta = read_archive(source, cls._FILE_KIND, max_bytes)
        return build(cls, arrays, meta, source if isinstance(source, str) else "<router bytes>")

    def __reduce__(self) -> tuple[Any, ...]:
        # by value through the file format, as the other routers
        return (_unpickle, (self.to_bytes(),))


def _unpickle(data: bytes) -> KNNRouter:
    return KNNRouter.from_bytes(data)


def choose_n_neighbors(X: np.ndarray, Y: np.ndarray, V: np.ndarray, Yv: np.ndarray,
                       cost: Any = None, grid: tuple[int, ...] = NEIGHBOR_GRID) -> int:
    """k of the largest validation Area: train prompts (labels ``Y``) as the neighbours
    of the validation prompts (labels ``Yv``), the LLMs' prices ``cost`` as their costs
    (None: equal). Ties: the smaller k."""
    from uniroute._deferral import cluster_area

    M = Y.shape[1]
    c = np.zeros(M) if cost is None else np.asarray(cost, np.float64).reshape(-1)
    if c.shape != (M,):
        raise ValueError(f"cost must hold {M} prices, got shape {c.shape}")
    answered = ~np.isnan(Y)
    E, Q, P = np.where(answered, 1.0 - np.nan_to_num(Y), 0.0), unit_rows(V), unit_rows(X)
    miss = np.isnan(Yv)
    fill = np.where(miss, np.where(miss, 0.0, Yv).sum(0) / np.maximum((~miss).sum(0), 1), Yv)
    ones = np.ones(V.shape[0])
    best, best_area = 1, -np.inf
    for k in sorted({g for g in grid if 1 <= g <= min(X.shape[0], V.shape[0])}) or [1]:
        err = neighbor_mean_error(Q, P, E, answered, k)
        a = cluster_area(fill, ones, np.ascontiguousarray(err.T), c)
        if a > best_area:
            best, best_area = k, a
    return best


__all__ = ["KNNRouter", "choose_n_neighbors", "neighbor_mean_error"]
