"""Versioned outputs, published atomically: what a reader sees is always a complete version.

    <root>/v=<UTC timestamp>/   a version: its rows, _model/ and _report/
    <root>/_LATEST              {"version": "v=…", "rows": N, "segments": {…}, …}

A run writes new folders only, never over a published one, and then replaces _LATEST, which
names the version and the folders of its rows (fruits_contract.layout.published_folders). A
run that fails or is killed at any moment leaves the previous _LATEST, and what it names,
as they were. Readers follow _LATEST (read_latest); older versions are pruned after a new
one is published.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from pyspark.sql import DataFrame, SparkSession

from fruits_contract.layout import LATEST, published_folders
from fruitspark.hadoop_fs import delete_children, list_children, read_text, replace_file

VERSION_PREFIX = "v="


def new_version() -> str:
    """A version folder name that sorts by creation time: v=20261121T113045123456Z."""
    return VERSION_PREFIX + datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


def latest_manifest(spark: SparkSession, root: str) -> dict | None:
    """The published version's manifest, or None when nothing was ever published."""
    text = read_text(spark, f"{root}/{LATEST}")
    return None if text is None else json.loads(text)


def read_latest(spark: SparkSession, root: str) -> DataFrame:
    """The rows of the version that <root>/_LATEST names: one call for Spark users."""
    manifest = latest_manifest(spark, root)
    if manifest is None:
        raise FileNotFoundError(f"nothing published under {root}: there is no {LATEST}")
    return spark.read.parquet(*(f"{root}/{folder}" for folder in published_folders(manifest)))


def publish(spark: SparkSession, root: str, manifest: dict) -> None:
    """Point <root>/_LATEST at manifest["version"], which must be complete."""
    replace_file(spark, f"{root}/{LATEST}", json.dumps(manifest, indent=2).encode())


def prune_versions(spark: SparkSession, root: str, keep: int) -> list[str]:
    """Delete all but the `keep` newest version folders; never the published one."""
    published = (latest_manifest(spark, root) or {}).get("version")
    versions = sorted(
        name for name in list_children(spark, root) if name.startswith(VERSION_PREFIX)
    )
    doomed = [name for name in versions[: max(len(versions) - keep, 0)] if name != published]
    return delete_children(spark, root, doomed)
