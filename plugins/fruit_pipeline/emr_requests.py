"""Pure builders of the EMR requests the DAG sends, from the configuration.

Values that depend on the run are Jinja templates, rendered by Airflow as native objects
(the DAG sets render_template_as_native_obj). Step arguments are written "--name=value" so
that a value such as 0.95 stays a string. The cluster's instances depend on the day's size:
plan_cluster chooses them (instance_capacity), and the steps (erase first when requests are
pending). Tests render every variant and validate it against botocore's own EMR service
model.
"""

from __future__ import annotations

from typing import Any

from fruit_pipeline.config import PipelineConfig
from fruit_pipeline.sizing import ClusterShape, interchangeable
from fruit_pipeline.tuning import EMR_RELEASE, IDLE_TIMEOUT_SECONDS, SPOT_TIMEOUT_MINUTES
from fruits_contract.artifacts import BOOTSTRAP_SCRIPT, NODE_PYTHON, PACKAGE, job_script, model_file
from fruits_contract.jobs import ERASE, FEATURIZE, PCA, JobSpec
from fruits_contract.layout import partition
from fruits_contract.refit import DRIFT, KEEP_VERSIONS, REFIT_DAYS

PYTHON = NODE_PYTHON  # the venv the bootstrap action makes; EMR 7's default is Python 3.9
# A failed step cancels the steps after it and leaves the cluster to the DAG's teardown.
ACTION_ON_FAILURE = "CANCEL_AND_WAIT"

# Jinja, rendered by Airflow for each run: the only templates in the requests.
RUN_ID = "{{ run_id }}"
MODEL = "{{ params.model }}"
# full: PCA refits whatever the drift; a reconcile's PCA is a daily one.
PCA_MODE = "{{ 'full' if params.mode == 'full' else 'incremental' }}"
# What featurize takes (fruits_contract.landing): what no run took, in the open landing
# folders (incremental) or in every folder (reconcile); or every image again (full).
TAKE = "{{ {'incremental': 'new', 'reconcile': 'missing'}.get(params.mode, 'all') }}"
# The run's interval (fruit_pipeline.run_interval, the DAG's macro), however it was triggered.
# The landing folders that runs as of its end may close.
AS_OF = "{{ run_interval(dag_run).end.isoformat() }}"
INGEST_DATE = "{{ run_interval(dag_run).ingest_date }}"
DATA_INTERVAL = "{{ run_interval(dag_run) | string }}"
PCA_SIZE = "{{ '--k=%d' % params.k if params.k else '--variance=%s' % params.variance }}"
# infra/fruits-pipeline.yaml lets Airflow create and touch only the clusters with this tag.
CLUSTER_TAG = {"Key": "project", "Value": "fruits"}
# What identifies a run's cluster, for retries and reruns (fruit_pipeline.retry_safe).
RUN_TAG, DAG_TAG, INTERVAL_TAG = "run_id", "dag_id", "data_interval"
# The nodes' Python environment, "architecture=sha256" per archive (fruit_pipeline.node_env).
PYTHON_ENV_TAG = "python_env"


def bootstrap_actions(config: PipelineConfig, archives: list[str]) -> list[dict[str, Any]]:
    """Each node unpacks the archive of its architecture among archives (deployed by
    scripts.deploy) into a Python 3.11 venv: nothing comes from a package index."""
    return [
        {
            "Name": "Python 3.11 with the steps' locked packages, from the deployed archive",
            "ScriptBootstrapAction": {"Path": config.artifact(BOOTSTRAP_SCRIPT), "Args": archives},
        }
    ]


def job_flow_overrides(
    config: PipelineConfig,
    dag_id: str,
    instances: Any = None,
    bootstrap: Any = None,
    python_env: Any = None,
) -> dict[str, Any]:
    """RunJobFlow request: Spark on EMR 7, Python 3.11 with the locked packages. Its
    instances (groups or fleets, and the subnet), its bootstrap actions (bootstrap_actions)
    and the environment's identity are plan_cluster's, XComArgs in the DAG."""
    request: dict[str, Any] = {
        "Name": f"{dag_id} {RUN_ID}",
        "ReleaseLabel": EMR_RELEASE,
        "LogUri": config.logs_uri,
        "Applications": [{"Name": "Spark"}],
        "Configurations": [
            {
                "Classification": "spark-env",
                "Configurations": [
                    {
                        "Classification": "export",
                        "Properties": {"PYSPARK_PYTHON": PYTHON, "PYSPARK_DRIVER_PYTHON": PYTHON},
                    }
                ],
            },
            # Every object EMRFS writes is encrypted (SSE-S3), whatever the bucket's default.
            {
                "Classification": "emrfs-site",
                "Properties": {"fs.s3.enableServerSideEncryption": "true"},
            },
        ],
        "BootstrapActions": bootstrap or [],
        "Instances": instances or {},
        "AutoTerminationPolicy": {"IdleTimeout": IDLE_TIMEOUT_SECONDS},
        "JobFlowRole": config.job_flow_role,
        "ServiceRole": config.service_role,
        "VisibleToAllUsers": True,
        "Tags": [
            CLUSTER_TAG,
            {"Key": DAG_TAG, "Value": dag_id},
            {"Key": RUN_TAG, "Value": RUN_ID},
            {"Key": INTERVAL_TAG, "Value": DATA_INTERVAL},
        ],
    }
    if python_env is not None:
        request["Tags"].append({"Key": PYTHON_ENV_TAG, "Value": python_env})
    if config.security_configuration:
        request["SecurityConfiguration"] = config.security_configuration
    return request


