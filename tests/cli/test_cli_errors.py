"""Every user mistake the CLI can meet ends in one line on stderr and exit code 2.

Each case runs ``uniroute`` in a subprocess (as a user would) and checks the whole of
stderr: exactly one line, naming what the case names, and no traceback.
"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.cli.cli_cases import CASES, make_files


@pytest.fixture(scope="module")
def case_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli_cases")
    make_files(folder)
    return folder


def run_cli(argv: list[str], env: dict[str, str] | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "uniroute.cli", *argv], capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **(env or {})},
                          stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("label, argv, expected", CASES, ids=[c[0] for c in CASES])
def test_user_error_is_one_line_and_exit_2(case_dir, label, argv, expected):
    argv = [a.replace("{dir}", str(case_dir)) for a in argv]
    env = {"PYTHONPATH": str(case_dir / "no_matplotlib")} if "PYTHONPATH" in label else None
    proc = run_cli(argv, env)
    lines = proc.stderr.splitlines()
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert expected.replace("{dir}", str(case_dir)) in lines[0]
    assert lines[0].startswith("uniroute ")
    assert proc.stdout == ""  # nothing ran: every check comes before the work


def test_help_has_no_format_or_rest_markup():
    for cmd in ([], ["evaluate"], ["select-k"], ["demo"], ["embed"]):
        proc = run_cli([*cmd, "--help"])
        assert proc.returncode == 0
        for bad in ("%%", "``", ":func:", ":class:"):
            assert bad not in proc.stdout, (cmd, bad)


@pytest.mark.parametrize("argv, codes", [(["demo", "--points", "10"], {141}),
                                         (["evaluate", "--help"], {0, 141})])
def test_closed_pipe_ends_quietly(argv, codes):
    """``uniroute demo | head``: the reader is gone before the output comes; no
    BrokenPipeError, nothing on stderr, exit 141 (128 + SIGPIPE, as a shell reports)."""
    proc = subprocess.Popen([sys.executable, "-m", "uniroute.cli", *argv],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL)
    proc.stdout.close()  # the reader goes away, as `head` does once it has its lines
    err = proc.stderr.read().decode()
    proc.stderr.close()
    proc.wait(timeout=120)
    assert err == "" and proc.returncode in codes  # argparse itself drops a failed --help write
