"""The local EMR runs the real bootstrap script on each cluster's node, from the deployed
archive, and the steps run with the Python it made: with every package index unreachable."""

from __future__ import annotations

import json
import time

import pytest

from fruit_pipeline.config import load_config
from fruit_pipeline.emr_requests import PYTHON, bootstrap_actions
from fruits_contract.artifacts import BOOTSTRAP_SCRIPT, node_env_archive
from localaws.client import REGION, client
from localaws.process import LocalAws
from scripts.deploy import ROOT, deploy_node_envs

pytestmark = pytest.mark.slow
BUCKET = "node-tests"
ARTIFACTS = f"s3://{BUCKET}/artifacts/"
# An index that refuses every connection, for pip, uv and any proxy-aware client.
CLOSED = "http://127.0.0.1:9/simple"
NO_INDEX = {
    "PIP_INDEX_URL": CLOSED,
    "PIP_EXTRA_INDEX_URL": CLOSED,
    "UV_INDEX_URL": CLOSED,
    "UV_DEFAULT_INDEX": CLOSED,
    "PIP_FIND_LINKS": "",
}
PROXIES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
# A step that reports the Python of its driver and of an executor, and what they import.
WHICH_PYTHON = """
import json, os, pathlib, sys
import onnxruntime, pandas, pyarrow, PIL, pillow_heif
from pyspark.sql import SparkSession

spark = SparkSession.builder.getOrCreate()
executor = spark.sparkContext.parallelize([0], 1).map(
    lambda _: __import__("sys").executable
).collect()[0]
folder = pathlib.Path(sys.argv[1].split("=", 1)[1].removeprefix("file://"))
folder.mkdir(parents=True, exist_ok=True)
venv = os.path.realpath(sys.prefix)
(folder / "python.json").write_text(
    json.dumps({"driver": sys.executable, "executor": executor, "prefix": venv})
)
"""


