"""Airflow configuration for tests: set before anything imports airflow.

A throw-away AIRFLOW_HOME with a SQLite metadata database, this repository's dags/ and
plugins/, no examples.
"""

from __future__ import annotations

import os
import site
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def configure() -> Path:
    home = Path(tempfile.mkdtemp(prefix="airflow-home-"))
    os.environ.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        }
    )
    return home


def bare_python(search_path: list[Path], code: str) -> list[str]:
    """A command running code in an interpreter whose path is search_path and the installed
    third-party packages only: -S skips site's .pth files, among them the venv's editable
    install of this repository's plugins/, and -I ignores PYTHONPATH and the current folder."""
    path = [*map(str, search_path), *site.getsitepackages()]
    return [
        sys.executable,
        "-I",
        "-S",
        "-c",
        f"import sys; sys.path[:] = [*{path!r}, *sys.path]; {code}",
    ]
