"""Every EMR request the DAG can render is valid for botocore's own EMR service model."""

from __future__ import annotations

import copy

import botocore.session
import pendulum
import pytest
from botocore.validate import ParamValidator

from fruit_pipeline.config import load_config
from fruit_pipeline.emr_requests import job_flow_overrides, spark_steps

EMR = botocore.session.get_session().get_service_model("emr")
START = pendulum.datetime(2026, 11, 20, tz="UTC")
END = START.add(days=1)
VARIANTS = {
    "defaults": {},
    "resnet50 with k": {"model": "resnet50", "k": 7},
    "vgg16 full rebuild": {"model": "vgg16", "mode": "full", "variance": 0.8},
    "bigger spot cluster": {
        "core_instance_count": 6,
        "core_instance_type": "c5.4xlarge",
        "spot": True,
    },
}


def render(dag, task_id: str, field: str, conf: dict):
    """A task's field rendered as Airflow renders it: the DAG's params, conf and Jinja env."""
    params = copy.deepcopy(dag.params)
    params.update(conf)
    context = {
        "params": params.validate(),
        "run_id": "scheduled__2026-11-20T00:00:00+00:00",
        "data_interval_start": START,
        "data_interval_end": END,
    }
    task = dag.get_task(task_id)
    return task.render_template(getattr(task, field), context, dag.get_template_env())


def assert_valid(operation: str, request: dict) -> None:
    report = ParamValidator().validate(request, EMR.operation_model(operation).input_shape)
    assert not report.has_errors(), report.generate_report()


@pytest.mark.parametrize("conf", VARIANTS.values(), ids=VARIANTS.keys())
def test_create_cluster_requests_are_valid(dag, conf):
    request = render(dag, "create_emr_cluster", "job_flow_overrides", conf)
    assert_valid("RunJobFlow", request)
    core = request["Instances"]["InstanceGroups"][1]
    assert core["InstanceCount"] == conf.get("core_instance_count", 2)
    assert core["Market"] == ("SPOT" if conf.get("spot") else "ON_DEMAND")


@pytest.mark.parametrize("conf", VARIANTS.values(), ids=VARIANTS.keys())
def test_add_steps_requests_are_valid(dag, conf):
    steps = render(dag, "add_spark_steps", "steps", conf)
    assert_valid("AddJobFlowSteps", {"JobFlowId": "j-1234567890ABC", "Steps": steps})
    assert [step["Name"] for step in steps] == ["featurize", "pca"]
    assert {step["ActionOnFailure"] for step in steps} == {"CANCEL_AND_WAIT"}


def step_args(dag, conf: dict) -> tuple[list[str], list[str]]:
    featurize, pca = render(dag, "add_spark_steps", "steps", conf)
    return featurize["HadoopJarStep"]["Args"], pca["HadoopJarStep"]["Args"]


def test_incremental_featurize_reads_the_data_interval(dag):
    featurize, pca = step_args(dag, {})
    assert featurize[:2] == ["spark-submit", "--deploy-mode"]
    assert "--modified-after=2026-11-20T00:00:00+00:00" in featurize
    assert "--modified-before=2026-11-21T00:00:00+00:00" in featurize
    assert "--ingest-date=2026-11-20" in featurize
    assert "--model=mobilenet_v2" in featurize
    assert "--variance=0.95" in pca


def test_full_mode_has_no_window_and_k_replaces_variance(dag):
    featurize, pca = step_args(dag, {"mode": "full", "k": 12, "model": "vgg16"})
    assert "--modified-after=" in featurize
    assert "--modified-before=" in featurize
    assert "--k=12" in pca
    assert not any(argument.startswith("--variance") for argument in pca)
    assert any(argument.endswith("model=vgg16/") for argument in pca)


def test_cluster_request_follows_the_configuration():
    config = load_config({"FRUITS_EMR_RELEASE": "emr-7.2.0", "FRUITS_DATA_BUCKET": "b"})
    request = job_flow_overrides(config, "fruit_features")
    assert request["ReleaseLabel"] == "emr-7.2.0"
    assert request["Instances"]["KeepJobFlowAliveWhenNoSteps"] is True
    assert request["Instances"]["TerminationProtected"] is False
    assert request["AutoTerminationPolicy"]["IdleTimeout"] == 3600
    exports = request["Configurations"][0]["Configurations"][0]["Properties"]
    assert exports["PYSPARK_PYTHON"].endswith("python3.11")
    bootstrap = request["BootstrapActions"][0]["ScriptBootstrapAction"]
    assert bootstrap["Path"].startswith(config.artifacts_uri)
    assert {tag["Key"] for tag in request["Tags"]} == {"project", "dag_id", "run_id"}
    featurize, _ = spark_steps(config)
    assert "--input=s3://b/images/" in featurize["HadoopJarStep"]["Args"]
    emrfs = request["Configurations"][1]
    assert emrfs["Properties"] == {"fs.s3.enableServerSideEncryption": "true"}
    assert "SecurityConfiguration" not in request
    assert "Ec2SubnetId" not in request["Instances"]


def test_the_stacks_security_configuration_and_subnet_reach_the_request():
    config = load_config(
        {"FRUITS_SECURITY_CONFIGURATION": "fruits-emr", "FRUITS_SUBNET_ID": "subnet-0abc"}
    )
    request = job_flow_overrides(config, "fruit_features")
    assert request["SecurityConfiguration"] == "fruits-emr"
    assert request["Instances"]["Ec2SubnetId"] == "subnet-0abc"
    # tests/infra/ validates the rendered request carrying them against botocore's model.
