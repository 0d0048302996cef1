"""The compose stack's Airflow, run as local processes on the local AWS: what
tests/e2e/test_ui_trigger.py drives through the UI, the REST API and the CLI.

airflow-init, then the api-server, scheduler, dag-processor and triggerer, each with the
environment docker-compose.yaml gives its container (LocalExecutor, SimpleAuthManager with the
admin from .env, the shared JWT secret, every FRUITS_ variable), built from a .env that
`make env` writes from .env.example. Only what a container's world names differently is
changed: folders, ports, and the addresses of the local AWS and of the database, a PostgreSQL
server from Debian's packages with the postgres service's user, password and database. The
DAGs folder also holds the example consumer of docs/examples/, as a user who copied it there.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import httpx

from fruit_pipeline.run_interval import DAY, midnight
from fruits_contract.landing import landing_key
from localaws.client import client, read_parquet, upload_folder
from localaws.process import LocalAws, free_port
from scripts.fruits_sample import generate
from scripts.new_env import fill_secrets
from tests.airflow_env import unmeasured
from tests.docker import compose
from tests.e2e.postgres import postgres_server
from tests.e2e.sns_inbox import alerts_inbox

BIN = Path(sys.executable).parent
ARTIFACTS = compose.ROOT / "test-artifacts"
CLASSES, PER_CLASS = 3, 8
CONSUMER = compose.ROOT / "docs/examples/fruit_pca_consumer.py"
LOCALAWS_IN_COMPOSE = "http://localaws:4566"
POSTGRES_IN_COMPOSE = "@postgres/"


@dataclass
class Stack:
    api: httpx.Client
    ui_url: str
    username: str
    password: str
    environment: dict[str, str]
    s3: object
    emr: object
    bucket: str
    logs: Path
    secrets: dict[str, str]
    aws_endpoint: str
    alerts_queue: str


def wait_for(what: str, check, timeout: float, logs: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(2)
    raise TimeoutError(f"{what} within {timeout:.0f}s; logs in {logs}")


def responds(url: str) -> bool:
    try:
        return httpx.get(url, timeout=5).status_code == 200
    except httpx.TransportError:
        return False


def dags_folder(folder: Path) -> Path:
    """fruit_features and, beside it, the example consumer of its PCA asset."""
    folder.mkdir()
    for dag_file in (compose.ROOT / "dags/fruit_features.py", CONSUMER):
        (folder / dag_file.name).symlink_to(dag_file)
    return folder


def host_overrides(home: Path, dags: Path, api_port: int) -> dict[str, str]:
    """What differs between a container and this machine: paths, ports, addresses, database."""
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(compose.ROOT / "plugins"),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(api_port),
        "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(free_port()),
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
    }


def machine_environment() -> dict[str, str]:
    """This process's environment without the Airflow settings the other tests' conftest made."""
    return {name: value for name, value in os.environ.items() if not name.startswith("AIRFLOW")}


def start(service: str, environment: dict[str, str], logs: Path) -> subprocess.Popen:
    """The service's compose command, `airflow <command>`, as a local process."""
    command = compose.load()["services"][service]["command"]
    with (logs / f"{service}.log").open("w") as log:
        return subprocess.Popen(
            [str(BIN / "airflow"), *command.split()],
            env=environment,
            cwd=compose.ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def seed(endpoint: str, dotenv: dict[str, str]) -> None:
    """The localaws-seed service's command, with images of two days ago: the first run takes
    them all, and a later one finds nothing new and is skipped."""
    command = compose.load()["services"]["localaws-seed"]["command"]
    command = [sys.executable if part == "python" else part for part in command]
    command[command.index(LOCALAWS_IN_COMPOSE)] = endpoint
    command += ["--classes", str(CLASSES), "--per-class", str(PER_CLASS), "--days-ago", "2"]
    environment = {**machine_environment(), **compose.service_environment("localaws-seed", dotenv)}
    subprocess.run(command, env=environment, cwd=compose.ROOT, check=True)


def airflow_init(environment: dict[str, str], logs: Path) -> None:
    """The airflow-init service's script: migrate, register the admin from the environment."""
    script = Path(compose.load()["services"]["airflow-init"]["command"][-1]).name
    with (logs / "airflow-init.log").open("w") as log:
        subprocess.run(
            ["bash", str(compose.ROOT / "docker/airflow" / script)],
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            check=True,
        )


@contextlib.contextmanager
def running_stack(folder: Path) -> Iterator[Stack]:
    """The stack in folder, for as long as the context lasts."""
    logs = folder / "logs"
    logs.mkdir()
    env_path = folder / ".env"
    env_text, secret_names = fill_secrets(compose.ENV_EXAMPLE.read_text())
    env_path.write_text(env_text)
    dotenv = compose.env_file(env_path)
    # A user's own settings: the scheduled run, after the triggered one has taken every
    # image, finds nothing new and is skipped soon. Its sensor looks again after 10 s: a
    # trigger that fires within a second or two resumes the task before the scheduler has
    # drained its deferral's executor event, and Airflow 3.3 then fails it
    # (apache/airflow#72716), retry after retry.
    dotenv |= {
        "FRUITS_SENSOR_TIMEOUT_SECONDS": "15",
        "FRUITS_POKE_SECONDS": "10",
        "AIRFLOW_TASK_RETRY_DELAY_SECONDS": "2",
    }

    database = compose.service_environment("postgres", dotenv)
    local_aws = LocalAws(logs / "localaws.log")
    processes: list[subprocess.Popen] = []
    database_server = contextlib.ExitStack()
    try:
        postgres_port = database_server.enter_context(
            postgres_server(
                database["POSTGRES_USER"],
                database["POSTGRES_PASSWORD"],
                database["POSTGRES_DB"],
                logs / "postgres.log",
            )
        )
        seed(local_aws.endpoint, dotenv)
        # Alerts to an inbox; a run still running after 15 s alerts too.
        topic, alerts_queue = alerts_inbox(local_aws.endpoint)
        dotenv |= {"FRUITS_ALERTS_TOPIC_ARN": topic, "FRUITS_RUN_ALERT_MINUTES": "0.25"}

        api_port = free_port()
        overrides = host_overrides(folder / "airflow-home", dags_folder(folder / "dags"), api_port)
        (folder / "airflow-home").mkdir()

        def environment_of(service: str) -> dict[str, str]:
            environment = compose.service_environment(service, dotenv)
            environment["AIRFLOW_CONN_AWS_DEFAULT"] = environment[
                "AIRFLOW_CONN_AWS_DEFAULT"
            ].replace(LOCALAWS_IN_COMPOSE, local_aws.endpoint)
            environment["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = environment[
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"
            ].replace(POSTGRES_IN_COMPOSE, f"@127.0.0.1:{postgres_port}/")
            return unmeasured({**machine_environment(), **environment, **overrides})

        airflow_init(environment_of("airflow-init"), logs)
        environment = environment_of("airflow-scheduler")
        processes = [start(service, environment, logs) for service in compose.AIRFLOW_SERVICES]

        base_url = f"http://127.0.0.1:{api_port}"
        wait_for("api-server up", lambda: responds(f"{base_url}/api/v2/monitor/health"), 90, logs)
        username = dotenv["AIRFLOW_ADMIN_USERNAME"]
        password = dotenv["AIRFLOW_ADMIN_PASSWORD"]
        token = httpx.post(
            f"{base_url}/auth/token", json={"username": username, "password": password}
        ).raise_for_status()
        api = httpx.Client(
            base_url=f"{base_url}/api/v2",
            headers={"Authorization": f"Bearer {token.json()['access_token']}"},
            timeout=30,
        )
        for dag_id in ("fruit_features", "fruit_pca_consumer"):
            wait_for(
                f"{dag_id} parsed",
                lambda dag_id=dag_id: api.get(f"/dags/{dag_id}").status_code == 200,
                120,
                logs,
            )
        yield Stack(
            api=api,
            ui_url=base_url,
            username=username,
            password=password,
            environment=environment,
            s3=client("s3", local_aws.endpoint),
            emr=client("emr", local_aws.endpoint),
            bucket=dotenv["FRUITS_DATA_BUCKET"],
            logs=logs,
            secrets={name: dotenv[name] for name in secret_names},
            aws_endpoint=local_aws.endpoint,
            alerts_queue=alerts_queue,
        )
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        local_aws.stop()
        database_server.close()


def run_path(run_id: str) -> str:
    return f"/dags/fruit_features/dagRuns/{quote(run_id, safe='')}"


def task_states(stack, run_id: str) -> dict[str, str]:
    tasks = stack.api.get(f"{run_path(run_id)}/taskInstances").json()["task_instances"]
    return {task["task_id"]: task["state"] for task in tasks}


def clusters_of(stack, run_id: str) -> list[dict]:
    """The run's clusters, described, oldest first."""
    described = [
        stack.emr.describe_cluster(ClusterId=summary["Id"])["Cluster"]
        for summary in stack.emr.list_clusters()["Clusters"]
    ]
    own = [c for c in described if {"Key": "run_id", "Value": run_id} in c["Tags"]]
    return sorted(own, key=lambda cluster: cluster["Status"]["Timeline"]["CreationDateTime"])


def upload_images(stack, tmp_path_factory, seed: int) -> set[str]:
    """Two new images, landed now: their paths in the features."""
    folder = tmp_path_factory.mktemp(f"images-{seed}")
    paths = generate(folder, classes=2, per_class=1, seed=seed, start=seed * 10)
    now = datetime.now(UTC)
    upload_folder(stack.s3, folder, stack.bucket, "images/", now)
    return {
        f"s3://{stack.bucket}/{landing_key('images/', now, p.relative_to(folder).as_posix())}"
        for p in paths
    }


def all_feature_paths(stack) -> list[str]:
    return list(read_parquet(stack.s3, stack.bucket, "features/")["path"])


def asset_events(stack) -> list[dict]:
    return stack.api.get("/assets/events", params={"limit": 1000}).json()["asset_events"]


def ended(stack, run_id: str) -> dict | None:
    run = stack.api.get(run_path(run_id)).json()
    return run if run["state"] in ("success", "failed") else None


def featurize_running(stack, run_id: str) -> dict | None:
    """The run's cluster, once its featurize step runs."""
    for cluster in clusters_of(stack, run_id):
        steps = stack.emr.list_steps(ClusterId=cluster["Id"])["Steps"]
        if any(s["Name"] == "featurize" and s["Status"]["State"] == "RUNNING" for s in steps):
            return cluster
    return None


def dateless_run(stack) -> str:
    """A run triggered through the REST API without a logical date: its id."""
    triggered = stack.api.post("/dags/fruit_features/dagRuns", json={"logical_date": None})
    return triggered.raise_for_status().json()["dag_run_id"]


def schedule_quiet(stack, for_seconds: float) -> None:
    """Waits until the daily schedule will not start a run for for_seconds: its run of the
    day that ended at the last midnight exists and has ended, and the next midnight is
    further away. A story that lands images then knows which run takes them, even when the
    suite runs across midnight (queued runs start in the order of their run_after, one at a
    time: a scheduled run created after a story's run waits for it)."""

    def quiet() -> bool:
        now = datetime.now(UTC)
        if midnight(now) + DAY - now < timedelta(seconds=for_seconds):
            return False
        runs = stack.api.get("/dags/fruit_features/dagRuns", params={"limit": 100}).json()
        scheduled = [run for run in runs["dag_runs"] if run["run_type"] == "scheduled"]
        ticked = any(
            datetime.fromisoformat(run["data_interval_end"]) >= midnight(now) for run in scheduled
        )
        return ticked and all(run["state"] in ("success", "failed") for run in scheduled)

    wait_for("the daily schedule quiet", quiet, for_seconds + 600, stack.logs)
