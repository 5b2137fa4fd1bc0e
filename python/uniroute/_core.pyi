"""Type stubs for the compiled core ``uniroute._core``."""
from typing import Any

import numpy as np
import numpy.typing as npt

__version__: str

def assign(X: npt.ArrayLike, centroids: npt.ArrayLike) -> tuple[npt.NDArray[np.int64], npt.NDArray[Any]]:
    """Nearest centroid of each row of X (n, d) among centroids (K, d): (labels int64 (n,), sqdist (n,))."""

def soft_assign(X: npt.ArrayLike, W: npt.ArrayLike, b: npt.ArrayLike) -> npt.NDArray[Any]:
    """Row-wise softmax of X @ W.T + b: (n, K)."""

def route(assignment: npt.ArrayLike, cluster_error: npt.ArrayLike, cost: npt.ArrayLike,
          lam: float = 0.0) -> npt.NDArray[np.int64]:
    """argmin_m Phi(x).Psi[m] + lam * cost[m] for labels (n,) int or soft Phi (n, K)."""

def choice_table(cluster_error: npt.ArrayLike, cost: npt.ArrayLike,
                 lam: float = 0.0) -> npt.NDArray[np.int64]:
    """Chosen model per cluster for one lam: (K,) int64."""

def route_path(cluster_error: npt.ArrayLike, cost: npt.ArrayLike) -> tuple[
        npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Exact lam-path: (offsets (K+1,), model (T,), lam_lo (T,), lam_hi (T,))."""

def cluster_sums(X: npt.ArrayLike, labels: npt.ArrayLike,
                 n_clusters: int) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Per-cluster row sums (K, d) float64 and counts (K,) int64."""

def top_k_inner(queries: npt.ArrayLike, keys: npt.ArrayLike, k: int) -> npt.NDArray[np.int64]:
    """Indices (n, k), increasing, of the k keys with the largest inner product per query."""

def pairwise_sqdist(X: npt.ArrayLike, centroids: npt.ArrayLike) -> npt.NDArray[np.float32]:
    """All squared distances (n, t) float32, clamped at >= 0."""

def simd_info() -> dict[str, Any]:
    """SIMD path in use ('avx2' or 'baseline') and why, CPU support, threads, build."""

def get_num_threads() -> int: ...
def set_num_threads(n: int) -> None: ...

class CentroidIndex:
    """Centroids prepared for repeated assignment (fp32 + cached norms, fp16 copy)."""

    def __init__(self, centroids: npt.ArrayLike, half: bool = True,
                 fixed_point: bool = True) -> None: ...
    def assign(self, X: npt.ArrayLike) -> tuple[npt.NDArray[np.int64], npt.NDArray[Any]]: ...
    def nearest(self, x: npt.ArrayLike) -> int: ...
    @property
    def n_clusters(self) -> int: ...
    @property
    def dim(self) -> int: ...
    @property
    def uses_half(self) -> bool: ...
    @property
    def single_path(self) -> str: ...
    @property
    def centroids(self) -> npt.NDArray[np.float32]: ...

class DensePool:
    """A pool (cluster_error, cost) checked and converted to float32 once (dense route)."""

    def __init__(self, cluster_error: npt.ArrayLike, cost: npt.ArrayLike) -> None: ...
    def route(self, Phi: npt.ArrayLike, lam: float = 0.0) -> npt.NDArray[np.int64]: ...
    @property
    def n_models(self) -> int: ...
    @property
    def n_clusters(self) -> int: ...

class PoolRouter:
    """A pool (cluster_error, cost) over a CentroidIndex; caches the last lam's table."""

    def __init__(self, index: CentroidIndex, cluster_error: npt.ArrayLike,
                 cost: npt.ArrayLike) -> None: ...
    def route_one(self, x: npt.ArrayLike, lam: float = 0.0) -> int: ...
    def route_label(self, label: int, lam: float = 0.0) -> int: ...
    def route(self, X: npt.ArrayLike, lam: float = 0.0) -> npt.NDArray[np.int64]: ...
    def choice_table(self, lam: float = 0.0) -> npt.NDArray[np.int64]: ...
    @property
    def n_models(self) -> int: ...
    @property
    def index(self) -> CentroidIndex: ...

class StaticEncoder:
    """Static text encoder: BERT-uncased WordPiece + int8 token rows (bindings/text.cpp)."""

    def __init__(self, vocab: list[str], rows: npt.NDArray[np.int8],
                 scales: npt.NDArray[np.float32], max_tokens: int, normalize: bool = True,
                 unk_token: str = "[UNK]", added_tokens: list[str] = ...) -> None: ...
    @property
    def dim(self) -> int: ...
    @property
    def max_tokens(self) -> int: ...
    @property
    def vocab_size(self) -> int: ...
    @property
    def unk_id(self) -> int: ...
    def encode(self, texts: Any) -> npt.NDArray[np.float32]: ...
    def embed_one(self, text: str | bytes) -> npt.NDArray[np.float32]: ...
    def token_ids(self, text: str | bytes, max_tokens: int | None = None,
                  drop_unk: bool = False) -> list[int]: ...
