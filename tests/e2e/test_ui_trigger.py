"""The Airflow UI, the REST API and the CLI, for real, on the compose stack's Airflow run as
local processes (tests/e2e/compose_stack.py): triggers, params, alerts, the consumer of the
assets, and everyday operations (a trigger without a date or for a date, a clear, mark
success, a pause, a backfill)."""

from __future__ import annotations

import itertools
import json
import subprocess
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest

from fruit_pipeline.run_interval import midnight
from localaws.client import latest_version, read_parquet
from tests.docker import compose
from tests.e2e.browser import logged_in_page
from tests.e2e.compose_stack import (
    ARTIFACTS,
    BIN,
    CLASSES,
    PER_CLASS,
    all_feature_paths,
    asset_events,
    clusters_of,
    dateless_run,
    ended,
    featurize_running,
    responds,
    run_path,
    running_stack,
    schedule_quiet,
    task_states,
    upload_images,
    wait_for,
)
from tests.e2e.sns_inbox import received_alerts

pytestmark = pytest.mark.slow
# The day of the runs triggered for a date: fixed, so that the tests that find its run find
# it even when midnight passes between them.
A_PAST_DAY = midnight(datetime.now(UTC)) - timedelta(days=6)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with running_stack(tmp_path_factory.mktemp("ui")) as running:
        yield running


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


def unpaused_run(runs: list[dict]) -> dict:
    """The scheduled run that unpausing created: the first, as each midnight since adds one."""
    scheduled = [run for run in runs if run["run_type"] == "scheduled"]
    return min(scheduled, key=lambda run: run["logical_date"])


def test_failed_and_skipped_runs_trigger_no_consumer_run(stack):
    """By now: the scheduled run was skipped (nothing new after the triggered run), and the
    unknown-key run failed."""

    def scheduled_run_ended():
        runs = stack.api.get("/dags/fruit_features/dagRuns").json()["dag_runs"]
        return runs if unpaused_run(runs)["state"] in ("success", "failed") else None

    # A retry may still be under way: see AWS_RETRIES in the DAG (apache/airflow#72716).
    runs = wait_for("the scheduled run ending", scheduled_run_ended, 120, stack.logs)
    scheduled = unpaused_run(runs)
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


def test_a_run_triggered_without_a_date_runs_the_last_complete_day(stack, tmp_path_factory):
    """The REST API's trigger without a logical_date, as the UI's form left empty and the
    CLI without -l: the run of the last complete day when it was triggered, taking what
    landed and no run took."""
    schedule_quiet(stack, for_seconds=60)
    new = upload_images(stack, tmp_path_factory, seed=41)
    triggered = stack.api.post(
        "/dags/fruit_features/dagRuns", json={"logical_date": None}
    ).raise_for_status()
    run_id = triggered.json()["dag_run_id"]
    assert triggered.json()["logical_date"] is None
    run = wait_for(f"run {run_id} finished", lambda: ended(stack, run_id), 300, stack.logs)
    assert run["state"] == "success", task_states(stack, run_id)
    (cluster,) = clusters_of(stack, run_id)
    # Worked out here, not with fruit_pipeline.run_interval, which made the interval.
    trigger_time = datetime.fromisoformat(run["run_after"])
    end = trigger_time.replace(hour=0, minute=0, second=0, microsecond=0)
    interval = {tag["Key"]: tag["Value"] for tag in cluster["Tags"]}["data_interval"]
    assert interval == f"{(end - timedelta(days=1)).isoformat()}/{end.isoformat()}"
    paths = all_feature_paths(stack)
    assert len(paths) == len(set(paths)), "each image once"
    assert new <= set(paths)


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


