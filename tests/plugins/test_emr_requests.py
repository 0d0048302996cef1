"""Every EMR request the DAG can render is valid for botocore's own EMR service model."""

from __future__ import annotations

import copy
from types import SimpleNamespace

import botocore.session
import pendulum
import pytest
from botocore.validate import ParamValidator

from fruit_pipeline.config import load_config
from fruit_pipeline.emr_requests import (
    bootstrap_actions,
    erase_step,
    instance_capacity,
    job_flow_overrides,
    spark_steps,
)
from fruit_pipeline.sizing import ClusterShape
from fruit_pipeline.tuning import IDLE_TIMEOUT_SECONDS, SPOT_TIMEOUT_MINUTES
from fruits_contract.artifacts import node_env_archive

EMR = botocore.session.get_session().get_service_model("emr")
START = pendulum.datetime(2026, 11, 20, tz="UTC")
END = START.add(days=1)
DIGEST = "ab" * 32
VARIANTS = {
    "defaults": {},
    "resnet50 with k": {"model": "resnet50", "k": 7},
    "vgg16 full rebuild": {"model": "vgg16", "mode": "full", "variance": 0.8},
    "bigger spot cluster": {
        "core_instance_count": 6,
        "core_instance_type": "m5.4xlarge",
        "spot": True,
    },
}
SHAPES = {
    "single node": (ClusterShape("m5.xlarge", "m5.2xlarge", 0, 1.0, "small"), False),
    "single node, spot asked": (ClusterShape("m5.xlarge", "m5.2xlarge", 0, 1.0, "small"), True),
    "core nodes": (ClusterShape("m5.xlarge", "m5.2xlarge", 3, 9.0, "big"), False),
    "spot fleet": (ClusterShape("m5.xlarge", "m5.4xlarge", 6, 9.0, "big"), True),
    "graviton spot fleet": (ClusterShape("m6g.xlarge", "m7g.2xlarge", 2, 9.0, "big"), True),
}
SUBNETS = {"default subnet": {}, "the stack's subnet": {"FRUITS_SUBNET_ID": "subnet-0abc1234"}}


def render(dag, request, conf: dict):
    """A request rendered as plan_cluster and create_emr_cluster render it: the DAG's params,
    conf and Jinja env."""
    params = copy.deepcopy(dag.params)
    params.update(conf)
    context = {
        "params": params.validate(),
        "run_id": "scheduled__2026-11-20T00:00:00+00:00",
        "dag_run": SimpleNamespace(
            run_type="scheduled",
            logical_date=START,
            data_interval_start=START,
            data_interval_end=END,
            run_after=END,
        ),
    }
    task = dag.get_task("plan_cluster")
    return task.render_template(request, context, dag.get_template_env())


def assert_valid(operation: str, request: dict) -> None:
    report = ParamValidator().validate(request, EMR.operation_model(operation).input_shape)
    assert not report.has_errors(), report.generate_report()


@pytest.mark.parametrize("environment", SUBNETS.values(), ids=SUBNETS.keys())
@pytest.mark.parametrize(("shape", "spot"), SHAPES.values(), ids=SHAPES.keys())
def test_every_cluster_shape_gives_a_valid_create_request(dag, shape, spot, environment):
    """The rendered request with each variant of the instances plan_cluster chooses."""
    config = load_config(environment)
    instances = instance_capacity(config, shape, spot)
    archives = [config.artifact(node_env_archive("x86_64", DIGEST))]
    request = job_flow_overrides(
        config, "fruit_features", instances, bootstrap_actions(config, archives), f"x86_64={DIGEST}"
    )
    request = render(dag, request, {})
    assert_valid("RunJobFlow", request)
    assert request["BootstrapActions"][0]["ScriptBootstrapAction"]["Args"] == archives
    assert {"Key": "python_env", "Value": f"x86_64={DIGEST}"} in request["Tags"]
    instances = request["Instances"]
    if spot and shape.core_nodes:
        primary, core = instances["InstanceFleets"]
        assert primary["TargetOnDemandCapacity"] == 1
        assert core["TargetSpotCapacity"] == shape.core_nodes
        types = [config["InstanceType"] for config in core["InstanceTypeConfigs"]]
        assert types[0] == shape.core_type
        assert len(set(types)) >= 3
        assert {t.split(".")[1] for t in types} == {shape.core_type.split(".")[1]}
        assert core["LaunchSpecifications"]["SpotSpecification"] == {
            "TimeoutDurationMinutes": SPOT_TIMEOUT_MINUTES,
            "TimeoutAction": "SWITCH_TO_ON_DEMAND",
            "AllocationStrategy": "price-capacity-optimized",
        }
        assert "InstanceGroups" not in instances
    else:
        groups = instances["InstanceGroups"]
        assert [group["InstanceRole"] for group in groups] == ["MASTER"] + ["CORE"] * bool(
            shape.core_nodes
        )
        assert {group["Market"] for group in groups} == {"ON_DEMAND"}
        assert sum(group["InstanceCount"] for group in groups) == 1 + shape.core_nodes
    subnet = environment.get("FRUITS_SUBNET_ID")
    assert instances.get("Ec2SubnetId", (instances.get("Ec2SubnetIds") or [None])[0]) == subnet


@pytest.mark.parametrize("conf", VARIANTS.values(), ids=VARIANTS.keys())
def test_add_steps_requests_are_valid(dag, conf):
    steps = render(dag, spark_steps(load_config({})), conf)
    assert_valid("AddJobFlowSteps", {"JobFlowId": "j-1234567890ABC", "Steps": steps})
    assert [step["Name"] for step in steps] == ["featurize", "pca"]
    assert {step["ActionOnFailure"] for step in steps} == {"CANCEL_AND_WAIT"}


