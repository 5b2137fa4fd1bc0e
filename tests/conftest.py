from __future__ import annotations

from pathlib import Path
from typing import Any

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


# ---------------------------------------------------------------- skip policy
# A skipped test is a test that did not run. The suite fails when a test is skipped for a
# reason that is not one of these (docs/testing.md explains each); a new optional
# dependency gets its importorskip reason added here AND a CI step that installs it.
ALLOWED_SKIPS: dict[str, str] = {
    r"needs (the optional package )?ray": "Ray is an extra; .ci/steps/20-ray.sh installs it "
                                          "and runs the test",
    r"real data .* not found|needs the optional real data set": (
        "the ../shared real data sets sit beside the checkout in CI and on the development "
        "machines, not in a wheel's test run"),
    r"could not import '(starlette|aiohttp|httpx|openai|litellm)'|needs uniroute\[litellm\]": (
        "the gateway extras (serve, litellm) and the openai client; .ci/steps/30-gateway.sh "
        "installs them and runs these tests"),
}
_skips: list[tuple[str, str]] = []


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        _skips.append((report.nodeid, _skip_reason(report)))


def _disallowed() -> list[tuple[str, str]]:
    import re

    return [(node, why) for node, why in _skips
            if not any(re.search(pattern, why) for pattern in ALLOWED_SKIPS)]


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: Any) -> None:
    if not _skips:
        return
    bad = _disallowed()
    terminalreporter.section("skip policy")
    terminalreporter.write_line(f"{len(_skips)} skipped, {len(bad)} for a reason not allowed "
                                "(see ALLOWED_SKIPS in tests/conftest.py, docs/testing.md)")
    for node, why in bad:
        terminalreporter.write_line(f"NOT ALLOWED: {node}: {why}", red=True)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _disallowed() and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
