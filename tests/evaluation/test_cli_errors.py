"""The CLI's user errors: exit code 2 and a message naming the argument, no traceback.

Checked through a real subprocess (what a user sees). The wording is free; the tests ask
only for the exit code, the argument's name (or value) in stderr and no traceback.
"""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest



def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "uniroute.cli", *args], capture_output=True,
                          text=True, timeout=300)


def assert_user_error(proc: subprocess.CompletedProcess, *names: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-500:])
    assert "Traceback" not in proc.stderr
    for name in names:
        assert name in proc.stderr, (name, proc.stderr[-500:])


def test_a_malformed_number_names_its_option():
    assert_user_error(cli("evaluate", "zeroeval_math_code", "--trials", "abc"), "--trials")


def test_data_without_embeddings_is_refused(tmp_path):
    path = tmp_path / "bare.npz"
    np.savez(path, quality=np.ones((5, 2)), cost=np.ones(2), models=np.array(["a", "b"]))
    assert_user_error(cli("evaluate", str(path), "--trials", "1"), "embeddings")


def test_a_missing_data_file_is_a_user_error(tmp_path):
    missing = str(tmp_path / "missing.npz")
    assert_user_error(cli("evaluate", missing, "--trials", "1"), missing)
    assert_user_error(cli("demo", "--dataset", "nope"), "nope")


@pytest.mark.parametrize("args,name", [
    (("evaluate", "zeroeval_math_code", "--trials", "0", "--quiet"), "--trials"),
    (("evaluate", "zeroeval_math_code", "--trials", "1", "--routers", "nope", "--quiet"), "nope"),
    (("select-k", "zeroeval_math_code", "--trials", "1", "--grid", "0"), "--grid"),
])
def test_an_impossible_value_names_its_argument(args, name):
    assert_user_error(cli(*args), name)
