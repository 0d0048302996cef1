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
from fruits_contract.layout import LATEST

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