def test_the_erase_step_is_valid_and_names_every_place_it_cleans(dag):
    erase = render(dag, erase_step(load_config({}), "eu-west-1"), {})
    assert_valid("AddJobFlowSteps", {"JobFlowId": "j-1234567890ABC", "Steps": [erase]})
    arguments = erase["HadoopJarStep"]["Args"]
    assert arguments[-6:] == [
        "--requests=s3://fruits-data/erasure/",
        "--images=s3://fruits-data/images/",
        "--features=s3://fruits-data/features/",
        "--pca=s3://fruits-data/pca/",
        "--run-id=scheduled__2026-11-20T00:00:00+00:00",
        "--region=eu-west-1",
    ]
    assert arguments[-7].endswith("/jobs/fruits_erase.py")


def step_args(dag, conf: dict) -> tuple[list[str], list[str]]:
    featurize, pca = render(dag, spark_steps(load_config({})), conf)
    return featurize["HadoopJarStep"]["Args"], pca["HadoopJarStep"]["Args"]


def test_incremental_featurize_takes_what_no_run_took_as_of_the_interval_end(dag):
    featurize, pca = step_args(dag, {})
    assert featurize[:2] == ["spark-submit", "--deploy-mode"]
    assert "--take=new" in featurize
    assert "--as-of=2026-11-21T00:00:00+00:00" in featurize
    assert "--ingest-date=2026-11-20" in featurize
    assert "--model=mobilenet_v2" in featurize
    assert not any(argument.startswith("--modified") for argument in featurize)
    assert "--variance=0.95" in pca
    assert {"--drift=0.005", "--refit-days=30", "--mode=incremental"} <= set(pca)
    assert "--skip-too-few" in pca


def test_full_mode_takes_everything_and_k_replaces_variance(dag):
    featurize, pca = step_args(dag, {"mode": "full", "k": 12, "model": "vgg16"})
    assert "--take=all" in featurize
    assert "--k=12" in pca
    assert "--mode=full" in pca, "a full rebuild refits PCA whatever the drift"
    assert not any(argument.startswith("--variance") for argument in pca)
    assert any(argument.endswith("model=vgg16/") for argument in pca)


def test_a_reconcile_takes_what_is_missing_anywhere_with_a_daily_pca(dag):
    featurize, pca = step_args(dag, {"mode": "reconcile"})
    assert "--take=missing" in featurize
    assert "--mode=incremental" in pca


CUSTOM = {
    "FRUITS_DATA_BUCKET": "acme-fruits",
    "FRUITS_ARTIFACTS_URI": "s3://acme-code/fruits/v2/",
    "FRUITS_LOGS_URI": "s3://acme-logs/emr/",
    "FRUITS_JOB_FLOW_ROLE": "acme-emr-nodes",
    "FRUITS_SERVICE_ROLE": "acme-emr-service",
}


def s3_uris(value) -> list[str]:
    """Every s3:// URI in a request, wherever it is nested (after --name= in step args)."""
    if isinstance(value, dict):
        return [uri for item in value.values() for uri in s3_uris(item)]
    if isinstance(value, list):
        return [uri for item in value for uri in s3_uris(item)]
    if isinstance(value, str) and "s3://" in value:
        return [value[value.index("s3://") :]]
    return []


def test_every_setting_reaches_the_requests_and_nothing_is_hard_coded():
    config = load_config(CUSTOM)
    archives = [config.artifact(node_env_archive("aarch64", DIGEST))]
    request = job_flow_overrides(
        config, "fruit_features", bootstrap=bootstrap_actions(config, archives)
    )
    steps = [erase_step(config, "eu-west-1"), *spark_steps(config)]
    assert request["LogUri"] == "s3://acme-logs/emr/"
    assert request["AutoTerminationPolicy"] == {"IdleTimeout": IDLE_TIMEOUT_SECONDS}
    assert 60 <= IDLE_TIMEOUT_SECONDS <= 15 * 60, "a paused run's cluster ends within 15 min"
    assert (request["JobFlowRole"], request["ServiceRole"]) == (
        "acme-emr-nodes",
        "acme-emr-service",
    )
    allowed = (
        config.artifacts_uri,
        config.logs_uri,
        config.images_uri,
        config.features_uri,
        config.pca_uri,
        config.erasure_uri,
    )
    uris = s3_uris(request) + s3_uris(steps)
    assert len(uris) >= 12
    for uri in uris:
        assert uri.startswith(allowed), f"{uri} is outside the configured locations"
    _, featurize, pca = (step["HadoopJarStep"]["Args"] for step in steps)
    assert "--input=s3://acme-fruits/images/" in featurize
    assert "--output=s3://acme-fruits/features/" in featurize
    assert "--input=s3://acme-fruits/features/" in pca


def test_the_stacks_security_configuration_and_subnet_reach_the_request():
    config = load_config(
        {"FRUITS_SECURITY_CONFIGURATION": "fruits-emr", "FRUITS_SUBNET_ID": "subnet-0abc1234"}
    )
    request = job_flow_overrides(config, "fruit_features")
    assert request["SecurityConfiguration"] == "fruits-emr"
    shape = ClusterShape("m5.xlarge", "m5.2xlarge", 2, 9.0, "big")
    assert instance_capacity(config, shape, spot=False)["Ec2SubnetId"] == "subnet-0abc1234"
    # tests/infra/ validates the rendered request carrying them against botocore's model.
