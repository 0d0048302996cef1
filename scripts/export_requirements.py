"""Export requirement files from uv.lock, the single source of package versions.

Each file installs exactly the locked versions (with hashes) somewhere uv does not run:
the EMR bootstrap action and the two Docker images. `make requirements` rewrites them;
tests/test_lock_exports.py fails when a committed file no longer matches the lock.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

EXPORTS: dict[str, list[str]] = {
    # What the steps import; EMR 7 ships its own Spark, and TensorFlow never runs there.
    "spark_jobs/requirements-emr.txt": ["--only-group", "emr"],
    # Installed over the official Airflow image, whose own Airflow is the same version.
    "docker/airflow/requirements.txt": ["--only-group", "airflow"],
    # The local AWS runs the steps with a real pyspark, and its seed exports the CNNs.
    "docker/localaws/requirements.txt": [
        "--only-group",
        "spark",
        "--only-group",
        "export",
        "--only-group",
        "localaws",
    ],
}


def uv_executable() -> str:
    venv_uv = Path(sys.executable).with_name("uv")
    return str(venv_uv) if venv_uv.exists() else (shutil.which("uv") or "uv")


def render(args: list[str]) -> str:
    command = [uv_executable(), "export", "--frozen", "--no-emit-project", "--quiet", *args]
    return subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True).stdout


def main() -> None:
    for relative_path, args in EXPORTS.items():
        (ROOT / relative_path).write_text(render(args))
        print(f"wrote {relative_path}")


if __name__ == "__main__":
    main()
