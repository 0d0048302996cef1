"""The local AWS's EMR, through boto3 as any client: lifecycle, ActionOnFailure, regions."""

from __future__ import annotations

import time

import pytest

from localaws.client import REGION, client
from localaws.emr_runner import direct_reads
from localaws.process import LocalAws

pytestmark = pytest.mark.slow
BUCKET = "runner-tests"
EXIT_WITH = "import sys; sys.exit({code})"
# 16 MB of incompressible stdout: its log takes a while to gzip and upload as the step ends.
NOISY = "import os, sys; sys.stdout.write(os.urandom(8 * 2**20).hex())"
# Writes a file into its staged --output folder after a few seconds, as a job writes its
# results at the end.
WRITE_LATER = """
import pathlib, sys, time
time.sleep(float(sys.argv[2]))
folder = pathlib.Path(sys.argv[1].split("=", 1)[1].removeprefix("file://"))
(folder / "result.txt").write_text("done")
"""


@pytest.fixture(scope="module")
def aws(tmp_path_factory):
    local_aws = LocalAws(tmp_path_factory.mktemp("localaws") / "localaws.log")
    s3 = client("s3", local_aws.endpoint)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    for code in (0, 1):
        s3.put_object(Bucket=BUCKET, Key=f"exit{code}.py", Body=EXIT_WITH.format(code=code))
    s3.put_object(Bucket=BUCKET, Key="write_later.py", Body=WRITE_LATER)
    s3.put_object(Bucket=BUCKET, Key="noisy.py", Body=NOISY)
    s3.put_object(Bucket=BUCKET, Key="bootstrap.sh", Body=b"#!/bin/sh\n")
    yield local_aws, client("emr", local_aws.endpoint)
    local_aws.stop()


def spark_step(name: str, code: int, on_failure: str) -> dict:
    return {
        "Name": name,
        "ActionOnFailure": on_failure,
        "HadoopJarStep": {
            "Jar": "command-runner.jar",
            "Args": ["spark-submit", f"s3://{BUCKET}/exit{code}.py"],
        },
    }


def writing_step(output: str, seconds: float) -> dict:
    return {
        "Name": "writes",
        "ActionOnFailure": "CONTINUE",
        "HadoopJarStep": {
            "Jar": "command-runner.jar",
            "Args": [
                "spark-submit",
                f"s3://{BUCKET}/write_later.py",
                f"--output=s3://{BUCKET}/{output}",
                str(seconds),
            ],
        },
    }


def start_cluster(emr, steps: list[dict], keep_alive: bool = True, **request) -> str:
    return emr.run_job_flow(
        Name="runner test",
        ReleaseLabel="emr-7.9.0",
        LogUri=f"s3://{BUCKET}/logs/",
        Instances={
            "InstanceCount": 1,
            "MasterInstanceType": "m5.xlarge",
            "KeepJobFlowAliveWhenNoSteps": keep_alive,
        },
        BootstrapActions=[
            {"Name": "ok", "ScriptBootstrapAction": {"Path": f"s3://{BUCKET}/bootstrap.sh"}}
        ],
        Steps=steps,
        JobFlowRole="EMR_EC2_DefaultRole",
        ServiceRole="EMR_DefaultRole",
        **request,
    )["JobFlowId"]


