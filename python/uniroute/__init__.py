"""uniroute: universal LLM routing (UniRoute, Jitkrittum et al., arXiv 2502.08773).

Send each prompt to the cheapest LLM expected to answer it well, from a pool of LLMs
that can change at serving time. See :class:`UniRouter`.
"""
from uniroute._config import config, get_num_threads, set_num_threads, show_config
from uniroute._core import __version__
from uniroute.calibration import Calibration
from uniroute.clustering import KMeans
from uniroute.exceptions import (
                                 EmptyPoolError,
                                 NoFeasibleModelError,
                                 NotFittedError,
                                 RouterFileError,
)
from uniroute.explain import Explanation
from uniroute.knn import KNNRouter
from uniroute.learned_map import LearnedMapRouter
from uniroute.router import RoutePath, UniRouter
from uniroute.tuning import Selection, select_hyperparameters

# Reached lazily: `import uniroute` loads no evaluation or dataset code.
_LAZY = {"select_n_clusters": "uniroute.evaluation.selection"}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'uniroute' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))

__all__ = [
    "Calibration",
    "EmptyPoolError",
    "Explanation",
    "KMeans",
    "KNNRouter",
    "LearnedMapRouter",
    "NoFeasibleModelError",
    "NotFittedError",
    "RoutePath",
    "RouterFileError",
    "Selection",
    "UniRouter",
    "__version__",
    "config",
    "get_num_threads",
    "select_hyperparameters",
    "select_n_clusters",
    "set_num_threads",
    "show_config",
]

