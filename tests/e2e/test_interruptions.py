"""Airflow killed while a step runs, on the local AWS: the cluster it leaves ends by itself
after its IdleTimeout, or at once when a new run of its interval starts; either way, the
interval's outputs hold each image once.

One interval, in order:
1. run 1 is killed (SIGKILL) while featurize runs; its cluster, asked for with the tuned
   idle timeout (15 minutes), has it shortened to EMR's shortest through EMR's own API, as an
   operator could; it finishes the steps, idles, and ends after that;
2. run 2 is killed the same way; run 3 starts at once, ends run 2's cluster, and succeeds.
Runs 2 and 3 are reconciles (mode: reconcile): run 1's cluster took the interval's images,
and a rerun finds nothing new to start a cluster for.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from datetime import UTC, datetime

import pytest

from fruit_pipeline.tuning import IDLE_TIMEOUT_SECONDS
from fruits_contract.landing import landing_key
from localaws.airflow_runs import AIRFLOW, DAG_ID, ROOT
from localaws.client import read_latest, read_parquet, upload_folder
from scripts.fruits_sample import generate
from tests.e2e.conftest import BUCKET

pytestmark = pytest.mark.slow
UPLOADED = datetime(2026, 11, 14, 10, tzinfo=UTC)
RUN_DATE = "2026-11-14"  # the run of the day the images were modified
IDLE_TIMEOUT = 60  # EMR's shortest
RECONCILE = {"mode": "reconcile"}


def cluster_ids(stack) -> set[str]:
    return {cluster["Id"] for cluster in stack.emr.list_clusters()["Clusters"]}


def wait_for(what: str, check, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.5)
    raise TimeoutError(f"{what} within {timeout:.0f}s")


def killed_while_featurizing(stack, conf: str | None = None) -> str:
    """Start `airflow dags test`, SIGKILL it (and its process group) once featurize runs on
    its new cluster; the cluster's id."""
    before = cluster_ids(stack)
    with stack.log.open("a") as log:
        airflow = subprocess.Popen(
            [str(AIRFLOW), "dags", "test", DAG_ID, RUN_DATE, *(["--conf", conf] if conf else [])],
            env=stack.environment,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def featurize_running() -> str | None:
        for cluster_id in cluster_ids(stack) - before:
            steps = stack.emr.list_steps(ClusterId=cluster_id)["Steps"]
            if any(s["Name"] == "featurize" and s["Status"]["State"] == "RUNNING" for s in steps):
                return cluster_id
        assert airflow.poll() is None, "airflow ended before featurize ran"
        return None

    try:
        return wait_for("featurize running", featurize_running, 180)
    finally:
        os.killpg(airflow.pid, signal.SIGKILL)
        airflow.wait()


def described(stack, cluster_id: str) -> dict:
    return stack.emr.describe_cluster(ClusterId=cluster_id)["Cluster"]


def step_states(stack, cluster_id: str) -> dict[str, str]:
    steps = stack.emr.list_steps(ClusterId=cluster_id)["Steps"]
    return {step["Name"]: step["Status"]["State"] for step in steps}


@pytest.fixture(scope="module")
def images(stack, tmp_path_factory) -> set[str]:
    folder = tmp_path_factory.mktemp("interrupted-day")
    paths = generate(folder, classes=2, per_class=4, seed=14)
    upload_folder(stack.s3, folder, BUCKET, "images/", UPLOADED)
    return {
        f"s3://{BUCKET}/{landing_key('images/', UPLOADED, path.relative_to(folder).as_posix())}"
        for path in paths
    }


@pytest.fixture(scope="module")
def left_alone(stack, images) -> dict:
    """Run 1, killed, and nobody reruns: its cluster, once it has ended by itself."""
    cluster_id = killed_while_featurizing(stack)
    asked = stack.emr.get_auto_termination_policy(ClusterId=cluster_id)["AutoTerminationPolicy"]
    stack.emr.put_auto_termination_policy(
        ClusterId=cluster_id, AutoTerminationPolicy={"IdleTimeout": IDLE_TIMEOUT}
    )

    def ended():
        cluster = described(stack, cluster_id)
        return cluster if cluster["Status"]["State"].startswith("TERMINATED") else None

    cluster = wait_for("the orphan cluster ending", ended, 300 + IDLE_TIMEOUT)
    steps = stack.emr.list_steps(ClusterId=cluster_id)["Steps"]
    return {"cluster": cluster, "steps": steps, "asked": asked}


@pytest.fixture(scope="module")
def rerun_at_once(stack, left_alone) -> dict:
    """Run 2, killed, then run 3 of the same interval at once."""
    orphan = killed_while_featurizing(stack, json.dumps(RECONCILE))
    state, tasks, cluster = stack.run(RUN_DATE, conf=RECONCILE)
    return {"orphan": orphan, "state": state, "tasks": tasks, "cluster": cluster}


def test_a_killed_runs_cluster_ends_by_itself_after_its_idle_timeout(left_alone):
    cluster, steps = left_alone["cluster"], left_alone["steps"]
    assert left_alone["asked"] == {"IdleTimeout": IDLE_TIMEOUT_SECONDS}
    assert cluster["Status"]["State"] == "TERMINATED"
    assert "idle" in cluster["Status"]["StateChangeReason"]["Message"]
    assert {step["Status"]["State"] for step in steps} == {"COMPLETED"}, "its steps finished"
    last_step_end = max(step["Status"]["Timeline"]["EndDateTime"] for step in steps)
    idle = (cluster["Status"]["Timeline"]["EndDateTime"] - last_step_end).total_seconds()
    assert IDLE_TIMEOUT <= idle < IDLE_TIMEOUT + 10


def test_a_rerun_ends_the_interrupted_runs_cluster_first_and_succeeds(stack, rerun_at_once):
    assert rerun_at_once["state"] == "success", rerun_at_once["tasks"]
    orphan = described(stack, rerun_at_once["orphan"])
    assert orphan["Status"]["State"] == "TERMINATED"
    reason = orphan["Status"].get("StateChangeReason", {}).get("Message", "")
    assert "idle" not in reason, "run 3 ended it, not its idle timeout"
    # Featurize on 8 images may finish before run 3 gets there: what had not is cancelled.
    assert set(step_states(stack, orphan["Id"]).values()) <= {"COMPLETED", "CANCELLED"}
    own = rerun_at_once["cluster"]
    assert own["Id"] != orphan["Id"]
    assert own["Status"]["State"] == "TERMINATED"
    assert step_states(stack, own["Id"]) == {"featurize": "COMPLETED", "pca": "COMPLETED"}
    assert (
        orphan["Status"]["Timeline"]["EndDateTime"] <= own["Status"]["Timeline"]["CreationDateTime"]
    )


def test_after_both_interruptions_each_image_is_there_once(stack, images, rerun_at_once):
    features = read_parquet(stack.s3, BUCKET, "features/model=mobilenet_v2/ingest_date=2026-11-14/")
    assert sorted(features["path"]) == sorted(images)
    pca = read_latest(stack.s3, BUCKET, "pca/model=mobilenet_v2/")
    assert pca["path"].is_unique
    assert set(pca["path"]) == images
