"""The Airflow UI's trigger, for real, on the compose stack's Airflow run as local processes.

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
import itertools
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from fruits_contract.landing import landing_key
from localaws.client import client, latest_version, read_parquet, upload_folder
from localaws.process import LocalAws, free_port
from scripts.fruits_sample import generate
from scripts.new_env import fill_secrets
from tests.docker import compose
from tests.e2e.browser import logged_in_page
from tests.e2e.postgres import postgres_server
from tests.e2e.sns_inbox import alerts_inbox, received_alerts

pytestmark = pytest.mark.slow

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


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ui")
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
            return {**machine_environment(), **environment, **overrides}

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


def test_compose_healthchecks_pass_on_the_running_services(stack):
    services = compose.load()["services"]
    ports = {
        "8080": stack.environment["AIRFLOW__API__PORT"],
        "8974": stack.environment["AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT"],
    }
    for service in compose.AIRFLOW_SERVICES:
        command = services[service]["healthcheck"]["test"][1:]
        if command[0] == "curl":
            url = command[-1]
            for container_port, local_port in ports.items():
                url = url.replace(f":{container_port}/", f":{local_port}/")
            wait_for(f"{service} healthy at {url}", lambda url=url: responds(url), 60, stack.logs)
        else:
            check = subprocess.run(
                command, env=stack.environment, capture_output=True, text=True, check=False
            )
            assert check.returncode == 0, f"{service}: {check.stdout}{check.stderr}"


def test_an_invalid_conf_is_refused_before_any_run(stack):
    for conf in ({"model": "alexnet"}, {"variance": 1.5}, {"core_instance_count": 21}):
        response = stack.api.post(
            "/dags/fruit_features/dagRuns",
            json={"logical_date": datetime.now(UTC).isoformat(), "conf": conf},
        )
        assert response.status_code == 400, (conf, response.text)
        assert next(iter(conf)) in response.json()["detail"]
    runs = stack.api.get("/dags/fruit_features/dagRuns").json()
    assert runs["total_entries"] == 0
    assert stack.emr.list_clusters()["Clusters"] == []


def consumer_runs(stack) -> list[dict]:
    return stack.api.get("/dags/fruit_pca_consumer/dagRuns").json()["dag_runs"]


def succeeded_manual_run(runs: list[dict]) -> str:
    """The UI-triggered run that succeeded (a skipped scheduled run counts as success too)."""
    (run_id,) = [
        run["dag_run_id"]
        for run in runs
        if run["state"] == "success" and run["run_type"] == "manual"
    ]
    return run_id


def test_a_run_triggered_with_a_conf_succeeds_and_writes_the_outputs(stack):
    # Triggered while the DAG is paused, to run before the scheduled run that unpausing
    # creates (queued runs start in the order of their run_after): the scheduled run then
    # finds every image taken, and is skipped.
    triggered = stack.api.post(
        "/dags/fruit_features/dagRuns",
        json={
            "logical_date": datetime.now(UTC).isoformat(),
            "run_after": (datetime.now(UTC) - timedelta(days=3)).isoformat(),
            "conf": {"mode": "full", "variance": 0.9, "core_instance_count": 1},
        },
    ).raise_for_status()
    run_id = triggered.json()["dag_run_id"]
    for dag_id in ("fruit_features", "fruit_pca_consumer"):
        stack.api.patch(f"/dags/{dag_id}", json={"is_paused": False}).raise_for_status()

    def finished():
        run = stack.api.get(f"/dags/fruit_features/dagRuns/{run_id}").json()
        return run if run["state"] in ("success", "failed") else None

    run = wait_for(f"run {run_id} finished", finished, 480, stack.logs)
    tasks = stack.api.get(f"/dags/fruit_features/dagRuns/{run_id}/taskInstances").json()
    states = {task["task_id"]: task["state"] for task in tasks["task_instances"]}
    assert run["state"] == "success", states
    assert set(states.values()) == {"success"}, states
    assert run["conf"]["mode"] == "full"

    features = read_parquet(stack.s3, stack.bucket, "features/model=mobilenet_v2/")
    assert len(features) == CLASSES * PER_CLASS
    assert features["label"].nunique() == CLASSES
    report_prefix = latest_version(stack.s3, stack.bucket, "pca/model=mobilenet_v2/")
    report = stack.s3.get_object(Bucket=stack.bucket, Key=f"{report_prefix}_report/report.json")
    assert json.loads(report["Body"].read())["rows"] == 24
    (cluster,) = stack.emr.list_clusters()["Clusters"]
    assert cluster["Status"]["State"] == "TERMINATED"
    assert cluster["Name"].startswith(f"fruit_features {run_id}")
    # It ran past FRUITS_RUN_ALERT_MINUTES (15 s): the scheduler saw its deadline missed and
    # the triggerer published the alert.
    late = f"run:       {run_id}"
    alerts = received_alerts(
        stack.aws_endpoint,
        stack.alerts_queue,
        until=lambda alerts: any(late in alert["Message"] for alert in alerts),
        timeout=120,
    )
    (alert,) = [alert for alert in alerts if late in alert["Message"]]
    assert alert["Subject"] == "fruit_features: a run is still running"
    assert "still running after 0.25 min" in alert["Message"]
    # The explicit core_instance_count wins over the sizing, which would choose a single node.
    groups = stack.emr.list_instance_groups(ClusterId=cluster["Id"])["InstanceGroups"]
    assert sorted((g["InstanceGroupType"], g["RequestedInstanceCount"]) for g in groups) == [
        ("CORE", 1),
        ("MASTER", 1),
    ]

    run_page = f"/dags/fruit_features/runs/{quote(run_id, safe='')}"
    screenshot = ARTIFACTS / "fruit_features-run.png"
    shown = logged_in_page(
        stack.ui_url + run_page,
        stack.username,
        stack.password,
        ready_when="terminate_emr_cluster",
        screenshot=screenshot,
        profile=stack.logs / "chromium-profile",
    )
    assert run_id in shown
    assert "Success" in shown
    for task_id in ("wait_for_new_images", "create_emr_cluster", "watch_spark_steps"):
        assert task_id in shown
    assert screenshot.stat().st_size > 10_000


def test_the_successful_run_triggers_the_consumer_with_its_pca_version(stack):
    runs = stack.api.get("/dags/fruit_features/dagRuns").json()["dag_runs"]
    succeeded = succeeded_manual_run(runs)

    def consumer_finished():
        finished = [run for run in consumer_runs(stack) if run["state"] in ("success", "failed")]
        return finished or None

    (consumer,) = wait_for("the consumer DAG run", consumer_finished, 120, stack.logs)
    assert consumer["state"] == "success"
    assert consumer["run_type"] == "asset_triggered"
    entry = (
        f"/dags/fruit_pca_consumer/dagRuns/{quote(consumer['dag_run_id'], safe='')}"
        "/taskInstances/log_new_pca_versions/xcomEntries/return_value"
    )
    (received,) = stack.api.get(entry).json()["value"]
    assert received["source_run_id"] == succeeded
    published = latest_version(stack.s3, stack.bucket, "pca/model=mobilenet_v2/")
    assert received["version_uri"] == f"s3://{stack.bucket}/{published}"
    assert received["rows"] == CLASSES * PER_CLASS
    assert received["variance"] >= 0.9


def test_an_unknown_conf_key_fails_the_run_before_any_aws_call(stack):
    """Airflow's REST API accepts a conf key that is no param; the first task refuses it."""
    clusters_before = stack.emr.list_clusters()["Clusters"]
    triggered = stack.api.post(
        "/dags/fruit_features/dagRuns",
        json={"logical_date": datetime.now(UTC).isoformat(), "conf": {"K": 5}},
    ).raise_for_status()
    run_id = triggered.json()["dag_run_id"]

    def finished():
        run = stack.api.get(f"/dags/fruit_features/dagRuns/{run_id}").json()
        return run if run["state"] in ("success", "failed") else None

    assert wait_for(f"run {run_id} finished", finished, 180, stack.logs)["state"] == "failed"
    task = f"/dags/fruit_features/dagRuns/{run_id}/taskInstances/wait_for_new_images"
    assert stack.api.get(task).json()["state"] == "failed"
    log = stack.api.get(f"{task}/logs/1").text  # JSON: each line's event, as the UI shows it
    assert "unknown trigger param(s): K" in log
    assert stack.emr.list_clusters()["Clusters"] == clusters_before


