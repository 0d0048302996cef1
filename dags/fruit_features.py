"""
### fruit_features

Every day, turn the fruit photos that landed in S3 into CNN features and PCA components on a
short-lived EMR cluster:

1. `wait_for_new_images`: wait (deferred) for an image that landed since featurize last
   listed its folder (any landing folder still open, whatever the run's date), or a pending
   erasure request; neither before the timeout: the run is skipped and no cluster is
   created;
2. `create_emr_cluster`: start EMR 7 with Spark and the locked Python requirements, sized
   from the new images and the CNN (a single node for a small day); a retry reuses
   the run's cluster, and an interrupted run's cluster of the same interval is ended first;
3. `add_spark_steps`: erase what pending requests name (when there are some), featurize
   every landed image no run took yet (after an outage, all the missed days on this one
   cluster), then PCA: the new days appended to the published version, or a refit when one
   is due; a retry adds no step twice;
4. `watch_spark_steps`: wait (deferred) for the last step; a failed step fails the run, with
   the step's reason and the end of its log; success completes the erasure requests that
   the erase step verified (something left fails the run, naming the place) and records
   events on the two assets, `fruit_features.features` and `fruit_features.pca`, for the
   DAGs scheduled on them;
5. `terminate_emr_cluster`: the teardown: always terminates the cluster once it exists,
   then writes what it cost, from its own timeline, under `FRUITS_COSTS_PREFIX`.

A failed task, and a run still running after `FRUITS_RUN_ALERT_MINUTES`, publish an alert to
the SNS topic `FRUITS_ALERTS_TOPIC_ARN`, if one is set.

Trigger it from the UI with params (model, PCA size, full rebuild, cluster size, spot). The
configuration comes from `FRUITS_*` environment variables: see docs/dag.md.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG, Param, chain
from airflow.timetables.interval import CronDataIntervalTimetable

from fruit_pipeline.alerts import TEMPLATE_FILTERS, failure_alerts, run_deadlines
from fruit_pipeline.assets import PublishingStepSensor
from fruit_pipeline.cluster import (
    CostRecordingEmrTerminateJobFlowOperator,
    SizedEmrCreateJobFlowOperator,
)
from fruit_pipeline.config import MAX_CORE_NODES, load_config
from fruit_pipeline.emr_requests import (
    INGEST_DATE,
    MODEL,
    erase_step,
    job_flow_overrides,
    spark_steps,
)
from fruit_pipeline.erasure import ErasingEmrAddStepsOperator
from fruit_pipeline.prices import INSTANCES
from fruit_pipeline.sensors import ERASURE_REQUESTS_XCOM, NEW_IMAGES_XCOM, NewImagesSensor
from fruits_contract.cnns import CNNS, DEFAULT_CNN, SMALLEST_FEATURE_SIZE
from fruits_contract.erasure import REQUESTS
from fruits_contract.layout import landing_state_key

DAG_ID = "fruit_features"
CONFIG = load_config()
AWS = {"aws_conn_id": CONFIG.aws_conn_id, "region_name": CONFIG.region}
PENDING_ERASURES = (
    f"{{{{ ti.xcom_pull(task_ids='wait_for_new_images', key='{ERASURE_REQUESTS_XCOM}') }}}}"
)
NEW_IMAGES = f"{{{{ ti.xcom_pull(task_ids='wait_for_new_images', key='{NEW_IMAGES_XCOM}') }}}}"
STEPS_TIMEOUT = 10 * 3600  # seconds, within dagrun_timeout
# Every task calls AWS. The two sensors retry too: Airflow 3.3's scheduler can fail a
# deferred task once it has resumed, on the stale executor event of its deferral
# (apache/airflow#72716, fix pending in #71579). A failed EMR step is no such error: it fails
# watch_spark_steps without retries.
AWS_RETRIES = {
    "retries": 3,
    "retry_delay": timedelta(seconds=CONFIG.aws_retry_delay_seconds),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=10),
}

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
    "k": Param(
        None,
        type=["null", "integer"],
        minimum=1,
        maximum=SMALLEST_FEATURE_SIZE,
        description="a fixed number of PCA components instead of --variance",
    ),
    "core_instance_count": Param(
        CONFIG.core_instance_count,
        type=["null", "integer"],
        minimum=0,
        maximum=MAX_CORE_NODES,
        description="core nodes (0: a single node); empty: sized from the day's images",
    ),
    "core_instance_type": Param(
        None,
        type=["null", "string"],
        enum=[None, *INSTANCES],
        description=f"EC2 type of the core nodes; empty: {CONFIG.core_instance_type}",
    ),
    "spot": Param(
        False,
        type="boolean",
        description="spot core nodes, switching to on-demand after "
        f"{CONFIG.spot_timeout_minutes} min without capacity",
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
    dagrun_timeout=timedelta(hours=12),
    deadline=run_deadlines(CONFIG),
    params=PARAMS,
    render_template_as_native_obj=True,
    user_defined_filters=TEMPLATE_FILTERS,
    default_args={"owner": "data-platform", "on_failure_callback": failure_alerts(CONFIG)},
    tags=["fruits", "emr", "spark"],
):
    wait_for_new_images = NewImagesSensor(
        task_id="wait_for_new_images",
        bucket_key=f"{CONFIG.images_uri}*",
        erasure_requests=CONFIG.erasure_uri + REQUESTS,
        landing_state=CONFIG.features_uri + landing_state_key(MODEL),
        timeout=CONFIG.sensor_timeout_seconds,
        poke_interval=CONFIG.sensor_poke_seconds,
        soft_fail=True,
        **AWS,
        **AWS_RETRIES,
    )

    create_emr_cluster = SizedEmrCreateJobFlowOperator(
        task_id="create_emr_cluster",
        config=CONFIG,
        new_images=NEW_IMAGES,
        job_flow_overrides=job_flow_overrides(CONFIG, DAG_ID),
        emr_conn_id=None,  # no silent merge of an emr_default connection's extras
        **AWS,
        **AWS_RETRIES,
    )

    add_spark_steps = ErasingEmrAddStepsOperator(
        task_id="add_spark_steps",
        job_flow_id=create_emr_cluster.output,
        steps=spark_steps(CONFIG),
        erase_step=erase_step(CONFIG),
        erasure_requests=PENDING_ERASURES,
        **AWS,
        **AWS_RETRIES,
    )

    watch_spark_steps = PublishingStepSensor(
        task_id="watch_spark_steps",
        config=CONFIG,
        model=MODEL,
        ingest_date=INGEST_DATE,
        job_flow_id=create_emr_cluster.output,
        step_id="{{ ti.xcom_pull(task_ids='add_spark_steps')[-1] }}",
        deferrable=True,
        poke_interval=CONFIG.step_poke_seconds,
        max_attempts=STEPS_TIMEOUT // CONFIG.step_poke_seconds,
        **AWS,
        **AWS_RETRIES,
    )

    terminate_emr_cluster = CostRecordingEmrTerminateJobFlowOperator(
        task_id="terminate_emr_cluster",
        job_flow_id=create_emr_cluster.output,
        costs_uri=CONFIG.costs_uri,
        **AWS,
        **AWS_RETRIES,
    ).as_teardown(setups=create_emr_cluster)

    chain(
        wait_for_new_images,
        create_emr_cluster,
        add_spark_steps,
        watch_spark_steps,
        terminate_emr_cluster,
    )
