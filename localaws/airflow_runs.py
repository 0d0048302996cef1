"""Runs of the real fruit_features DAG against a local AWS, through the airflow CLI.

The environment is the one `make demo` and the end-to-end tests give Airflow: a home of its
own, this repository's dags/ and plugins/ (nothing else: as MWAA or a plain Airflow deploys
it), and an aws_default connection to the local AWS.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from localaws.client import CREDENTIALS, REGION

ROOT = Path(__file__).resolve().parent.parent
AIRFLOW = Path(sys.executable).with_name("airflow")
DAG_ID = "fruit_features"


def airflow_environment(endpoint: str, home: Path, bucket: str) -> dict[str, str]:
    """The process environment of an Airflow whose DAG uses s3://bucket on the local AWS."""
    connection = {
        "conn_type": "aws",
        "login": CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "password": CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        "extra": {"region_name": REGION, "endpoint_url": endpoint},
    }
    return {
        **os.environ,
        **CREDENTIALS,
        "AIRFLOW_HOME": str(home),
        # Its own database and logs, whatever the calling process configured for itself.
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW_CONN_AWS_DEFAULT": json.dumps(connection),
        "FRUITS_DATA_BUCKET": bucket,
        "FRUITS_ARTIFACTS_URI": f"s3://{bucket}/artifacts/",
        "FRUITS_LOGS_URI": f"s3://{bucket}/emr-logs/",
        "FRUITS_SENSOR_TIMEOUT_SECONDS": "60",
        "FRUITS_POKE_SECONDS": "3",
        # The local AWS answers at once: a retry need not wait Airflow's default 5 minutes.
        "AIRFLOW__CORE__DEFAULT_TASK_RETRY_DELAY": "5",
    }


def airflow(environment: dict[str, str], *arguments: str, log: Path) -> str:
    """Run the airflow CLI; its output is appended to log, its stdout returned."""
    with log.open("a") as output:
        done = subprocess.run(
            [str(AIRFLOW), *arguments],
            env=environment,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=output,
            text=True,
            check=False,
        )
        output.write(done.stdout)
    if done.returncode != 0:
        raise RuntimeError(f"`airflow {' '.join(arguments)}` failed: see {log}")
    return done.stdout


def json_output(stdout: str):
    """The JSON an `airflow ... -o json` command printed last (warnings may come first)."""
    return json.loads(stdout.strip().splitlines()[-1])


def run_dag(
    environment: dict[str, str], run_date: str, log: Path, conf: dict | None = None
) -> tuple[str, list[dict]]:
    """`airflow dags test fruit_features run_date [--conf ...]`, the run of day run_date (it
    processes [run_date, run_date + 1 day), as the scheduled run of that date): the run's
    state and its task instances (task_id, state, start_date, end_date)."""
    command = ["dags", "test", DAG_ID, run_date, *(["--conf", json.dumps(conf)] if conf else [])]
    with contextlib.suppress(RuntimeError):  # a failed run is reported by its state
        airflow(environment, *command, log=log)
    return latest_run(environment, run_date)


def latest_run(environment: dict[str, str], run_date: str) -> tuple[str, list[dict]]:
    """The state and task instances of the last run dated run_date, read from the SQLite
    database of airflow_environment's home: what `airflow dags list-runs` and `airflow tasks
    states-for-dag-run` print, without starting two Airflow processes (3 CPU-s each)."""
    run_query = (
        "SELECT run_id, state FROM dag_run WHERE dag_id = ? AND logical_date LIKE ?"
        " ORDER BY run_after DESC LIMIT 1"
    )
    task_query = (
        "SELECT task_id, state, start_date, end_date FROM task_instance"
        " WHERE dag_id = ? AND run_id = ? ORDER BY start_date IS NULL, start_date, task_id"
    )
    with contextlib.closing(sqlite3.connect(database(environment), timeout=30)) as connection:
        connection.row_factory = sqlite3.Row
        run = connection.execute(run_query, (DAG_ID, f"{run_date}%")).fetchone()
        if run is None:
            raise RuntimeError(f"no run of {DAG_ID} dated {run_date} in {database(environment)}")
        tasks = connection.execute(task_query, (DAG_ID, run["run_id"])).fetchall()
    return run["state"], [dict(task) for task in tasks]


def database(environment: dict[str, str]) -> str:
    """The SQLite file of airflow_environment's home."""
    return environment["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].removeprefix("sqlite:///")


def asset_events(environment: dict[str, str], run_id: str | None = None) -> dict[str, dict]:
    """asset name -> extra of the asset events recorded (by run_id's run only, if given),
    read from the SQLite database of airflow_environment's home."""
    query = (
        "SELECT asset.name, asset_event.extra FROM asset_event"
        " JOIN asset ON asset.id = asset_event.asset_id"
    )
    if run_id is not None:
        query += " WHERE asset_event.source_run_id = ?"
    with contextlib.closing(sqlite3.connect(database(environment))) as connection:
        rows = connection.execute(query, () if run_id is None else (run_id,)).fetchall()
    return {name: json.loads(extra) for name, extra in rows}


def task_seconds(task: dict) -> float:
    start, end = task.get("start_date"), task.get("end_date")
    if not (start and end):
        return float("nan")
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def task_lines(tasks: list[dict]) -> list[str]:
    return [
        f"  {task['task_id']:<24} {task['state']:<10} {task_seconds(task):6.1f}s" for task in tasks
    ]