def test_failed_and_skipped_runs_trigger_no_consumer_run(stack):
    """By now: the scheduled run was skipped (nothing new after the triggered run), and the
    unknown-key run failed."""

    def scheduled_run_ended():
        runs = stack.api.get("/dags/fruit_features/dagRuns").json()["dag_runs"]
        (scheduled,) = [run for run in runs if run["run_type"] == "scheduled"]
        return runs if scheduled["state"] in ("success", "failed") else None

    # A retry may still be under way: see AWS_RETRIES in the DAG (apache/airflow#72716).
    runs = wait_for("the scheduled run ending", scheduled_run_ended, 120, stack.logs)
    (scheduled,) = [run for run in runs if run["run_type"] == "scheduled"]
    tasks = stack.api.get(
        f"/dags/fruit_features/dagRuns/{quote(scheduled['dag_run_id'], safe='')}/taskInstances"
    ).json()["task_instances"]
    if {task["state"] for task in tasks} != {"skipped"}:
        # Airflow 3.3 can fail the resumed sensor after it skipped, on every retry
        # (apache/airflow#72716): accepted only as that race, named in the scheduler's log.
        scheduler_log = (stack.logs / "airflow-scheduler.log").read_text()
        race = "finished with state success, but the task instance's state attribute is running"
        assert race in scheduler_log, tasks
    # The scheduler's path: the sensor deferred on NextLookTrigger, which the triggerer ran
    # from plugins/, and resumed with the deadline from its event until it skipped the run.
    (sensor_log, *_) = [  # its first try; a retry, if any, has an attempt=2.log beside it
        path
        for path in stack.logs.parent.rglob("attempt=1.log")
        if f"run_id={scheduled['dag_run_id']}" in str(path)
        and "task_id=wait_for_new_images" in str(path)
    ]
    assert "no new image yet" in sensor_log.read_text()
    assert "after waiting 15s" in sensor_log.read_text(), "resumed with the event's deadline"
    # attempt=1.log.trigger.<trigger id>.log: the id depends on the triggers before it.
    trigger_logs = [
        path.read_text() for path in sensor_log.parent.glob("attempt=1.log.trigger.*.log")
    ]
    assert any("trigger starting" in text for text in trigger_logs)
    assert "failed" in {run["state"] for run in runs}
    assert len(consumer_runs(stack)) == 1
    events = stack.api.get("/assets/events").json()["asset_events"]
    assert {event["source_run_id"] for event in events} == {succeeded_manual_run(runs)}
    assert len(events) == 2


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


