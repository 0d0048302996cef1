"""
### fruit_features

Every day, turn the fruit photos that landed in S3 into CNN features and PCA components on a
short-lived EMR cluster:

1. `wait_for_new_images`: wait (deferred) for an image that landed since featurize last
   listed its folder (any landing folder still open, whatever the run's date), or a pending
   erasure request; neither before the timeout: the run is skipped and no cluster is
   created;
2. `plan_cluster`: the day's work (new images, erasure requests, a PCA refit foreseen)
   decides the cluster's nodes and the steps, and which deployed archive of the locked
   Python packages the nodes unpack (no package index); its XComs show the plan, its reason
   and estimate;
3. `create_emr_cluster`: start EMR 7 with Spark, as planned; a retry reuses the run's
   cluster; the DAG's other runs still running are waited for (one run at a time, a
   backfill's too), and the clusters of runs no longer running are ended first;
4. `add_spark_steps`: erase what pending requests name (when there are some), featurize
   every landed image no run took yet (after an outage, all the missed days on this one
   cluster), then PCA: the new days appended to the published version, or a refit when one
   is due; a retry adds no step twice;
5. `watch_spark_steps`: wait (deferred) for the last step; a failed step fails the run, with
   the step's reason and the end of its log;
6. `publish_outputs`: once every step completed, complete the erasure requests the erase
   step verified (something left fails the run, naming the place), and record an event on
   each of the two assets, `fruit_features.features` and `fruit_features.pca`, that has
   news since its last event, for the DAGs scheduled on them (a rerun that changed nothing
   records none);
7. `terminate_emr_cluster`: the teardown of the cluster and its steps (both setups, so a
   clear that starts a new cluster adds the steps to it): always terminates the cluster
   once it exists;
8. `record_cost`: after it, whatever the run's outcome, what the cluster cost, from its own
   timeline, under `costs/`.

A failed task, and a run still running after `FRUITS_RUN_ALERT_MINUTES`, publish an alert to
the SNS topic `FRUITS_ALERTS_TOPIC_ARN`, if one is set.

Trigger it from the UI with params (model, PCA size, mode, core nodes, spot). The settings
are `FRUITS_*` environment variables, the tuning is fruit_pipeline.tuning: see docs/dag.md.
"""

from __future__ import annotations

import pendulum
from airflow.providers.amazon.aws.operators.emr import EmrTerminateJobFlowOperator
from airflow.sdk import DAG, Param, chain
from airflow.timetables.interval import CronDataIntervalTimetable

from fruit_pipeline.alerts import TEMPLATE_FILTERS, failure_alerts, run_deadlines
from fruit_pipeline.assets import OUTPUTS_ALIAS, features_asset, pca_asset
from fruit_pipeline.config import load_config
from fruit_pipeline.emr_requests import job_flow_overrides
from fruit_pipeline.prices import INSTANCES
from fruit_pipeline.retry_safe import (
    CLUSTER_XCOM,
    LAST_STEP_XCOM,
    RetrySafeEmrAddStepsOperator,
    RetrySafeEmrCreateJobFlowOperator,
)
from fruit_pipeline.run_interval import run_interval
from fruit_pipeline.sensors import NewImagesSensor
from fruit_pipeline.step_failures import ExplainedStepSensor
from fruit_pipeline.tasks import plan_cluster, publish_outputs, record_cost
from fruit_pipeline.tuning import (
    AWS_RETRIES,
    CORE_INSTANCE_TYPE,
    DAGRUN_TIMEOUT,
    MAX_CORE_NODES,
    MAX_RETRY_DELAY,
    SPOT_TIMEOUT_MINUTES,
    STEPS_TIMEOUT,
)
from fruits_contract.cnns import CNNS, DEFAULT_CNN, SMALLEST_FEATURE_SIZE
from fruits_contract.erasure import REQUESTS
from fruits_contract.layout import landing_state_key

DAG_ID = "fruit_features"
CONFIG = load_config()
AWS = {"aws_conn_id": CONFIG.aws_conn_id}
MODEL = "{{ params.model }}"
# Every task calls AWS. The two sensors retry too: Airflow 3.3's scheduler can fail a
# deferred task once it has resumed, on the stale executor event of its deferral
# (apache/airflow#72716, fix pending in #71579). A failed EMR step is no such error: it fails
# watch_spark_steps without retries. The first delay is Airflow's default_task_retry_delay.
RETRIES = {
    "retries": AWS_RETRIES,
    "retry_exponential_backoff": True,
    "max_retry_delay": MAX_RETRY_DELAY,
}


def optional_integer(low: int, high: int, description: str) -> Param:
    """A param empty by default (null: the DAG decides), else an integer from low to high."""
    return Param(None, type=["null", "integer"], minimum=low, maximum=high, description=description)


