"""K-means on top of the core ``assign`` kernel (k-means++ seeding, Lloyd iterations)."""
from __future__ import annotations

from typing import Any

import numpy as np

from uniroute import _core
from uniroute._validation import as_embeddings, as_float_matrix, as_positive_int
from uniroute.exceptions import NotFittedError

RandomState = int | np.random.Generator | np.random.SeedSequence | None


class KMeans:
    """K-means clustering of prompt embeddings.

    Parameters
    ----------
    n_clusters : int
        Number of clusters K.
    n_init : int
        Independent k-means++ restarts; the run with the lowest inertia is kept.
    max_iter : int
        Maximum Lloyd iterations per restart.
    tol : float
        Convergence threshold on the squared centroid shift, relative to the mean
        per-feature variance of the data (as scikit-learn defines it).
    random_state : int, numpy Generator or None
        Seed for the seeding; the same seed gives the same clustering.

    Attributes
    ----------
    cluster_centers_ : (n_clusters, dim) float32 (float64 for float64 input)
    inertia_ : float
        Sum of squared distances of the training points to their nearest centroid.
    labels_ : (n_samples,) int64
    n_iter_ : int
        Lloyd iterations of the kept restart.

    Notes
    -----
    An empty cluster is re-seeded at the point farthest from its centroid, so no
    centroid is ever NaN.

    Examples
    --------
    >>> import numpy as np, uniroute
    >>> X = np.random.default_rng(0).standard_normal((500, 8)).astype(np.float32)
    >>> km = uniroute.KMeans(n_clusters=4, random_state=0).fit(X)
    >>> km.cluster_centers_.shape
    (4, 8)
    """

    def __init__(self, n_clusters: int = 8, *, n_init: int = 3, max_iter: int = 100,
                 tol: float = 1e-4, random_state: RandomState = None) -> None:
        self.n_clusters = n_clusters
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    def fit(self, X: Any) -> KMeans:
        """Cluster ``X : (n_samples, dim)``; returns ``self``."""
        self._settings()  # parameter errors before X's
        X = as_float_matrix(X, "X")
        return self._fit_checked(X, variance_scale(X))

    def _settings(self) -> tuple[int, int, int]:
        """n_clusters, n_init, max_iter, checked (and tol)."""
        K = as_positive_int(self.n_clusters, "n_clusters")
        n_init = as_positive_int(self.n_init, "n_init")
        max_iter = as_positive_int(self.max_iter, "max_iter")
        if not (np.isfinite(self.tol) and self.tol >= 0):
            raise ValueError(f"tol must be a finite number >= 0, got {self.tol}")
        return K, n_init, max_iter

    def _fit_checked(self, X: np.ndarray, scale: float) -> KMeans:
        """fit on an ``as_float_matrix`` result whose ``variance_scale`` is ``scale``
        (the probe-aware selection fits many K on one X and computes both once)."""
        K, n_init, max_iter = self._settings()
        if X.shape[0] < K:
            raise ValueError(f"X has {X.shape[0]} samples, fewer than n_clusters = {K}")
        rng = np.random.default_rng(self.random_state)
        tol = float(self.tol) * scale
        best = None
        for _ in range(n_init):
            centers = _kmeans_plusplus(X, K, rng)
            run = _lloyd(X, centers, max_iter, tol)
            if best is None or run[2] < best[2]:
                best = run
        assert best is not None
        self.cluster_centers_, self.labels_, self.inertia_, self.n_iter_ = best
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Index of the nearest centroid for each row of ``X``: (n_samples,) int64."""
        if not hasattr(self, "cluster_centers_"):
            raise NotFittedError("this KMeans is not fitted yet; call fit(X) first")
        X, _ = as_embeddings(X, "X", self.cluster_centers_.shape[1])
        return _core.assign(X, self.cluster_centers_)[0]

    def fit_predict(self, X: Any) -> np.ndarray:
        """Fit on ``X`` and return the training labels."""
        return self.fit(X).labels_


def variance_scale(X: np.ndarray, block: int = 2048) -> float:
    """The mean per-feature variance of ``X`` (float64): K-means' ``tol`` is relative to it.

    ``np.mean(np.var(X, axis=0, dtype=np.float64))`` in row blocks: no float64 copy of X
    (equal to it up to float64 rounding).
    """
    n = X.shape[0]
    mean = X.sum(axis=0, dtype=np.float64) / n
    ss = np.zeros(X.shape[1])
    for lo in range(0, n, block):
        dev = X[lo:lo + block] - mean
        ss += np.einsum("ij,ij->j", dev, dev)
    return float(np.mean(ss / n))


def _kmeans_plusplus(X: np.ndarray, K: int, rng: np.random.Generator) -> np.ndarray:
    """Greedy k-means++ seeding (Arthur & Vassilvitskii 2007; 2 + log K trials a step)."""
    n = X.shape[0]
    trials = 2 + int(np.log(K))
    centers = np.empty((K, X.shape[1]), dtype=X.dtype)
    centers[0] = X[rng.integers(n)]
    closest = _core.assign(X, centers[:1])[1].astype(np.float64)
    x_sqnorm = np.einsum("ij,ij->i", X, X, dtype=np.float64)
    for k in range(1, K):
        potential = closest.sum()
        if potential <= 0.0:  # every point already sits on a centroid
            centers[k] = X[rng.integers(n)]
            continue
        picks = np.searchsorted(np.cumsum(closest), rng.random(trials) * potential)
        picks = np.minimum(picks, n - 1)
        if X.dtype == np.float32:  # one blocked pass over X (BLAS is slow at this shape)
            dist = _core.pairwise_sqdist(X, X[picks]).astype(np.float64)
        else:
            cand = X[picks].astype(np.float64)
            dist = x_sqnorm[:, None] - 2.0 * (X @ cand.T.astype(X.dtype)) + (cand**2).sum(1)
        dist = np.minimum(closest[:, None], np.maximum(dist, 0.0))
        best = int(np.argmin(dist.sum(0)))
        centers[k] = X[picks[best]]
        closest = dist[:, best]
    return centers


def _lloyd(X: np.ndarray, centers: np.ndarray, max_iter: int,
           tol: float) -> tuple[np.ndarray, np.ndarray, float, int]:
    K = centers.shape[0]
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        labels, sqdist = _core.assign(X, centers)
        sums, counts = _core.cluster_sums(X, labels, K)
        empty = np.flatnonzero(counts == 0)
        if empty.size:
            # Re-seed each empty cluster at one of the points farthest from their centroid.
            far = np.argsort(sqdist)[::-1][: empty.size]
            sums[empty] = X[far]
            counts[empty] = 1
        new = (sums / counts[:, None]).astype(X.dtype)
        shift = float(((new.astype(np.float64) - centers) ** 2).sum())
        centers = new
        if shift <= tol:
            break
    labels, sqdist = _core.assign(X, centers)
    return centers, labels, float(sqdist.sum(dtype=np.float64)), n_iter
