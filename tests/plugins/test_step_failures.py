"""A failed step explained in the watching task, on the local AWS, with a step that really
fails: its reason and the end of its own log, read from the cluster's LogUri."""

from __future__ import annotations

import json

import pytest
from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from airflow.sdk.exceptions import AirflowFailException

from fruit_pipeline.step_failures import ExplainedStepSensor, explain
from localaws.client import CREDENTIALS, REGION, client
from localaws.process import LocalAws
from tests.localaws.test_emr_runner import settle, start_cluster

pytestmark = pytest.mark.slow
BUCKET = "runner-tests"  # the helpers' bucket
FAILING_JOB = (
    "import sys\n"
    "for n in range(80):\n"
    "    print(f'progress line {n}')\n"
    "print('OSError: Unable to synchronously open file (file signature not found)')\n"
    "sys.exit(1)\n"
)


@pytest.fixture(scope="module")
def failed_cluster(tmp_path_factory):
    with LocalAws(tmp_path_factory.mktemp("localaws") / "localaws.log") as aws:
        s3 = client("s3", aws.endpoint)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_object(Bucket=BUCKET, Key="bootstrap.sh", Body=b"#!/bin/sh\n")
        s3.put_object(Bucket=BUCKET, Key="featurize.py", Body=FAILING_JOB.encode())
        s3.put_object(Bucket=BUCKET, Key="pca.py", Body=b"print('never runs')\n")
        emr = client("emr", aws.endpoint)
        steps = [
            {
                "Name": name,
                "ActionOnFailure": "CANCEL_AND_WAIT",
                "HadoopJarStep": {
                    "Jar": "command-runner.jar",
                    "Args": ["spark-submit", f"s3://{BUCKET}/{name}.py"],
                },
            }
            for name in ("featurize", "pca")
        ]
        cluster_id = start_cluster(emr, steps)
        _, states = settle(emr, cluster_id)
        assert states == [("featurize", "FAILED"), ("pca", "CANCELLED")]
        yield aws, emr, cluster_id


@pytest.fixture
def aws_connection(failed_cluster, monkeypatch):
    aws, _, _ = failed_cluster
    connection = {
        "conn_type": "aws",
        "login": CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "password": CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        "extra": {"region_name": REGION, "endpoint_url": aws.endpoint},
    }
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps(connection))


def test_the_watching_task_fails_with_the_steps_own_error(failed_cluster, aws_connection):
    _, emr, cluster_id = failed_cluster
    pca = emr.list_steps(ClusterId=cluster_id)["Steps"][0]["Id"]  # the last step, watched
    sensor = ExplainedStepSensor(task_id="watch", job_flow_id=cluster_id, step_id=pca)
    with pytest.raises(AirflowFailException) as failure:  # no retry can change a failed step
        sensor.poke({})
    message = str(failure.value)
    assert "step pca" in message
    assert "CANCELLED" in message
    assert "step featurize" in message
    assert "FAILED: spark-submit exited with code 1" in message
    assert "OSError: Unable to synchronously open file (file signature not found)" in message
    assert "progress line 79" in message
    assert "progress line 20" not in message, "only the end of the log"
    assert f"full logs: s3://{BUCKET}/logs/{cluster_id}/steps/" in message


def test_logs_not_yet_copied_are_reported_without_waiting_forever(failed_cluster, aws_connection):
    _, emr, cluster_id = failed_cluster
    s3 = S3Hook(aws_conn_id="aws_default")
    for key in s3.list_keys(BUCKET, prefix=f"logs/{cluster_id}/"):
        s3.delete_objects(BUCKET, [key])  # as on EMR in the minutes after a failure
    explanation = explain(emr, s3, cluster_id, wait_seconds=0)
    assert "FAILED: spark-submit exited with code 1" in explanation
    assert "its logs are not in" in explanation
    assert "yet" in explanation