def test_a_run_triggered_without_a_date_runs_the_last_complete_day(stack, tmp_path_factory):
    """The REST API's trigger without a logical_date, as the UI's form left empty and the
    CLI without -l: the run of the last complete day, taking what landed and no run took."""
    new = upload_images(stack, tmp_path_factory, seed=41)
    triggered = stack.api.post(
        "/dags/fruit_features/dagRuns", json={"logical_date": None}
    ).raise_for_status()
    run_id = triggered.json()["dag_run_id"]
    assert triggered.json()["logical_date"] is None
    run = wait_for(f"run {run_id} finished", lambda: ended(stack, run_id), 300, stack.logs)
    assert run["state"] == "success", task_states(stack, run_id)
    (cluster,) = clusters_of(stack, run_id)
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    interval = {tag["Key"]: tag["Value"] for tag in cluster["Tags"]}["data_interval"]
    assert interval == f"{(today - timedelta(days=1)).isoformat()}/{today.isoformat()}"
    paths = all_feature_paths(stack)
    assert len(paths) == len(set(paths)), "each image once"
    assert new <= set(paths)


def ended(stack, run_id: str) -> dict | None:
    run = stack.api.get(run_path(run_id)).json()
    return run if run["state"] in ("success", "failed") else None


def test_clearing_the_step_watch_runs_the_steps_again_and_announces_nothing(stack):
    """The UI's clear of watch_spark_steps (with downstream), once the run's cluster has
    ended: Airflow clears both setups with it, so a new cluster gets the steps again; they
    take nothing, and no asset event is recorded."""
    (dateless,) = [
        run
        for run in stack.api.get("/dags/fruit_features/dagRuns").json()["dag_runs"]
        if run["logical_date"] is None and run["state"] == "success"
    ]
    run_id = dateless["dag_run_id"]
    paths_before, events_before = sorted(all_feature_paths(stack)), len(asset_events(stack))
    cleared = stack.api.post(
        "/dags/fruit_features/clearTaskInstances",
        json={
            "dry_run": False,
            "dag_run_id": run_id,
            "task_ids": ["watch_spark_steps"],
            "include_downstream": True,
            "only_failed": False,
            "reset_dag_runs": True,
        },
    ).raise_for_status()
    assert {task["task_id"] for task in cleared.json()["task_instances"]} == {
        "create_emr_cluster",
        "add_spark_steps",
        "watch_spark_steps",
        "publish_outputs",
        "terminate_emr_cluster",
        "record_cost",
    }

    def ran_again():
        states = task_states(stack, run_id)
        done = len(clusters_of(stack, run_id)) == 2 and set(states.values()) <= {
            "success",
            "failed",
            "upstream_failed",
        }
        return ended(stack, run_id) if done else None

    run = wait_for(f"run {run_id} cleared and ended", ran_again, 300, stack.logs)
    assert run["state"] == "success", task_states(stack, run_id)
    first, second = clusters_of(stack, run_id)
    assert (
        first["Status"]["Timeline"]["EndDateTime"]
        <= second["Status"]["Timeline"]["CreationDateTime"]
    )
    steps = stack.emr.list_steps(ClusterId=second["Id"])["Steps"]
    assert {step["Name"]: step["Status"]["State"] for step in steps} == {
        "featurize": "COMPLETED",
        "pca": "COMPLETED",
    }
    assert sorted(all_feature_paths(stack)) == paths_before
    assert len(asset_events(stack)) == events_before, "nothing new: no event"


