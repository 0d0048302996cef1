"""Which of this repository's files are loaded as modules under more than one name."""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Each installed under its one import name (pyproject.toml).
PACKAGES = ("fruits_contract", "fruit_pipeline", "fruitspark", "localaws", "scripts")
SOURCE_FOLDERS = tuple(
    ROOT / folder for folder in ("dags", "plugins", "spark_jobs", "localaws", "scripts", "tests")
)


def duplicate_imports() -> dict[str, list[str]]:
    """Repository file -> its module names, for the files sys.modules holds more than once."""
    names = defaultdict(list)
    for name, module in list(sys.modules.items()):
        location = getattr(module, "__file__", None)
        if location and any(Path(location).resolve().is_relative_to(f) for f in SOURCE_FOLDERS):
            names[str(Path(location).resolve().relative_to(ROOT))].append(name)
    return {path: sorted(found) for path, found in names.items() if len(found) > 1}