def instance_capacity(config: PipelineConfig, shape: ClusterShape, spot: bool) -> dict[str, Any]:
    """The request's instances for shape: instance groups on-demand; with spot core nodes, an
    instance fleet of interchangeable types that switches to on-demand after
    SPOT_TIMEOUT_MINUTES without spot capacity (instance groups cannot). The cluster waits
    for the DAG's steps, and its teardown."""
    alive = {"KeepJobFlowAliveWhenNoSteps": True, "TerminationProtected": False}
    subnet = {"Ec2SubnetId": config.subnet_id} if config.subnet_id else {}
    primary = {"Name": "Primary", "InstanceType": shape.primary_type}
    if not (spot and shape.core_nodes):
        groups = [{**primary, "Market": "ON_DEMAND", "InstanceRole": "MASTER", "InstanceCount": 1}]
        if shape.core_nodes:
            groups.append(
                {
                    "Name": "Core",
                    "Market": "ON_DEMAND",
                    "InstanceRole": "CORE",
                    "InstanceType": shape.core_type,
                    "InstanceCount": shape.core_nodes,
                }
            )
        return {**alive, "InstanceGroups": groups, **subnet}
    fleets = [
        {
            "Name": "Primary",
            "InstanceFleetType": "MASTER",
            "TargetOnDemandCapacity": 1,
            "InstanceTypeConfigs": [{"InstanceType": shape.primary_type}],
        },
        {
            "Name": "Core",
            "InstanceFleetType": "CORE",
            "TargetSpotCapacity": shape.core_nodes,
            "InstanceTypeConfigs": [
                {"InstanceType": name, "WeightedCapacity": 1}
                for name in interchangeable(shape.core_type)
            ],
            "LaunchSpecifications": {
                "SpotSpecification": {
                    "TimeoutDurationMinutes": SPOT_TIMEOUT_MINUTES,
                    "TimeoutAction": "SWITCH_TO_ON_DEMAND",
                    "AllocationStrategy": "price-capacity-optimized",
                },
                "OnDemandSpecification": {"AllocationStrategy": "lowest-price"},
            },
        },
    ]
    return {
        **alive,
        "InstanceFleets": fleets,
        **({"Ec2SubnetIds": [config.subnet_id]} if config.subnet_id else {}),
    }


def spark_submit(config: PipelineConfig, job: JobSpec, arguments: list[str]) -> dict[str, Any]:
    """A command-runner.jar step running one deployed job script with the shared package."""
    return {
        "Name": job.name,
        "ActionOnFailure": ACTION_ON_FAILURE,
        "HadoopJarStep": {
            "Jar": "command-runner.jar",
            "Args": [
                "spark-submit",
                "--deploy-mode",
                "client",
                "--py-files",
                config.artifact(PACKAGE),
                config.artifact(job_script(job)),
                *arguments,
            ],
        },
    }


def spark_steps(config: PipelineConfig) -> list[dict[str, Any]]:
    """featurize what landed and no run took yet (every image in full mode), then PCA of that
    model: the new days appended to the published version, or a refit when one is due."""
    featurize = spark_submit(
        config,
        FEATURIZE,
        [
            f"--input={config.images_uri}",
            f"--output={config.features_uri}",
            f"--model={MODEL}",
            f"--model-file={config.artifact(model_file(MODEL))}",
            f"--take={TAKE}",
            f"--as-of={AS_OF}",
            f"--ingest-date={INGEST_DATE}",
        ],
    )
    pca = spark_submit(
        config,
        PCA,
        [
            f"--input={config.features_uri}",
            f"--output={config.pca_uri}{partition('model', MODEL)}/",
            f"--model={MODEL}",
            PCA_SIZE,
            f"--keep-versions={KEEP_VERSIONS}",
            f"--drift={DRIFT}",
            f"--refit-days={REFIT_DAYS}",
            f"--mode={PCA_MODE}",
            "--skip-too-few",  # a fresh deployment, or an erasure that left too few rows
        ],
    )
    return [featurize, pca]


def erase_step(config: PipelineConfig, region: str | None) -> dict[str, Any]:
    """The step that applies the pending erasure requests, added before the others when the
    first task found some (fruit_pipeline.erasure); region: the AWS connection's."""
    return spark_submit(
        config,
        ERASE,
        [
            f"--requests={config.erasure_uri}",
            f"--images={config.images_uri}",
            f"--features={config.features_uri}",
            f"--pca={config.pca_uri}",
            f"--run-id={RUN_ID}",
            *([f"--region={region}"] if region else []),
        ],
    )
