"""The run's cluster: sized from the day when created, and priced once it has ended.

create_emr_cluster knows the interval's new images (wait_for_new_images' XCom), the CNN and,
from PCA's _LATEST, whether a refit is certain; fruit_pipeline.sizing chooses the nodes. The
teardown terminates the cluster, waits for its end, and writes what it cost
(fruit_pipeline.costs) to <FRUITS_COSTS_PREFIX>.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from airflow.providers.amazon.aws.operators.emr import EmrTerminateJobFlowOperator
from botocore.waiter import create_waiter_with_client

from fruit_pipeline.assets import read_json
from fruit_pipeline.config import PipelineConfig
from fruit_pipeline.costs import cost_record, record_key
from fruit_pipeline.emr_requests import instance_capacity
from fruit_pipeline.retry_safe import CLUSTER_ENDED, RetrySafeEmrCreateJobFlowOperator, tags_of
from fruit_pipeline.sizing import ClusterShape, Sizing, Workload, choose
from fruits_contract.layout import partition

SHAPE_XCOM = "cluster_shape"


def sizing_of(config: PipelineConfig) -> Sizing:
    return Sizing(
        config.primary_instance_type,
        config.core_instance_type,
        config.target_featurize_minutes,
        config.max_core_nodes,
    )


def refit_rows(manifest: dict[str, Any] | None, images: int, mode: str, refit_days: int) -> int:
    """The rows a PCA refit will re-project, when one is certain: the first run, full mode
    (every image featurized again), a version published before the daily statistics, or a
    published fit older than refit_days. Drift shows only once the day's statistics are
    merged: a refit for drift is not foreseen."""
    if manifest is None or mode == "full":
        return images
    if "segments" not in manifest:  # published before the daily statistics: the job refits
        return manifest.get("rows", 0) + images
    fitted_at = datetime.fromisoformat(manifest["created_at"])
    if datetime.now(UTC) - fitted_at >= timedelta(days=refit_days):
        return manifest["rows"] + images
    return 0


class SizedEmrCreateJobFlowOperator(RetrySafeEmrCreateJobFlowOperator):
    """The retry-safe create, its instances chosen for the run (`new_images`: the sensor's
    {"images", "bytes"}); the params core_instance_count and core_instance_type win when
    set. The choice is logged and pushed as SHAPE_XCOM for the cost record."""

    template_fields = (*RetrySafeEmrCreateJobFlowOperator.template_fields, "new_images")

    def __init__(self, *, config: PipelineConfig, new_images: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.config = config
        self.new_images = new_images

    def execute(self, context: Any) -> str | None:
        params = context["params"]
        workload, shape = self.choose_shape(params)
        spot = bool(params["spot"]) and not shape.single_node
        self.log.info("cluster: %s", shape.describe(spot))
        self.job_flow_overrides["Instances"].update(instance_capacity(self.config, shape, spot))
        planned = {
            "images": workload.images,
            "bytes": workload.image_bytes,
            "refit_rows": workload.refit_rows,
            **asdict(shape),
            "spot": spot,
            "estimated_minutes": round(shape.minutes, 2),
            "estimated_usd": round(shape.usd(spot), 4),
        }
        context["ti"].xcom_push(key=SHAPE_XCOM, value=planned)
        return super().execute(context)

    def choose_shape(self, params: dict[str, Any]) -> tuple[Workload, ClusterShape]:
        tally = self.new_images or {"images": 0, "bytes": 0}
        manifest_uri = f"{self.config.pca_uri}{partition('model', params['model'])}/_LATEST"
        manifest = read_json(S3Hook(aws_conn_id=self.aws_conn_id), manifest_uri)
        workload = Workload(
            tally["images"],
            tally["bytes"],
            params["model"],
            refit_rows(manifest, tally["images"], params["mode"], self.config.pca_refit_days),
        )
        self.log.info(
            "work: %d new image(s), %d bytes, CNN %s, %d row(s) a PCA refit re-projects%s",
            workload.images,
            workload.image_bytes,
            workload.cnn,
            workload.refit_rows,
            "" if workload.refit_rows else " (none due yet)",
        )
        # The params' defaults are FRUITS_CORE_INSTANCE_COUNT and null: a null is automatic.
        shape = choose(
            workload,
            sizing_of(self.config),
            params.get("core_instance_count"),
            params.get("core_instance_type"),
        )
        return workload, shape


class CostRecordingEmrTerminateJobFlowOperator(EmrTerminateJobFlowOperator):
    """The provider's terminate; then, once the cluster has ended, its cost from its own
    timeline and instances, logged and written to `costs_uri` (a cost that cannot be
    read or written is a warning, never a failed teardown)."""

    def __init__(self, *, costs_uri: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.costs_uri = costs_uri

    def execute(self, context: Any) -> None:
        super().execute(context)
        try:
            self.record_cost(context)
        except Exception:  # the cluster is terminated: what it cost must not fail that
            self.log.warning("no cost record for cluster %s", self.job_flow_id, exc_info=True)

    def record_cost(self, context: Any) -> None:
        emr = self.hook.conn
        create_waiter_with_client("ClusterEnded", CLUSTER_ENDED, emr).wait(
            ClusterId=self.job_flow_id, WaiterConfig={"Delay": 15, "MaxAttempts": 120}
        )
        cluster = emr.describe_cluster(ClusterId=self.job_flow_id)["Cluster"]
        steps = emr.list_steps(ClusterId=self.job_flow_id)["Steps"]
        if cluster.get("InstanceCollectionType") == "INSTANCE_FLEET":
            fleets = emr.list_instance_fleets(ClusterId=self.job_flow_id)["InstanceFleets"]
            capacity = {"fleets": fleets}
        else:
            groups = emr.list_instance_groups(ClusterId=self.job_flow_id)["InstanceGroups"]
            capacity = {"groups": groups}
        planned = context["ti"].xcom_pull(task_ids="create_emr_cluster", key=SHAPE_XCOM)
        record = cost_record(cluster, steps, **capacity, planned=planned, params=context["params"])
        self.log.info(
            "cluster %s cost $%.3f: %.1f min (start-up %.1f, steps %.1f) on %s",
            cluster["Id"],
            record["usd"],
            record["total_minutes"],
            record["startup_minutes"],
            record["step_minutes"],
            ", ".join(
                f"{n['count']} x {n['instance_type']} {n['market']}" for n in record["nodes"]
            ),
        )
        uri = f"{self.costs_uri}{record_key(tags_of(cluster), cluster['Id'])}"
        bucket, key = S3Hook.parse_s3_url(uri)
        S3Hook(aws_conn_id=self.aws_conn_id).load_string(
            json.dumps(record, indent=2), key, bucket, replace=True
        )
        self.log.info("cost record: %s", uri)
