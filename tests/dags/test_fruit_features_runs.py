"""Whole DAG runs (dag.test) against moto, in-process.

moto serves S3 and EMR from a thread of this process, so both the provider's boto3 calls and
its deferrable triggers' aiobotocore calls reach it. moto never moves an EMR step past
PENDING/RUNNING: a helper thread plays EMR's part and sets each step's final state.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from unittest import mock

import boto3
import botocore.client
import pendulum
import pytest
from moto.emr.models import emr_backends
from moto.server import ThreadedMotoServer

from localaws.process import free_port
from tests.airflow_env import ROOT

pytestmark = pytest.mark.slow
REGION = "eu-west-1"
BUCKET = "fruits-test"
# The interval [today, tomorrow) holds the images this test uploads now.
TOMORROW = pendulum.today("UTC").add(days=1)


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(scope="module")
def environment(moto_endpoint) -> Iterator[None]:
    connection = {
        "conn_type": "aws",
        "login": "testing",
        "password": "testing",  # pragma: allowlist secret (moto's)
        "extra": {"region_name": REGION, "endpoint_url": moto_endpoint},
    }
    variables = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",  # pragma: allowlist secret (moto's)
        "AWS_DEFAULT_REGION": REGION,
        "AIRFLOW_CONN_AWS_DEFAULT": json.dumps(connection),
        "FRUITS_DATA_BUCKET": BUCKET,
        "FRUITS_ARTIFACTS_URI": f"s3://{BUCKET}/artifacts/",
        "FRUITS_LOGS_URI": f"s3://{BUCKET}/logs/",
        "FRUITS_SENSOR_TIMEOUT_SECONDS": "0",
        "FRUITS_STEP_POKE_SECONDS": "1",
    }
    with mock.patch.dict("os.environ", variables):
        yield


@pytest.fixture(scope="module")
def airflow_db(environment) -> None:
    from airflow.utils.db import resetdb

    resetdb()


@pytest.fixture(scope="module")
def run_dag(airflow_db, moto_endpoint):
    """Parse dags/ with the test configuration, then run fruit_features once per call."""
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(ROOT / "dags")).dags["fruit_features"]

    def run(logical_date=TOMORROW, conf=None):
        return dag.test(logical_date=logical_date, run_conf=conf)

    return run


@pytest.fixture(scope="module")
def s3(moto_endpoint, environment):
    client = boto3.client("s3", endpoint_url=moto_endpoint, region_name=REGION)
    client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    for key in ("images/Banana/0_100.jpg", "images/Kiwi/r_1.JPG", "images/readme.txt"):
        client.put_object(Bucket=BUCKET, Key=key, Body=b"image bytes")
    return client


def clusters() -> list:
    return [
        cluster
        for regions in emr_backends.values()
        for backend in regions.values()
        for cluster in backend.clusters.values()
    ]


STEP_SECONDS = 2.5  # longer than the sensor's first poke: the deferred trigger must see it


@contextmanager
def emr_plays_steps(failing_step: str | None = None) -> Iterator[None]:
    """Finish steps one at a time, in order; a failure cancels the steps after it."""
    stop = threading.Event()

    def play() -> None:
        while not stop.wait(STEP_SECONDS):
            for cluster in clusters():
                active = [step for step in cluster.steps if step.state in ("PENDING", "RUNNING")]
                if not active:
                    continue
                step = active[0]
                step.state = "FAILED" if step.name == failing_step else "COMPLETED"
                if step.state == "FAILED":
                    for later in active[1:]:
                        later.state = "CANCELLED"

    player = threading.Thread(target=play, daemon=True)
    player.start()
    try:
        yield
    finally:
        stop.set()
        player.join()


def states(dag_run) -> dict[str, str]:
    return {ti.task_id: ti.state for ti in dag_run.get_task_instances()}


@pytest.fixture(autouse=True)
def forget_clusters():
    for regions in emr_backends.values():
        for backend in regions.values():
            backend.clusters.clear()


def test_steps_complete_run_succeeds_and_cluster_is_terminated(run_dag, s3):
    with emr_plays_steps():
        dag_run = run_dag()
    assert dag_run.state == "success", states(dag_run)
    assert set(states(dag_run).values()) == {"success"}
    (cluster,) = clusters()
    assert cluster.state == "TERMINATED"
    assert [step.name for step in cluster.steps] == ["featurize", "pca"]
    assert {step.state for step in cluster.steps} == {"COMPLETED"}


def test_failed_featurize_fails_the_run_and_still_terminates(run_dag, s3):
    with emr_plays_steps(failing_step="featurize"):
        dag_run = run_dag()
    assert dag_run.state == "failed"
    task_states = states(dag_run)
    assert task_states["watch_spark_steps"] == "failed"
    assert task_states["terminate_emr_cluster"] == "success"
    (cluster,) = clusters()
    assert cluster.state == "TERMINATED"
    assert [step.state for step in cluster.steps] == ["FAILED", "CANCELLED"]


def test_no_new_image_skips_the_run_and_creates_no_cluster(run_dag, s3):
    before_any_upload = pendulum.datetime(2026, 11, 5, tz="UTC")
    dag_run = run_dag(logical_date=before_any_upload)
    assert set(states(dag_run).values()) == {"skipped"}
    assert clusters() == []


def test_invalid_params_are_refused_before_any_aws_call(run_dag, s3):
    from airflow.sdk.definitions.param import ParamValidationError

    with (
        mock.patch.object(
            botocore.client.BaseClient, "_make_api_call", side_effect=AssertionError("AWS called")
        ) as aws_call,
        pytest.raises(ParamValidationError, match="alexnet"),
    ):
        run_dag(conf={"model": "alexnet"})
    assert aws_call.call_count == 0
    assert clusters() == []


def test_an_unknown_param_fails_the_run_before_any_aws_call(run_dag, s3):
    with mock.patch.object(
        botocore.client.BaseClient, "_make_api_call", side_effect=AssertionError("AWS called")
    ) as aws_call:
        dag_run = run_dag(conf={"K": 5})
    assert aws_call.call_count == 0
    assert dag_run.state == "failed"
    assert states(dag_run)["wait_for_new_images"] == "failed"
    assert clusters() == []