@pytest.fixture(scope="module")
def aws(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        for name in PROXIES:
            patch.delenv(name, raising=False)
        for name, value in NO_INDEX.items():
            patch.setenv(name, value)
        local_aws = LocalAws(tmp_path_factory.mktemp("localaws") / "localaws.log")
    s3 = client("s3", local_aws.endpoint)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.upload_file(
        str(ROOT / "spark_jobs" / BOOTSTRAP_SCRIPT), BUCKET, f"artifacts/{BOOTSTRAP_SCRIPT}"
    )
    s3.put_object(Bucket=BUCKET, Key="which_python.py", Body=WHICH_PYTHON)
    deploy_node_envs(s3, BUCKET, "artifacts/", ["x86_64"])
    yield s3, client("emr", local_aws.endpoint)
    local_aws.stop()


@pytest.fixture(scope="module")
def manifest(aws):
    s3, _ = aws
    body = s3.get_object(Bucket=BUCKET, Key="artifacts/node-env/manifest.json")["Body"].read()
    return json.loads(body)


def config():
    return load_config({"FRUITS_DATA_BUCKET": BUCKET, "FRUITS_ARTIFACTS_URI": ARTIFACTS})


def start_cluster(emr, archives: list[str], steps: list[dict] = (), script: str = "") -> str:
    actions = bootstrap_actions(config(), archives)
    if script:
        actions[0]["ScriptBootstrapAction"]["Path"] = script
    return emr.run_job_flow(
        Name="node test",
        ReleaseLabel="emr-7.9.0",
        LogUri=f"s3://{BUCKET}/logs/",
        Instances={
            "InstanceCount": 1,
            "MasterInstanceType": "m5.xlarge",
            "KeepJobFlowAliveWhenNoSteps": False,
        },
        Configurations=[
            {
                "Classification": "spark-env",
                "Configurations": [
                    {
                        "Classification": "export",
                        "Properties": {"PYSPARK_PYTHON": PYTHON, "PYSPARK_DRIVER_PYTHON": PYTHON},
                    }
                ],
            }
        ],
        BootstrapActions=actions,
        Steps=list(steps),
        JobFlowRole="EMR_EC2_DefaultRole",
        ServiceRole="EMR_DefaultRole",
    )["JobFlowId"]


def ended(emr, cluster_id: str, timeout: float = 180) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = emr.describe_cluster(ClusterId=cluster_id)["Cluster"]["Status"]
        if status["State"].startswith("TERMINATED"):
            return status
        time.sleep(0.5)
    raise TimeoutError(f"{cluster_id} is still {status['State']}")


def archive_uri(manifest: dict, architecture: str = "x86_64") -> str:
    return ARTIFACTS + manifest["archives"][architecture]["key"]


def test_a_step_runs_with_the_deployed_environment_and_no_package_index(aws, manifest):
    s3, emr = aws
    step = {
        "Name": "which python",
        "ActionOnFailure": "TERMINATE_CLUSTER",
        "HadoopJarStep": {
            "Jar": "command-runner.jar",
            "Args": [
                "spark-submit",
                f"s3://{BUCKET}/which_python.py",
                f"--output=s3://{BUCKET}/which/",
            ],
        },
    }
    cluster_id = start_cluster(emr, [archive_uri(manifest)], [step])
    status = ended(emr, cluster_id)
    assert status["State"] == "TERMINATED", status
    pythons = json.loads(s3.get_object(Bucket=BUCKET, Key="which/python.json")["Body"].read())
    digest = manifest["archives"]["x86_64"]["sha256"]
    for side in ("driver", "executor"):
        assert pythons[side].endswith(f"{cluster_id}/node{PYTHON}"), pythons
    assert pythons["prefix"].endswith(f"/{digest}"), pythons  # the venv of that archive
    stdout = s3.get_object(
        Bucket=BUCKET, Key=f"logs/{cluster_id}/node/i-localnode/bootstrap-actions/1/stdout.gz"
    )
    assert stdout["ContentLength"] > 0


def test_a_broken_script_ends_the_cluster_with_its_last_error_line(aws, manifest):
    s3, emr = aws
    script = (ROOT / "spark_jobs" / BOOTSTRAP_SCRIPT).read_text()
    broken = script.replace("sha256sum ", "sha265sum ")  # a typo, as a hurried edit makes
    assert broken != script
    s3.put_object(Bucket=BUCKET, Key="broken.sh", Body=broken)
    cluster_id = start_cluster(emr, [archive_uri(manifest)], script=f"s3://{BUCKET}/broken.sh")
    status = ended(emr, cluster_id)
    assert status["State"] == "TERMINATED_WITH_ERRORS"
    reason = status["StateChangeReason"]["Message"]
    assert reason.startswith("Bootstrap failure: bootstrap action 1 (")
    assert "sha265sum: command not found" in reason


def test_an_archive_that_is_not_its_digest_is_refused(aws, manifest):
    s3, emr = aws
    real = manifest["archives"]["x86_64"]["sha256"]
    forged = "0" * 64
    s3.copy_object(
        Bucket=BUCKET,
        Key=f"artifacts/{node_env_archive('x86_64', forged)}",
        CopySource={"Bucket": BUCKET, "Key": f"artifacts/{node_env_archive('x86_64', real)}"},
    )
    cluster_id = start_cluster(emr, [ARTIFACTS + node_env_archive("x86_64", forged)])
    reason = ended(emr, cluster_id)["StateChangeReason"]["Message"]
    assert f"has SHA-256 {real}, not {forged}" in reason


def test_a_missing_archive_ends_the_cluster(aws):
    _, emr = aws
    missing = ARTIFACTS + node_env_archive("x86_64", "1" * 64)
    cluster_id = start_cluster(emr, [missing])
    status = ended(emr, cluster_id)
    assert status["State"] == "TERMINATED_WITH_ERRORS"
    assert "Not Found" in status["StateChangeReason"]["Message"]


def test_a_node_without_an_archive_of_its_architecture_says_so(aws, manifest):
    _, emr = aws
    cluster_id = start_cluster(emr, [ARTIFACTS + node_env_archive("aarch64", "2" * 64)])
    reason = ended(emr, cluster_id)["StateChangeReason"]["Message"]
    assert "no environment archive for this node's architecture (x86_64)" in reason
