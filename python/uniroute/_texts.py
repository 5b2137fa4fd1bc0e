"""Prompt text arguments: the one check shared by the encoders and the routers."""
from __future__ import annotations

from typing import Any


def as_texts(texts: Any, name: str = "prompts") -> tuple[list[str], bool]:
    """``texts`` as a list of str, and whether a single str was given."""
    if isinstance(texts, str):
        return [texts], True
    if isinstance(texts, (bytes, bytearray)) or not hasattr(texts, "__iter__"):
        raise TypeError(f"{name} must be a str or a sequence of str, got {type(texts).__name__}")
    items = list(texts)
    for i, t in enumerate(items):
        if not isinstance(t, str):
            raise TypeError(f"{name}[{i}] is a {type(t).__name__}, expected str")
    return items, False
