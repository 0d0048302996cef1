"""`make check` and the pre-commit hooks run the same checks, with the lock's tools."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def test_the_pre_commit_configuration_is_valid_and_runs_makes_checks():
    config = ROOT / ".pre-commit-config.yaml"
    done = subprocess.run(
        [str(BIN / "pre-commit"), "validate-config", str(config)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    hooks = [
        hook["entry"]
        for repo in yaml.safe_load(config.read_text())["repos"]
        for hook in repo["hooks"]
    ]
    makefile = (ROOT / "Makefile").read_text()
    for tool in ("ruff check", "ruff format --check", "mypy"):
        assert any(entry.startswith(f".venv/bin/{tool}") for entry in hooks), tool
        assert re.search(rf"\$\(BIN\)/{re.escape(tool)}\b", makefile), tool
    assert re.search(r"^check: lint typecheck$", makefile, re.M)
    assert re.search(r"^test: lint typecheck ", makefile, re.M)
