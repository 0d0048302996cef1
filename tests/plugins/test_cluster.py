"""create_emr_cluster's choice: the day's images, the CNN, a refit it can foresee, and the
params that override it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from fruit_pipeline.cluster import SizedEmrCreateJobFlowOperator, refit_rows
from fruit_pipeline.config import load_config

PARAMS = {"model": "mobilenet_v2", "mode": "incremental", "spot": False}
PARAMS |= {"core_instance_count": None, "core_instance_type": None}


def manifest(age_days: float, rows: int = 500_000) -> dict:
    fitted = datetime.now(UTC) - timedelta(days=age_days)
    return {"rows": rows, "created_at": fitted.isoformat(), "segments": {}}


@pytest.mark.parametrize(
    ("published", "mode", "expected"),
    [
        (None, "incremental", 2_000),  # the first run fits the day's rows
        (manifest(1), "full", 2_000),  # full: every image, featurized again
        (manifest(1), "incremental", 0),  # an append
        (manifest(30), "incremental", 502_000),  # the fit is FRUITS_PCA_REFIT_DAYS old
        ({"version": "v=1", "rows": 9}, "incremental", 2_009),  # before the statistics
    ],
)
def test_the_refits_it_foresees(published, mode, expected):
    assert refit_rows(published, 2_000, mode, refit_days=30) == expected


@pytest.fixture
def bucket(monkeypatch):
    from moto import mock_aws

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    with mock_aws():
        s3 = boto3.client("s3", region_name="eu-west-1")
        s3.create_bucket(
            Bucket="fruits-data", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        yield s3


def operator(new_images, **environment) -> SizedEmrCreateJobFlowOperator:
    return SizedEmrCreateJobFlowOperator(
        task_id="create_emr_cluster",
        config=load_config(environment),
        new_images=new_images,
        job_flow_overrides={},
        aws_conn_id=None,
    )


def test_a_small_day_gets_a_single_node_and_a_big_refit_core_nodes(bucket):
    day = {"images": 2_000, "bytes": 9_000_000}
    workload, shape = operator(day).choose_shape(PARAMS)
    assert (workload.images, workload.image_bytes, workload.refit_rows) == (2_000, 9_000_000, 2_000)
    assert shape.single_node  # the first run
    bucket.put_object(
        Bucket="fruits-data",
        Key="pca/model=mobilenet_v2/_LATEST",
        Body=json.dumps(manifest(40, rows=60_000_000)),
    )
    workload, shape = operator(day).choose_shape(PARAMS)
    assert workload.refit_rows == 60_002_000
    assert shape.core_nodes >= 1


def test_an_explicit_param_wins_and_the_primary_is_the_settings(bucket):
    day = {"images": 2_000, "bytes": 9_000_000}
    _, shape = operator(day).choose_shape({**PARAMS, "core_instance_count": 3})
    assert shape.core_nodes == 3
    _, shape = operator(day).choose_shape(
        {**PARAMS, "core_instance_count": 0, "core_instance_type": "m6i.4xlarge"}
    )
    assert (shape.core_nodes, shape.core_type) == (0, "m6i.4xlarge")
    _, shape = operator(None, FRUITS_PRIMARY_INSTANCE_TYPE="m6i.xlarge").choose_shape(PARAMS)
    assert (shape.primary_type, shape.single_node) == ("m6i.xlarge", True)
