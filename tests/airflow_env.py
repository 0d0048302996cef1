"""Airflow configuration for tests: set before anything imports airflow.

A throw-away AIRFLOW_HOME with a SQLite metadata database, this repository's dags/ and
plugins/, no examples.
"""

from __future__ import annotations

import os
import site
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Where coverage's `patch = subprocess` hands its settings to the processes a test starts.
COVERAGE_SETTINGS_VARIABLE = "COVERAGE_PROCESS_CONFIG"


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


def unmeasured(environment: dict[str, str]) -> dict[str, str]:
    """environment for Airflow's own processes (the `airflow` commands, `dags test` among
    them, and the UI test's services): coverage does not measure them. Its tracer costs them
    about 40% more CPU, mostly in Airflow's, the provider's and boto3's code, and the product
    code they run is measured in-process by tests/dags and tests/plugins
    (docs/development.md, "Coverage")."""
    return {
        name: value for name, value in environment.items() if name != COVERAGE_SETTINGS_VARIABLE
    }


def run_bare_python(search_path: list[Path], code: str) -> subprocess.CompletedProcess:
    """Run code in an interpreter whose path is search_path and the installed third-party
    packages only, as a deployed Airflow's: -S skips site's .pth files, among them the venv's
    editable install of this repository's packages, and PYTHONPATH is all the path it gets,
    with search_path[0] as its current folder."""
    path = [*map(str, search_path), *site.getsitepackages()]
    return subprocess.run(
        [sys.executable, "-S", "-c", code],
        cwd=search_path[0],
        env={"PATH": os.environ["PATH"], "PYTHONPATH": os.pathsep.join(path)},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
