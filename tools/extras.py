"""Print the requirements of some of pyproject.toml's extras, one per line, so that CI
steps install an extra's dependencies without rebuilding the package:

    python tools/extras.py serve litellm | xargs -d '\\n' pip install
"""
from __future__ import annotations

import sys
import tomllib
from pathlib import Path

extras = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())[
    "project"]["optional-dependencies"]
for name in sys.argv[1:]:
    if name not in extras:
        sys.exit(f"unknown extra {name!r}; pyproject.toml has {sorted(extras)}")
    print("\n".join(extras[name]))
