"""plan_cluster's choice (fruit_pipeline.cluster): the day's images, the CNN, a refit it can
foresee, the params that override it; and the cost record's reads once the cluster ended."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from unittest import mock

import boto3
import pytest
from botocore.exceptions import ClientError

from fruit_pipeline.cluster import ended_cluster, plan, refit_rows
from fruit_pipeline.config import load_config
from fruits_contract.refit import REFIT_DAYS

NOW = datetime(2026, 12, 5, tzinfo=UTC)
PARAMS = {"model": "mobilenet_v2", "mode": "incremental", "spot": False}
PARAMS |= {"core_instance_count": None, "core_instance_type": None}
DAY = {"images": 2_000, "bytes": 9_000_000, "erasure_requests": 0}


def manifest(age_days: float, rows: int = 500_000) -> dict:
    fitted = NOW - timedelta(days=age_days)
    return {"rows": rows, "created_at": fitted.isoformat(), "segments": {}}


@pytest.mark.parametrize(
    ("published", "full", "expected"),
    [
        (None, False, 2_000),  # the first run fits the day's rows
        (manifest(1), True, 2_000),  # full: every image, featurized again
        (manifest(1), False, 0),  # an append
        (manifest(REFIT_DAYS), False, 502_000),  # the fit is REFIT_DAYS old
        ({"version": "v=1", "rows": 9}, False, 2_009),  # before the statistics
    ],
)
def test_the_refits_it_foresees(published, full, expected):
    assert refit_rows(published, 2_000, full, NOW) == expected


def test_a_small_day_gets_a_single_node_and_a_big_refit_core_nodes():
    instances, summary = plan(load_config({}), DAY, PARAMS, None, NOW)
    assert (summary["images"], summary["bytes"], summary["refit_rows"]) == (2_000, 9_000_000, 2_000)
    assert summary["refit_reason"] == "first run: nothing is published yet"
    assert summary["core_nodes"] == 0
    assert [group["InstanceRole"] for group in instances["InstanceGroups"]] == ["MASTER"]
    _, summary = plan(load_config({}), DAY, PARAMS, manifest(40, rows=60_000_000), NOW)
    assert summary["refit_rows"] == 60_002_000
    assert "40 days old" in summary["refit_reason"]
    assert summary["core_nodes"] >= 1
    assert summary["reason"]
    assert summary["estimated_usd"] > 0


def test_an_explicit_param_wins_and_spot_needs_core_nodes():
    _, summary = plan(load_config({}), DAY, {**PARAMS, "core_instance_count": 3}, None, NOW)
    assert summary["core_nodes"] == 3
    params = {**PARAMS, "core_instance_count": 0, "core_instance_type": "m6i.4xlarge"}
    _, summary = plan(load_config({}), DAY, {**params, "spot": True}, None, NOW)
    assert (summary["core_nodes"], summary["core_type"], summary["spot"]) == (
        0,
        "m6i.4xlarge",
        False,
    )
    spot = {**PARAMS, "core_instance_count": 2, "spot": True}
    instances, summary = plan(load_config({}), DAY, spot, None, NOW)
    assert summary["spot"]
    assert "InstanceFleets" in instances


@pytest.fixture
def emr(monkeypatch):
    from moto import mock_aws

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    with mock_aws():
        client = boto3.client("emr", region_name="eu-west-1")
        cluster_id = client.run_job_flow(
            Name="fruit_features run",
            ReleaseLabel="emr-7.9.0",
            Instances={"MasterInstanceType": "m5.xlarge", "InstanceCount": 1},
            JobFlowRole="EMR_EC2_DefaultRole",
            ServiceRole="EMR_DefaultRole",
        )["JobFlowId"]
        client.terminate_job_flows(JobFlowIds=[cluster_id])
        yield client, cluster_id


def test_an_ended_clusters_reads_are_whole(emr):
    client, cluster_id = emr
    read, failed = ended_cluster(client, cluster_id)
    assert failed == []
    assert read["cluster"]["Id"] == cluster_id
    assert set(read) == {"cluster", "steps", "groups"}


def test_a_read_that_fails_leaves_a_partial_record_not_none(emr):
    """One ListSteps error used to lose the whole cost record."""
    client, cluster_id = emr
    throttled = ClientError({"Error": {"Code": "ThrottlingException"}}, "ListSteps")
    with mock.patch.object(client, "list_steps", side_effect=throttled):
        read, failed = ended_cluster(client, cluster_id)
    assert read["cluster"]["Id"] == cluster_id
    assert read["steps"] == []
    assert "groups" in read
    (failure,) = failed
    assert failure.startswith("list_steps: ")
    assert "ThrottlingException" in failure
