"""The DAG's outputs as Airflow Assets, and the events a successful run records on them.

Downstream DAGs schedule on these assets instead of polling S3: see
docs/examples/fruit_pca_consumer.py. Each event's extra says what the run produced, read from
what the jobs wrote: featurize's counts (<features>/_summary/...) and PCA's _LATEST.
"""

from __future__ import annotations

import json
from typing import Any

from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from airflow.sdk import Asset

from fruit_pipeline.config import PipelineConfig
from fruit_pipeline.erasure import complete_requests
from fruit_pipeline.step_failures import ExplainedStepSensor
from fruits_contract.layout import LATEST, SKIPPED, partition, summary_key

FEATURES_ASSET_NAME = "fruit_features.features"
PCA_ASSET_NAME = "fruit_features.pca"


def features_asset(config: PipelineConfig) -> Asset:
    return Asset(name=FEATURES_ASSET_NAME, uri=config.features_uri)


def pca_asset(config: PipelineConfig) -> Asset:
    return Asset(name=PCA_ASSET_NAME, uri=config.pca_uri)


def features_extra(summary: dict[str, Any] | None, summary_uri: str) -> dict[str, Any]:
    """The features event: the ingest date, what this run featurized and rejected, and per
    landing folder what it listed and took (fruits_contract.landing)."""
    if summary is None:
        return {"summary": summary_uri, "missing": "featurize wrote no summary there"}
    extra = {
        "ingest_date": summary["ingest_date"],
        "model": summary["model"],
        "model_id": summary["model_id"],
        "images_featurized": summary["featurized"],
        "images_rejected": summary["rejected"],
        "summary": summary_uri,
    }
    if "landing" in summary:  # per landing folder: listed, taken, ..., timing
        extra["landing"] = summary["landing"]
    return extra


def pca_extra(
    manifest: dict[str, Any] | None, root: str, skipped: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The PCA event: the version this run published, its k and the variance it keeps, and
    whether the run refitted it (and why) or appended to it; or why PCA published nothing
    (too few rows: a fresh deployment, or an erasure), with the version still published."""
    if skipped is not None:
        return {"root": root, "skipped": skipped["reason"], **_published(manifest, root)}
    if manifest is None:
        return {"root": root, "missing": f"no {LATEST} there"}
    return _published(manifest, root)


def _published(manifest: dict[str, Any] | None, root: str) -> dict[str, Any]:
    if manifest is None:
        return {}
    return {
        "model": manifest["model"],
        "model_id": manifest["model_id"],
        "version": manifest["version"],
        "version_uri": f"{root}{manifest['version']}/",
        "k": manifest["k"],
        "variance": manifest["variance"],
        "rows": manifest["rows"],
        # What this run did to the version: refitted it, or appended the day (since #23).
        "refit": manifest.get("refit"),
        "refit_reason": manifest.get("refit_reason"),
        "kept_variance": manifest.get("kept_variance"),
        "drift": manifest.get("drift"),
        "updated_at": manifest.get("updated_at"),
    }


def read_json(s3: S3Hook, uri: str) -> dict[str, Any] | None:
    """The object's JSON; None when there is no such object."""
    bucket, key = S3Hook.parse_s3_url(uri)
    if not s3.check_for_key(key, bucket):
        return None
    return json.loads(s3.read_key(key, bucket))


class PublishingStepSensor(ExplainedStepSensor):
    """The step sensor, which also records the two asset events once the steps succeeded,
    and completes the erasure requests the run applied (their counts in the features event).

    A failed step fails this task and a skipped run never reaches it: neither records an
    event. A succeeded step's output that cannot be found is logged as a warning, and named
    in the event's extra under "missing": the steps succeeded, so the event is recorded.
    `model` and `ingest_date` are templated, as the steps' own arguments are.
    """

    template_fields = (*ExplainedStepSensor.template_fields, "model", "ingest_date")

    def __init__(
        self, *, config: PipelineConfig, model: str, ingest_date: str, **kwargs: Any
    ) -> None:
        self.features = features_asset(config)
        self.pca = pca_asset(config)
        self.erasure_uri = config.erasure_uri
        super().__init__(outlets=[self.features, self.pca], **kwargs)
        self.model = model
        self.ingest_date = ingest_date

    def execute(self, context: Any) -> None:
        super().execute(context)  # defers, unless the last step has already ended
        self.record_outputs(context)

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> None:
        super().execute_complete(context, event)
        self.record_outputs(context)

    def record_outputs(self, context: Any) -> None:
        s3 = S3Hook(aws_conn_id=self.aws_conn_id, region_name=self.region_name)
        summary_uri = f"{self.features.uri.rstrip('/')}/{summary_key(self.model, self.ingest_date)}"
        pca_root = f"{self.pca.uri.rstrip('/')}/{partition('model', self.model)}/"
        features = features_extra(read_json(s3, summary_uri), summary_uri)
        # The steps have succeeded: the requests erase applied in this run are complete.
        features["erasure"] = complete_requests(s3, self.erasure_uri, context["run_id"])
        pca = pca_extra(
            read_json(s3, pca_root + LATEST), pca_root, read_json(s3, pca_root + SKIPPED)
        )
        for asset, extra in ((self.features, features), (self.pca, pca)):
            if "missing" in extra:
                self.log.warning("%s: %s", asset.name, extra)
            context["outlet_events"][asset].extra = extra
        self.log.info(
            "asset events: %s %s; %s %s", self.features.name, features, self.pca.name, pca
        )