def settle(emr, cluster_id: str, timeout: float = 120) -> tuple[str, list[tuple[str, str]]]:
    """Wait until no step is PENDING or RUNNING: the cluster's state and (name, state) a step."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        steps = emr.list_steps(ClusterId=cluster_id)["Steps"][::-1]  # oldest first
        states = [(step["Name"], step["Status"]["State"]) for step in steps]
        if all(state not in ("PENDING", "RUNNING") for _, state in states):
            cluster = emr.describe_cluster(ClusterId=cluster_id)["Cluster"]["Status"]["State"]
            if cluster not in ("STARTING", "BOOTSTRAPPING"):
                return cluster, states
        time.sleep(0.5)
    raise TimeoutError(f"{cluster_id} still busy: {states}")


def test_a_cluster_goes_through_emrs_states(aws):
    _, emr = aws
    cluster_id = start_cluster(emr, [])
    seen = set()
    deadline = time.monotonic() + 30
    while "WAITING" not in seen and time.monotonic() < deadline:
        seen.add(emr.describe_cluster(ClusterId=cluster_id)["Cluster"]["Status"]["State"])
        time.sleep(0.1)
    assert {"STARTING", "WAITING"} <= seen
    emr.terminate_job_flows(JobFlowIds=[cluster_id])
    assert emr.describe_cluster(ClusterId=cluster_id)["Cluster"]["Status"]["State"] == "TERMINATED"


def test_continue_runs_the_next_step_after_a_failure(aws):
    _, emr = aws
    cluster_id = start_cluster(
        emr, [spark_step("fails", 1, "CONTINUE"), spark_step("succeeds", 0, "CONTINUE")]
    )
    cluster, steps = settle(emr, cluster_id)
    assert steps == [("fails", "FAILED"), ("succeeds", "COMPLETED")]
    assert cluster == "WAITING"


def test_no_reader_sees_a_step_ended_on_a_cluster_still_running(aws):
    """EMR never shows it: the step's end and the cluster's WAITING are one transition.
    Steps first, then the cluster, as fast as the server answers, through the step's end,
    which a long log makes last."""
    _, emr = aws
    noisy = spark_step("noisy", 0, "CONTINUE")
    noisy["HadoopJarStep"]["Args"][-1] = f"s3://{BUCKET}/noisy.py"
    cluster_id = start_cluster(emr, [noisy])
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        (step,) = emr.list_steps(ClusterId=cluster_id)["Steps"]
        cluster = emr.describe_cluster(ClusterId=cluster_id)["Cluster"]["Status"]["State"]
        if step["Status"]["State"] not in ("PENDING", "RUNNING"):
            assert (step["Status"]["State"], cluster) == ("COMPLETED", "WAITING")
            return
    raise TimeoutError(f"{cluster_id}: the step did not end")


def test_terminate_cluster_cancels_the_rest_and_ends_the_cluster(aws):
    _, emr = aws
    cluster_id = start_cluster(
        emr, [spark_step("fails", 1, "TERMINATE_CLUSTER"), spark_step("never", 0, "CONTINUE")]
    )
    cluster, steps = settle(emr, cluster_id)
    assert steps == [("fails", "FAILED"), ("never", "CANCELLED")]
    assert cluster == "TERMINATED_WITH_ERRORS"


def test_a_step_that_is_not_a_spark_submit_fails_with_its_reason(aws):
    _, emr = aws
    custom_jar = {
        "Name": "custom jar",
        "ActionOnFailure": "CONTINUE",
        "HadoopJarStep": {"Jar": f"s3://{BUCKET}/my.jar", "Args": ["--run"]},
    }
    cluster_id = start_cluster(emr, [custom_jar], keep_alive=False)
    cluster, steps = settle(emr, cluster_id)
    assert steps == [("custom jar", "FAILED")]
    (step,) = emr.list_steps(ClusterId=cluster_id)["Steps"]
    assert "only command-runner.jar" in step["Status"]["StateChangeReason"]["Message"]
    assert cluster == "TERMINATED", "no step left and KeepJobFlowAliveWhenNoSteps false"


def test_clusters_are_filed_under_the_clients_region(aws):
    local_aws, emr = aws
    cluster_id = start_cluster(emr, [])
    us_east = client("emr", local_aws.endpoint, region="us-east-1")
    assert cluster_id in {cluster["Id"] for cluster in emr.list_clusters()["Clusters"]}
    assert cluster_id not in {cluster["Id"] for cluster in us_east.list_clusters()["Clusters"]}


@pytest.mark.parametrize(
    ("arguments", "unstaged"),
    [
        (["s3://b/jobs/fruits_featurize.py", "--input=s3://b/images/", "--output=s3://b/f/"], {1}),
        (
            ["s3://b/jobs/fruits_featurize.py", "--output", "s3://b/f/", "--input", "s3://b/in/"],
            {4},
        ),
        (
            ["--py-files", "s3://b/jobs/x.zip", "s3://b/jobs/fruits_pca.py", "--input=s3://b/f/"],
            set(),
        ),
    ],
)
def test_only_what_featurize_reads_itself_stays_on_s3(arguments, unstaged):
    assert direct_reads(arguments) == unstaged


def wait_for_step_state(emr, cluster_id: str, state: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        steps = emr.list_steps(ClusterId=cluster_id)["Steps"]
        if steps and steps[0]["Status"]["State"] == state:
            return
        time.sleep(0.2)
    raise TimeoutError(f"no step of {cluster_id} became {state}")


def keys(s3, prefix: str) -> list[str]:
    return [
        item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
    ]


def test_a_step_writes_back_only_while_its_cluster_is_active(aws):
    _, emr = aws
    s3 = client("s3", aws[0].endpoint)
    finished = start_cluster(emr, [writing_step("finished/", 1)])
    ended = start_cluster(emr, [writing_step("ended/", 8)])
    wait_for_step_state(emr, ended, "RUNNING")
    emr.terminate_job_flows(JobFlowIds=[ended])
    (running,) = emr.list_steps(ClusterId=ended)["Steps"]
    assert running["Status"]["State"] == "CANCELLED", "ended with its cluster, as EMR shows it"

    assert settle(emr, finished) == ("WAITING", [("writes", "COMPLETED")])
    assert keys(s3, "finished/") == ["finished/result.txt"]
    cluster, steps = settle(emr, ended)
    assert (cluster, steps) == ("TERMINATED", [("writes", "CANCELLED")])
    assert keys(s3, "ended/") == []


@pytest.mark.parametrize("idle_timeout", [59, 604801])
def test_an_idle_timeout_outside_emrs_range_is_refused(aws, idle_timeout):
    _, emr = aws
    with pytest.raises(emr.exceptions.ClientError, match="IdleTimeout must be 60 to 604800"):
        start_cluster(emr, [], AutoTerminationPolicy={"IdleTimeout": idle_timeout})


def test_the_idle_timeout_is_read_and_changed_through_emrs_own_calls(aws):
    _, emr = aws
    cluster_id = start_cluster(emr, [], AutoTerminationPolicy={"IdleTimeout": 3600})
    policy = emr.get_auto_termination_policy(ClusterId=cluster_id)
    assert policy["AutoTerminationPolicy"] == {"IdleTimeout": 3600}
    emr.put_auto_termination_policy(ClusterId=cluster_id, AutoTerminationPolicy={"IdleTimeout": 60})
    policy = emr.get_auto_termination_policy(ClusterId=cluster_id)
    assert policy["AutoTerminationPolicy"] == {"IdleTimeout": 60}
    with pytest.raises(emr.exceptions.ClientError, match="IdleTimeout must be 60 to 604800"):
        emr.put_auto_termination_policy(
            ClusterId=cluster_id, AutoTerminationPolicy={"IdleTimeout": 30}
        )
    emr.terminate_job_flows(JobFlowIds=[cluster_id])


@pytest.mark.parametrize("spot", [False, True], ids=["single node", "spot fleet"])
def test_the_dags_instance_variants_run_steps(aws, spot):
    """The instances create_emr_cluster sends: a single node's one group, or a spot fleet,
    which ListInstanceFleets then shows provisioned (spot capacity is never short here)."""
    from fruit_pipeline.config import load_config
    from fruit_pipeline.emr_requests import instance_capacity
    from fruit_pipeline.sizing import ClusterShape

    _, emr = aws
    shape = ClusterShape("m5.xlarge", "m5.2xlarge", 3 if spot else 0, 1.0, "test")
    instances = instance_capacity(load_config({}), shape, spot)
    cluster_id = emr.run_job_flow(
        Name="variant",
        ReleaseLabel="emr-7.9.0",
        Instances={**instances, "KeepJobFlowAliveWhenNoSteps": True},
        Steps=[spark_step("ok", 0, "CONTINUE")],
        JobFlowRole="EMR_EC2_DefaultRole",
        ServiceRole="EMR_DefaultRole",
    )["JobFlowId"]
    assert settle(emr, cluster_id) == ("WAITING", [("ok", "COMPLETED")])
    cluster = emr.describe_cluster(ClusterId=cluster_id)["Cluster"]
    if spot:
        assert cluster["InstanceCollectionType"] == "INSTANCE_FLEET"
        fleets = emr.list_instance_fleets(ClusterId=cluster_id)["InstanceFleets"]
        core = next(fleet for fleet in fleets if fleet["InstanceFleetType"] == "CORE")
        assert (core["TargetSpotCapacity"], core["ProvisionedSpotCapacity"]) == (3, 3)
        assert len(core["InstanceTypeSpecifications"]) >= 3
    else:
        assert cluster["InstanceCollectionType"] == "INSTANCE_GROUP"
        groups = emr.list_instance_groups(ClusterId=cluster_id)["InstanceGroups"]
        assert [group["InstanceGroupType"] for group in groups] == ["MASTER"]
    emr.terminate_job_flows(JobFlowIds=[cluster_id])
