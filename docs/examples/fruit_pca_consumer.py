"""
### fruit_pca_consumer: an example of a DAG scheduled on fruit_features' outputs

It runs once for each PCA version, or day appended to it, that a `fruit_features` run
publishes, instead of polling S3, and logs what the asset event carries: the version folder,
k, the variance kept, the rows, and the run that made it. Failed and skipped runs of
`fruit_features`, and reruns that changed nothing, record no event, so they trigger nothing.

To use it, copy it into the DAGs folder beside `fruit_features.py`. It is kept out of `dags/`
so that the product stays one DAG.
"""

from __future__ import annotations

import logging

import pendulum
from airflow.sdk import DAG, task

from fruit_pipeline.assets import pca_asset
from fruit_pipeline.config import load_config

PCA = pca_asset(load_config())
log = logging.getLogger(__name__)

with DAG(
    dag_id="fruit_pca_consumer",
    description="Example: react to each PCA version fruit_features publishes",
    doc_md=__doc__,
    schedule=[PCA],
    start_date=pendulum.datetime(2026, 11, 1, tz="UTC"),
    catchup=False,
    tags=["fruits", "example"],
):

    @task
    def log_new_pca_versions(*, triggering_asset_events=None) -> list[dict]:
        """Each event's extra, as received; a real consumer would read version_uri. The events
        are read by the asset: fruit_features records them through an asset alias, under
        which Airflow lists them a second time."""
        received = []
        for event in triggering_asset_events[PCA]:
            extra = dict(event.extra)
            log.info(
                "new PCA of %s from %s/%s: %s (k=%s, %.1f%% of the variance, %s rows)",
                extra.get("model"),
                event.source_dag_id,
                event.source_run_id,
                extra.get("version_uri"),
                extra.get("k"),
                100 * extra.get("variance", float("nan")),
                extra.get("rows"),
            )
            received.append({**extra, "source_run_id": event.source_run_id})
        return received

    log_new_pca_versions()