def test_mark_success_on_the_watch_drops_no_image_and_a_trigger_for_a_date_takes_them(
    stack, tmp_path_factory
):
    """The UI's "mark success" on watch_spark_steps while featurize runs: the teardown ends
    the cluster, publish_outputs finds the steps not completed and publishes nothing. Then
    `airflow dags trigger -l D`: the run of day D, which takes what featurize left."""
    schedule_quiet(stack, for_seconds=600)  # a scheduled run would take what was left
    new = upload_images(stack, tmp_path_factory, seed=45)
    run_id = dateless_run(stack)

    cluster = wait_for(
        "featurize running", lambda: featurize_running(stack, run_id), 240, stack.logs
    )
    stack.api.patch(
        f"{run_path(run_id)}/taskInstances/watch_spark_steps", json={"new_state": "success"}
    ).raise_for_status()
    run = wait_for(f"run {run_id} finished", lambda: ended(stack, run_id), 240, stack.logs)
    states = task_states(stack, run_id)
    assert run["state"] == "success", states
    assert (states["publish_outputs"], states["terminate_emr_cluster"]) == ("skipped", "success")
    steps = stack.emr.list_steps(ClusterId=cluster["Id"])["Steps"]
    assert {step["Status"]["State"] for step in steps} != {"COMPLETED"}
    log = stack.api.get(f"{run_path(run_id)}/taskInstances/publish_outputs/logs/1").text
    assert "the steps did not all complete" in log

    day = A_PAST_DAY
    subprocess.run(
        [str(BIN / "airflow"), "dags", "trigger", "fruit_features", "-l", day.isoformat()],
        env=stack.environment,
        cwd=compose.ROOT,
        capture_output=True,
        check=True,
    )
    runs = stack.api.get("/dags/fruit_features/dagRuns", params={"limit": 100}).json()
    (dated,) = [
        r for r in runs["dag_runs"] if (r["logical_date"] or "").startswith(day.date().isoformat())
    ]
    run = wait_for("the dated run", lambda: ended(stack, dated["dag_run_id"]), 300, stack.logs)
    assert run["state"] == "success", task_states(stack, dated["dag_run_id"])
    (cluster,) = clusters_of(stack, dated["dag_run_id"])
    interval = {tag["Key"]: tag["Value"] for tag in cluster["Tags"]}["data_interval"]
    assert interval == f"{day.isoformat()}/{(day + timedelta(days=1)).isoformat()}"
    paths = all_feature_paths(stack)
    assert len(paths) == len(set(paths)), "each image once"
    assert new <= set(paths), "what the marked run did not featurize, the next one took"


def cleared_alone(stack, run_id: str, day: datetime, task_id: str) -> tuple[dict, dict]:
    """`airflow tasks clear -t <task>` on the run of day: what Airflow selects with the task
    alone (docs/operations.md#everyday-operations), run again; the run and its task states.
    (-t matches task ids by substring: each id here is in no other.)"""
    task = f"{run_path(run_id)}/taskInstances/{task_id}"
    tries = stack.api.get(task).json()["try_number"]
    clear = [str(BIN / "airflow"), "tasks", "clear", "fruit_features", "--yes"]
    dates = ["--start-date", day.isoformat(), "--end-date", day.isoformat()]
    subprocess.run(
        [*clear, "--task-regex", task_id, *dates],
        env=stack.environment,
        cwd=compose.ROOT,
        capture_output=True,
        check=True,
    )

    def ran_again():
        again = stack.api.get(task).json()["try_number"] > tries
        return ended(stack, run_id) if again else None

    run = wait_for(f"{task_id} cleared and run", ran_again, 300, stack.logs)
    return run, task_states(stack, run_id)


def test_each_clear_of_a_finished_run_alone_does_what_the_docs_say(stack):
    """The run of the date triggered above, cleared task by task through the CLI."""
    day = A_PAST_DAY
    paths, events = sorted(all_feature_paths(stack)), len(asset_events(stack))
    runs = stack.api.get("/dags/fruit_features/dagRuns", params={"limit": 100}).json()
    (run_id,) = [
        run["dag_run_id"]
        for run in runs["dag_runs"]
        if (run["logical_date"] or "").startswith(day.date().isoformat())
    ]

    run, states = cleared_alone(stack, run_id, day, "publish_outputs")
    assert (run["state"], states["publish_outputs"]) == ("success", "success")
    assert len(asset_events(stack)) == events, "published again: nothing is news"
    assert len(clusters_of(stack, run_id)) == 1

    run, states = cleared_alone(stack, run_id, day, "create_emr_cluster")
    assert run["state"] == "success", states
    first, second = clusters_of(stack, run_id)
    assert len(stack.emr.list_steps(ClusterId=first["Id"])["Steps"]) == 2, "its steps ran there"
    assert stack.emr.list_steps(ClusterId=second["Id"])["Steps"] == []
    assert second["Status"]["State"] == "TERMINATED", "its teardown came with it"

    _, states = cleared_alone(stack, run_id, day, "add_spark_steps")
    # Failed at once, without retries; the run keeps the state of its last tasks, untouched.
    assert (states["add_spark_steps"], states["publish_outputs"]) == ("failed", "success")
    task = f"{run_path(run_id)}/taskInstances/add_spark_steps"
    log = stack.api.get(f"{task}/logs/{stack.api.get(task).json()['try_number']}").text
    assert "clear create_emr_cluster with its downstream tasks" in log
    assert len(clusters_of(stack, run_id)) == 2, "no cluster started, no step added"
    assert sorted(all_feature_paths(stack)) == paths
    assert len(asset_events(stack)) == events


