"""The run's cluster: planned from the day before it is created, priced once it has ended.

plan() takes what wait_for_new_images found, the CNN and, from PCA's _LATEST, whether a
refit is certain (fruits_contract.refit); fruit_pipeline.sizing chooses the nodes. After the
teardown, ended_cluster() reads what the cluster was and did, for its cost record
(fruit_pipeline.costs): whatever it could read, and which reads failed.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from botocore.waiter import create_waiter_with_client

from fruit_pipeline.config import PipelineConfig
from fruit_pipeline.emr_requests import instance_capacity
from fruit_pipeline.retry_safe import CLUSTER_ENDED
from fruit_pipeline.sizing import AUTOMATIC, Workload, choose
from fruit_pipeline.tuning import CLUSTER_END_MAX_POLLS, CLUSTER_END_POLL_SECONDS
from fruits_contract.refit import known_refit_reason


def refit_rows(manifest: dict[str, Any] | None, images: int, full: bool, now: datetime) -> int:
    """The rows a PCA refit will re-project, when one is certain before the features are
    read (fruits_contract.refit); a refit for drift shows only in the data: not foreseen."""
    if known_refit_reason(manifest, full, now) is None:
        return 0
    if manifest is None or full:
        return images
    return manifest.get("rows", 0) + images


def plan(
    config: PipelineConfig,
    found: dict[str, int],
    params: dict[str, Any],
    manifest: dict[str, Any] | None,
    now: datetime,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The cluster's Instances request, and the plan the UI shows: the day's work, the
    refit foreseen, the shape chosen and why, its estimate. The params core_instance_count
    and core_instance_type win when set."""
    full = params["mode"] == "full"
    workload = Workload(
        found["images"],
        found["bytes"],
        params["model"],
        refit_rows(manifest, found["images"], full, now),
    )
    shape = choose(
        workload, AUTOMATIC, params.get("core_instance_count"), params.get("core_instance_type")
    )
    spot = bool(params["spot"]) and not shape.single_node
    summary = {
        "images": workload.images,
        "bytes": workload.image_bytes,
        "erasure_requests": found.get("erasure_requests", 0),
        "refit_rows": workload.refit_rows,
        "refit_reason": known_refit_reason(manifest, full, now),
        **asdict(shape),
        "spot": spot,
        "estimated_minutes": round(shape.minutes, 2),
        "estimated_usd": round(shape.usd(spot), 4),
        "described": shape.describe(spot),
    }
    return instance_capacity(config, shape, spot), summary


def ended_cluster(emr: Any, cluster_id: str) -> tuple[dict[str, Any], list[str]]:
    """What the cost record is made of, once the cluster has ended: DescribeCluster's
    Cluster, its steps and its instance groups or fleets; and the reads that failed (after
    botocore's own retries), so that a record says it is partial instead of being lost."""
    create_waiter_with_client("ClusterEnded", CLUSTER_ENDED, emr).wait(
        ClusterId=cluster_id,
        WaiterConfig={"Delay": CLUSTER_END_POLL_SECONDS, "MaxAttempts": CLUSTER_END_MAX_POLLS},
    )
    cluster = emr.describe_cluster(ClusterId=cluster_id)["Cluster"]
    read: dict[str, Any] = {"cluster": cluster, "steps": []}
    if cluster.get("InstanceCollectionType") == "INSTANCE_FLEET":
        capacity = ("fleets", "list_instance_fleets", "InstanceFleets")
    else:
        capacity = ("groups", "list_instance_groups", "InstanceGroups")
    failed = []
    for name, operation, result in (("steps", "list_steps", "Steps"), capacity):
        try:
            read[name] = getattr(emr, operation)(ClusterId=cluster_id)[result]
        except (BotoCoreError, ClientError) as error:
            failed.append(f"{operation}: {error}")
    return read, failed
