"""Routing data sets: prompts x LLMs quality, costs, and prompt embeddings.

``load(name_or_path)`` returns a :class:`RoutingDataset` from a bundled name or a file
or folder in any supported format; ``list_bundled()`` names the data sets shipped
inside the package.
"""
from uniroute.datasets.core import RoutingDataset, list_bundled, load, read_npz, write_npz
from uniroute.datasets.embedllm import read_embedllm
from uniroute.datasets.long import read_long
from uniroute.datasets.routerbench import read_routerbench_csv, read_routerbench_matrices
from uniroute.datasets.routerdc import read_routerdc
from uniroute.datasets.validation import DataError
from uniroute.datasets.zeroeval import read_zeroeval

__all__ = [
    "DataError",
    "RoutingDataset",
    "list_bundled",
    "load",
    "read_embedllm",
    "read_long",
    "read_npz",
    "read_routerbench_csv",
    "read_routerbench_matrices",
    "read_routerdc",
    "read_zeroeval",
    "write_npz",
]
