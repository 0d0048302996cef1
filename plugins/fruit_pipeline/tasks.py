"""The DAG's three small tasks around the provider's operators, each one side effect the
graph shows, safe to retry on its own:

- plan_cluster: reads PCA's _LATEST and the nodes' environment manifest; decides the
  cluster's instances, the archives its nodes unpack and the steps (erase first when requests
  are pending), and returns them with the reason, as XComs the UI shows;
- publish_outputs: once every step completed, completes the erasure requests they verified,
  and records an event on each asset that has news since its last event;
- record_cost: after the teardown, whatever the run's outcome, writes what the cluster cost.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from airflow.providers.amazon.aws.hooks.emr import EmrHook
from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from airflow.sdk import task
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from fruit_pipeline.assets import (
    OUTPUTS_ALIAS,
    features_asset,
    features_extra,
    is_news,
    pca_asset,
    pca_extra,
    read_json,
)
from fruit_pipeline.cluster import ended_cluster, plan
from fruit_pipeline.config import load_config
from fruit_pipeline.costs import cost_record, record_key
from fruit_pipeline.emr_requests import bootstrap_actions, erase_step, spark_steps
from fruit_pipeline.erasure import complete_requests
from fruit_pipeline.node_env import UnusableNodeEnv, planned_node_env
from fruit_pipeline.retry_safe import tags_of
from fruit_pipeline.run_interval import run_interval
from fruit_pipeline.step_failures import not_completed
from fruits_contract.artifacts import NODE_ENV_MANIFEST
from fruits_contract.layout import LATEST, SKIPPED, partition, summary_key

log = logging.getLogger(__name__)


def pca_root(pca_uri: str, model: str) -> str:
    return f"{pca_uri}{partition('model', model)}/"


@task(multiple_outputs=True)
def plan_cluster(found: dict[str, int], **context: Any) -> dict[str, Any]:
    """found: wait_for_new_images' {"images", "bytes", "erasure_requests"}. Returns the
    create request's "instances", "bootstrap" actions and "python_env" (the identity of the
    archives they unpack), the "steps" to add (rendered), and the "plan". A deployment
    without the archives the nodes need fails here, before any cluster starts."""
    config = load_config()
    params = context["params"]
    s3 = S3Hook(aws_conn_id=config.aws_conn_id)
    manifest = read_json(s3, pca_root(config.pca_uri, params["model"]) + LATEST)
    instances, summary = plan(config, found, params, manifest, datetime.now(UTC))
    try:
        archives, python_env = planned_node_env(
            config, read_json(s3, config.artifact(NODE_ENV_MANIFEST)), summary
        )
    except UnusableNodeEnv as error:
        raise AirflowFailException(str(error)) from error  # retrying deploys nothing
    summary["interval"] = str(run_interval(context["dag_run"]))
    summary["python_env"] = python_env
    log.info(
        "work: %d new image(s), %d bytes, CNN %s, %d erasure request(s), %d row(s) a PCA "
        "refit re-projects (%s)",
        summary["images"],
        summary["bytes"],
        params["model"],
        summary["erasure_requests"],
        summary["refit_rows"],
        summary["refit_reason"] or "none foreseen",
    )
    log.info("cluster: %s", summary["described"])
    steps = spark_steps(config)
    if summary["erasure_requests"]:
        log.info("%d erasure request(s) pending: erase runs first", summary["erasure_requests"])
        steps = [erase_step(config, s3.conn_region_name), *steps]
    rendered = context["task"].render_template(steps, context)
    return {
        "instances": instances,
        "bootstrap": bootstrap_actions(config, archives),
        "python_env": python_env,
        "steps": rendered,
        "plan": summary,
    }


@task
def publish_outputs(
    cluster_id: str, step_ids: list[str], python_env: str, **context: Any
) -> dict[str, Any]:
    """Once every step of the run completed: complete the requests the erase step applied
    and verified (their counts go into the features event), then record, through
    OUTPUTS_ALIAS, the events that are news against each asset's last one (is_news). Steps
    not completed (watch_spark_steps marked success by hand) publish nothing: the images no
    step featurized stay for the next run. Returns the events recorded."""
    config = load_config()
    if left := not_completed(EmrHook(aws_conn_id=config.aws_conn_id).conn, cluster_id, step_ids):
        message = (
            f"the steps did not all complete ({', '.join(left)}): nothing is published, and "
            "the next run takes the images no step featurized"
        )
        log.warning(message)
        raise AirflowSkipException(message)
    model = context["params"]["model"]
    s3 = S3Hook(aws_conn_id=config.aws_conn_id)
    summary_uri = config.features_uri + summary_key(
        model, run_interval(context["dag_run"]).ingest_date
    )
    root = pca_root(config.pca_uri, model)
    features = features_extra(read_json(s3, summary_uri), summary_uri)
    features["python_env"] = python_env  # beside model_id: the code and libraries of the rows
    features["erasure"] = complete_requests(s3, config.erasure_uri, context["run_id"])
    pca = pca_extra(read_json(s3, root + LATEST), root, read_json(s3, root + SKIPPED))
    recorded = {}
    for asset, extra in ((features_asset(config), features), (pca_asset(config), pca)):
        if "missing" in extra:
            log.warning("%s: %s", asset.name, extra)
        last = next(iter(context["inlet_events"][asset].ascending(False).limit(1)), None)
        if is_news(asset.name, extra, last.extra if last else None):
            context["outlet_events"][OUTPUTS_ALIAS].add(asset, extra=extra)
            recorded[asset.name] = extra
            log.info("asset event: %s %s", asset.name, extra)
        else:
            log.info("%s: nothing new since its last event, none recorded (%s)", asset.name, extra)
    return recorded


@task
def record_cost(cluster_id: str, planned: dict[str, Any], **context: Any) -> None:
    """Wait for the cluster's end, then write its cost record under the costs prefix: what
    could be read, with "partial" naming the reads that failed."""
    config = load_config()
    read, failed = ended_cluster(EmrHook(aws_conn_id=config.aws_conn_id).conn, cluster_id)
    record = cost_record(**read, planned=planned, params=context["params"])
    if failed:
        record["partial"] = failed
        log.warning("cost record of %s is partial: %s", cluster_id, "; ".join(failed))
    log.info(
        "cluster %s cost $%.3f: %.1f min (start-up %.1f, steps %.1f) on %s",
        cluster_id,
        record["usd"],
        record["total_minutes"],
        record["startup_minutes"],
        record["step_minutes"],
        ", ".join(f"{n['count']} x {n['instance_type']} {n['market']}" for n in record["nodes"]),
    )
    uri = f"{config.costs_uri}{record_key(tags_of(read['cluster']), cluster_id)}"
    bucket, key = S3Hook.parse_s3_url(uri)
    S3Hook(aws_conn_id=config.aws_conn_id).load_string(
        json.dumps(record, indent=2), key, bucket, replace=True
    )
    log.info("cost record: %s", uri)