PARAMS = {
    "model": Param(DEFAULT_CNN, enum=list(CNNS), description="CNN without its top"),
    "mode": Param(
        "incremental",
        enum=["incremental", "full", "reconcile"],
        description="incremental: every image landed that no run took yet, in the open landing "
        "folders; reconcile: the same in every folder (a late upload into an older day); full: "
        "every image, rebuilding the model's features",
    ),
    "variance": Param(
        0.95,
        type="number",
        exclusiveMinimum=0,
        maximum=1,
        description="PCA keeps the fewest components explaining this share of the variance",
    ),
    "k": optional_integer(
        1, SMALLEST_FEATURE_SIZE, "a fixed number of PCA components instead of --variance"
    ),
    "core_instance_count": optional_integer(
        0, MAX_CORE_NODES, "core nodes (0: a single node); empty: sized from the day's images"
    ),
    "core_instance_type": Param(
        None,
        type=["null", "string"],
        enum=[None, *INSTANCES],
        description=f"EC2 type of the core nodes; empty: {CORE_INSTANCE_TYPE}",
    ),
    "spot": Param(
        False,
        type="boolean",
        description="spot core nodes, switching to on-demand after "
        f"{SPOT_TIMEOUT_MINUTES} min without capacity",
    ),
}

with DAG(
    dag_id=DAG_ID,
    description="Featurize new fruit photos with a CNN and reduce them with PCA on EMR",
    doc_md=__doc__,
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 11, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=DAGRUN_TIMEOUT,
    deadline=run_deadlines(CONFIG),
    params=PARAMS,
    render_template_as_native_obj=True,
    user_defined_filters=TEMPLATE_FILTERS,
    user_defined_macros={"run_interval": run_interval},
    default_args={
        "owner": "data-platform",
        "on_failure_callback": failure_alerts(CONFIG),
        **RETRIES,
    },
    tags=["fruits", "emr", "spark"],
):
    wait_for_new_images = NewImagesSensor(
        task_id="wait_for_new_images",
        bucket_key=f"{CONFIG.images_uri}*",
        erasure_requests=CONFIG.erasure_uri + REQUESTS,
        landing_state=CONFIG.features_uri + landing_state_key(MODEL),
        timeout=CONFIG.sensor_timeout_seconds,
        poke_interval=CONFIG.poke_seconds,
        soft_fail=True,
        **AWS,
    )

    plan = plan_cluster(wait_for_new_images.output)

    create_emr_cluster = RetrySafeEmrCreateJobFlowOperator(
        task_id="create_emr_cluster",
        job_flow_overrides=job_flow_overrides(
            CONFIG,
            DAG_ID,
            instances=plan["instances"],
            bootstrap=plan["bootstrap"],
            python_env=plan["python_env"],
        ),
        emr_conn_id=None,  # no silent merge of an emr_default connection's extras
        poll_seconds=CONFIG.poke_seconds,
        **AWS,
    )

    add_spark_steps = RetrySafeEmrAddStepsOperator(
        task_id="add_spark_steps",
        job_flow_id=create_emr_cluster.output,
        steps=plan["steps"],
        **AWS,
    )

    # The steps' ids and their cluster, both from add_spark_steps: a clear that starts a new
    # cluster also adds the steps to it (both are setups of the teardown).
    steps_cluster = add_spark_steps.output[CLUSTER_XCOM]

    watch_spark_steps = ExplainedStepSensor(
        task_id="watch_spark_steps",
        job_flow_id=steps_cluster,
        step_id=add_spark_steps.output[LAST_STEP_XCOM],
        deferrable=True,
        poke_interval=CONFIG.poke_seconds,
        max_attempts=int(STEPS_TIMEOUT.total_seconds()) // CONFIG.poke_seconds,
        **AWS,
    )

    # Out of the cluster's scope (not upstream of its teardown): cleared alone, it runs alone.
    # It reads the two datasets, and records through the alias the events that are news
    # against the assets' last ones: as inlets, Airflow knows the assets the alias names.
    published = publish_outputs.override(
        inlets=[features_asset(CONFIG), pca_asset(CONFIG)], outlets=[OUTPUTS_ALIAS]
    )(steps_cluster, add_spark_steps.output, plan["python_env"])

    terminate_emr_cluster = EmrTerminateJobFlowOperator(
        task_id="terminate_emr_cluster",
        job_flow_id=create_emr_cluster.output,
        **AWS,
    ).as_teardown(setups=[create_emr_cluster, add_spark_steps])

    cost = record_cost(create_emr_cluster.output, plan["plan"]).as_teardown(
        setups=create_emr_cluster
    )

    chain(
        wait_for_new_images,
        plan,
        create_emr_cluster,
        add_spark_steps,
        watch_spark_steps,
        [published, terminate_emr_cluster],
    )
    terminate_emr_cluster >> cost
