"""``save()``: errors name the user's path; the file's mode follows the umask."""
from __future__ import annotations

import os
import stat

import numpy as np
import pytest
from uniroute import UniRouter


@pytest.fixture
def router(rng):
    X = rng.standard_normal((60, 4)).astype(np.float32)
    r = UniRouter(n_clusters=3, random_state=0).fit(X)
    r.add_model("a", 1.0, X[:20], (rng.random(20) < 0.5).astype(np.float32))
    return r


def test_save_into_a_missing_folder_names_the_path(router, tmp_path):
    target = tmp_path / "missing" / "r.uniroute"
    with pytest.raises(FileNotFoundError) as err:
        router.save(target)
    assert str(target) in str(err.value) and str(tmp_path / "missing") in str(err.value)
    assert ".tmp" not in str(err.value)


def test_save_over_a_folder_names_the_path(router, tmp_path):
    with pytest.raises(IsADirectoryError, match=str(tmp_path)):
        router.save(tmp_path)


@pytest.mark.skipif(os.name != "posix", reason="file modes and umask are POSIX")
@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_saved_file_mode_follows_the_umask(router, tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        router.save(tmp_path / "r.uniroute")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "r.uniroute").stat().st_mode) == mode
    assert UniRouter.load(tmp_path / "r.uniroute").models == ["a"]
