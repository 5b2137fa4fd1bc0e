from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


@pytest.fixture
def saved(tmp_path, rng):
    """A small fitted router with two models, saved to a file (the io tests' subject)."""
    from uniroute import UniRouter

    X = rng.standard_normal((200, 5)).astype(np.float32)
    r = UniRouter(n_clusters=3, random_state=0).fit(X)
    r.add_model("a", 1.0, X[:50], rng.random(50) < 0.5)
    r.add_model("b", 2.0, X[:50], rng.random(50) < 0.9)
    path = tmp_path / "r.npz"
    r.save(path)
    return path


def shared_data(name: str) -> Path:
    """Path of a shared real data set, or skip the test with the reason."""
    path = SHARED_DATA / name
    if not path.is_dir():
        pytest.skip(f"needs the optional real data set {name!r} (not shipped in the package), "
                    f"looked for at {path}")
    return path