def test_a_backfill_runs_one_cluster_at_a_time_and_takes_each_image_once(stack, tmp_path_factory):
    """`airflow backfill create` (its REST call) over three past days, reprocessing them,
    three runs at once: images landed before it, so each run's sensor finds them. One
    cluster at a time (create_emr_cluster waits for the other running runs), each image
    featurized once, and one features event for them."""
    new = upload_images(stack, tmp_path_factory, seed=43)
    events_before = {event["id"] for event in asset_events(stack)}
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    stack.api.post(
        "/backfills",
        json={
            "dag_id": "fruit_features",
            "from_date": (today - timedelta(days=4)).isoformat(),
            "to_date": (today - timedelta(days=2)).isoformat(),
            "reprocess_behavior": "completed",
            "max_active_runs": 3,
        },
    ).raise_for_status()

    def backfilled_runs_ended():
        runs = stack.api.get("/dags/fruit_features/dagRuns").json()["dag_runs"]
        backfilled = [run for run in runs if run["run_type"] == "backfill"]
        finished = all(run["state"] in ("success", "failed") for run in backfilled)
        return backfilled if backfilled and finished else None

    backfilled = wait_for("the backfilled runs ending", backfilled_runs_ended, 600, stack.logs)
    assert len(backfilled) == 3
    for run in backfilled:
        assert run["state"] == "success", task_states(stack, run["dag_run_id"])
    clusters = sorted(
        (cluster for run in backfilled for cluster in clusters_of(stack, run["dag_run_id"])),
        key=lambda cluster: cluster["Status"]["Timeline"]["CreationDateTime"],
    )
    assert clusters, "the runs found the new images"
    for earlier, later in itertools.pairwise(clusters):
        assert (
            earlier["Status"]["Timeline"]["EndDateTime"]
            <= later["Status"]["Timeline"]["CreationDateTime"]
        ), "two clusters at once"
    paths = all_feature_paths(stack)
    assert len(paths) == len(set(paths)), "each image once"
    assert new <= set(paths)
    added = [event for event in asset_events(stack) if event["id"] not in events_before]
    features_events = [event for event in added if event["name"] == "fruit_features.features"]
    (event,) = features_events  # one, from the run that took the images
    assert event["source_run_id"] in {run["dag_run_id"] for run in backfilled}
    assert event["extra"]["images_featurized"] == len(new)


def test_no_log_holds_a_secret_from_env(stack):
    """The services' own logs and every task's log, after a run and a login through the UI."""
    logs = [
        path for path in stack.logs.parent.rglob("*.log") if "chromium-profile" not in path.parts
    ]
    assert any("attempt=" in path.name for path in logs), "the task logs are there"
    for path in logs:
        text = path.read_text(errors="replace")
        for name, value in stack.secrets.items():
            assert value not in text, f"{name} appears in {path}"