def test_a_paused_runs_cluster_ends_by_itself_after_its_last_step(stack, tmp_path_factory):
    """The DAG paused while featurize runs: Airflow schedules none of the run's tasks, the
    teardown included. The steps finish on EMR, and the cluster's own idle timeout ends it
    (shortened to EMR's shortest through EMR's API, as the interruption test does; the DAG
    asks for tuning.IDLE_TIMEOUT_SECONDS, 15 minutes). Unpaused, the run ends well."""
    schedule_quiet(stack, for_seconds=60)
    upload_images(stack, tmp_path_factory, seed=47)
    run_id = dateless_run(stack)

    cluster = wait_for(
        "featurize running", lambda: featurize_running(stack, run_id), 240, stack.logs
    )
    stack.api.patch("/dags/fruit_features", json={"is_paused": True}).raise_for_status()
    try:
        asked = stack.emr.get_auto_termination_policy(ClusterId=cluster["Id"])
        assert asked["AutoTerminationPolicy"] == {"IdleTimeout": 15 * 60}
        stack.emr.put_auto_termination_policy(
            ClusterId=cluster["Id"], AutoTerminationPolicy={"IdleTimeout": 60}
        )

        def ended_by_itself():
            described = stack.emr.describe_cluster(ClusterId=cluster["Id"])["Cluster"]
            return described if described["Status"]["State"] == "TERMINATED" else None

        ended_cluster = wait_for("the cluster ending by itself", ended_by_itself, 360, stack.logs)
        assert "Auto-termination" in ended_cluster["Status"]["StateChangeReason"]["Message"]
        assert task_states(stack, run_id)["terminate_emr_cluster"] != "success"
        steps = stack.emr.list_steps(ClusterId=cluster["Id"])["Steps"]
        assert {step["Status"]["State"] for step in steps} == {"COMPLETED"}
    finally:
        stack.api.patch("/dags/fruit_features", json={"is_paused": False}).raise_for_status()
    run = wait_for(f"run {run_id} finished", lambda: ended(stack, run_id), 300, stack.logs)
    assert run["state"] == "success", task_states(stack, run_id)


def test_a_backfill_runs_one_cluster_at_a_time_and_takes_each_image_once(stack, tmp_path_factory):
    """`airflow backfill create` (its REST call) over three past days, reprocessing them,
    three runs at once: images landed before it, so each run's sensor finds them. One
    cluster at a time runs steps (create_emr_cluster waits for the other running runs; two
    waiters that create at the same moment leave the earlier cluster alone, and the later
    one is ended at once, with no step), each image featurized once, and one features event
    for them."""
    schedule_quiet(stack, for_seconds=300)  # until a backfilled run has taken the images
    new = upload_images(stack, tmp_path_factory, seed=43)
    events_before = {event["id"] for event in asset_events(stack)}
    today = midnight(datetime.now(UTC))
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
    working, lost = [], []
    for cluster in clusters:
        steps = stack.emr.list_steps(ClusterId=cluster["Id"])["Steps"]
        (working if steps else lost).append(cluster)
    for cluster in lost:  # a creation that lost the election: ended before any work
        timeline = cluster["Status"]["Timeline"]
        assert timeline["EndDateTime"] - timeline["CreationDateTime"] < timedelta(seconds=30)
    for earlier, later in itertools.pairwise(working):
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
