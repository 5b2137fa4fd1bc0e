"""Routing data sets: prompts x LLMs quality, costs, and prompt embeddings.

``load(name_or_path)`` returns a :class:`RoutingDataset`; ``list_bundled()`` names the
data sets shipped inside the package.
"""
from uniroute.datasets.core import RoutingDataset, list_bundled, load, read_npz, write_npz

__all__ = ["RoutingDataset", "list_bundled", "load", "read_npz", "write_npz"]
