"""`make check` and the pre-commit hooks run the same checks, with the lock's tools; `make
test` starts every end-to-end module before the quick ones."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

from tests.conftest import E2E_LONGEST_FIRST

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


def test_every_end_to_end_module_has_its_place_in_the_start_order():
    modules = {path.relative_to(ROOT).as_posix() for path in (ROOT / "tests/e2e").glob("test_*.py")}
    assert set(E2E_LONGEST_FIRST) == modules
    assert "--no-loadscope-reorder" in (ROOT / "Makefile").read_text()
