"""The DAG's outputs as Airflow Assets, and the events a run records on them when it
published something new.

Downstream DAGs schedule on these assets instead of polling S3: see
docs/examples/fruit_pca_consumer.py. publish_outputs records the events through the asset
alias OUTPUTS_ALIAS, and only those that are news (is_news): new feature rows (or rows an
erasure removed), a new PCA version or an appended day, against the asset's last event. A
rerun, or a publish_outputs cleared, that changed nothing records none, and a DAG scheduled
on the assets runs once per new data. Each event's extra says what the run produced, read
from what the jobs wrote: featurize's counts (<features>/_summary/...) and PCA's _LATEST.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from airflow.sdk import Asset, AssetAlias

from fruit_pipeline.config import PipelineConfig
from fruits_contract.layout import LATEST

FEATURES_ASSET_NAME = "fruit_features.features"
PCA_ASSET_NAME = "fruit_features.pca"
OUTPUTS_ALIAS = AssetAlias("fruit_features.outputs")


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
        "summary_created_at": summary.get("created_at"),
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
        "fingerprint": pca_fingerprint(manifest),
    }


def pca_fingerprint(manifest: dict[str, Any] | None) -> str | None:
    """What a published PCA holds, as a digest of its version and each day's fingerprint: a
    run that leaves them as they were published nothing new, whatever files it rewrote."""
    if manifest is None:
        return None
    segments = manifest.get("segments") or {}
    identity = {
        "version": manifest["version"],
        "days": {day: entry.get("fingerprint") for day, entry in sorted(segments.items())},
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]


def is_news(asset_name: str, extra: dict[str, Any], last: dict[str, Any] | None) -> bool:
    """Whether an event with extra tells downstream DAGs something the asset's last event
    (its extra: last, None when there is none) did not. The features: rows featurized,
    rejected or erased, or requests completed, by a featurize summary not announced yet.
    PCA: another published content, or another reason to publish none. Something missing is
    always news."""
    last = last or {}
    if "missing" in extra:
        return True
    if asset_name == FEATURES_ASSET_NAME:
        erasure = extra.get("erasure") or {}
        did = extra.get("images_featurized") or extra.get("images_rejected")
        erased = erasure.get("requests") or erasure.get("feature_rows")
        return bool(did or erased) and extra["summary_created_at"] != last.get("summary_created_at")
    return (extra.get("fingerprint"), extra.get("skipped")) != (
        last.get("fingerprint"),
        last.get("skipped"),
    )


def read_json(s3: S3Hook, uri: str) -> dict[str, Any] | None:
    """The object's JSON; None when there is no such object."""
    bucket, key = S3Hook.parse_s3_url(uri)
    if not s3.check_for_key(key, bucket):
        return None
    return json.loads(s3.read_key(key, bucket))
