"""Loading the DATA argument: every problem is one line naming the file and the fix."""
from __future__ import annotations

import zipfile
from typing import TYPE_CHECKING

from uniroute._cli.errors import UsageError

if TYPE_CHECKING:
    from uniroute.datasets import RoutingDataset


def load_data(source: str) -> RoutingDataset:
    """``uniroute.datasets.load(source)``, with its errors turned into a UsageError."""
    from uniroute import datasets

    try:
        return datasets.load(source)
    except ImportError as exc:
        raise UsageError(f"{source}: {exc}") from None
    except (ValueError, TypeError, OSError, EOFError, zipfile.BadZipFile) as exc:
        text = " ".join(str(exc).split()) or type(exc).__name__
        raise UsageError(text if source in text else f"{source}: {text}") from None


def need_embeddings(data: RoutingDataset, source: str) -> None:
    """Refuse a data set without embeddings, naming the command that adds them."""
    if data.embeddings is not None:
        return
    if data.prompts:
        raise UsageError(f"{source} has no embeddings; add them from its prompt texts: "
                         f"uniroute embed {source} --encoder use -o embedded.npz")
    raise UsageError(f"{source} has no 'embeddings' array and no prompt texts to embed; add an "
                     "'embeddings' (n_prompts, dim) array (see uniroute.datasets)")
