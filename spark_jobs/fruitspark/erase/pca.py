"""The erased paths in the models' PCA outputs: removed from the published version's rows,
and every other version pruned.

Every model's output is searched, not only those whose features hold a path today: an image
the app deleted itself, then a full rebuild, lives on only in a PCA version. The published
version's segments (fruitspark.pca.load) are read for the days whose features hold an
erased path, and for the days whose segment was not projected from the features as they are
now (a stale segment: its fingerprint is not the day's). Those of them that hold one are
written again without it, into a new rows folder, and _LATEST then names them: a reader sees
the version with or without the rows, never a part. The older versions are rollback aids
nobody reads through _LATEST, which cannot be searched without reading them whole: every
older version of every model is pruned. A version in the layout before segments cannot be
rewritten so: the run's PCA refits it, and the request completes on the next run, which
prunes it.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import reduce

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from fruits_contract.layout import STATS_FOLDER, partition
from fruitspark.hadoop_fs import delete_children, exists, list_children
from fruitspark.locations import literal
from fruitspark.pca import paths
from fruitspark.pca.extract import extract_features
from fruitspark.pca.load import prune_segments, rows_folder
from fruitspark.pca.load import segments as segments_of
from fruitspark.publication import VERSION_PREFIX, latest_manifest, publish

log = logging.getLogger("erase")
MODEL_FOLDER = partition("model", "")


@dataclass
class Published:
    """A model's published version and its rows of the erased paths."""

    root: str
    manifest: dict
    rows: DataFrame  # path, label, pca, ingest_date: the segments of the days touched
    counts: Counter  # path -> rows
    days: list[str]  # the ingest dates holding a doomed path


@dataclass
class PcaFindings:
    root: str  # of every model's PCA output
    published: list[Published] = field(default_factory=list)
    older: dict[str, list[str]] = field(default_factory=dict)  # model -> versions to prune
    complete: bool = True  # False when a published version cannot be rewritten

    @property
    def rows(self) -> Counter:
        return sum((found.counts for found in self.published), Counter())

    @property
    def pruned(self) -> Counter:
        return Counter({model: len(versions) for model, versions in self.older.items()})


def models_under(spark: SparkSession, pca_root: str) -> list[str]:
    return [
        name.removeprefix(MODEL_FOLDER)
        for name in sorted(list_children(spark, pca_root))
        if name.startswith(MODEL_FOLDER)
    ]


def find_in_pca(
    spark: SparkSession,
    pca_root: str,
    features_root: str,
    days: dict[str, set[str]],
    doomed: DataFrame,
) -> PcaFindings:
    """What erase_in_pca will remove, in every model under pca_root. days: model -> the
    ingest dates whose features hold a doomed path (a segment projected from the features of
    its date as they are holds a path only if they do)."""
    findings = PcaFindings(pca_root)
    for model in models_under(spark, pca_root):
        root = f"{pca_root}/{partition('model', model)}"
        manifest = latest_manifest(spark, root)
        published = manifest["version"] if manifest else None
        findings.older[model] = sorted(
            name
            for name in list_children(spark, root)
            if name.startswith(VERSION_PREFIX) and name != published
        )
        if manifest is None:
            continue
        if "segments" not in manifest:
            log.warning(
                "%s: the published %s predates segments: the PCA step refits it, and the next "
                "run completes the erasure",
                model,
                published,
            )
            findings.complete = False
            continue
        read = days.get(model, set()) | stale_days(spark, features_root, model, manifest)
        if found := _find_published(spark, root, manifest, read, doomed):
            findings.published.append(found)
    return findings


def stale_days(spark: SparkSession, features_root: str, model: str, manifest: dict) -> set[str]:
    """The published segments' days whose fingerprint is not the features' of that day now:
    projected from features since rewritten or removed, they may hold any path. From the path
    index, as PCA's own scan (fruitspark.pca.paths.scan_days)."""
    segments = manifest["segments"]
    if not exists(spark, features_root):
        return set(segments)
    features = extract_features(spark, features_root, model)
    folder = f"{features_root}/{STATS_FOLDER}/{partition('model', model)}"
    days = paths.scan_days(spark, features, model, folder, set(list_children(spark, folder)))
    return {
        day for day, entry in segments.items() if days.fingerprints.get(day) != entry["fingerprint"]
    }


def _find_published(
    spark: SparkSession, root: str, manifest: dict, days: set[str], doomed: DataFrame
) -> Published | None:
    version_uri = f"{root}/{manifest['version']}"
    segments = manifest["segments"]
    read = sorted(days & set(segments))
    if not read:
        return None
    rows = reduce(
        DataFrame.unionByName,
        (
            spark.read.parquet(literal(f"{version_uri}/{segments[day]['folder']}")).withColumn(
                "ingest_date", F.lit(day)
            )
            for day in read
        ),
    )
    found = rows.join(F.broadcast(doomed), "path", "left_semi").groupBy("path", "ingest_date")
    counts = found.count().collect()
    if not counts:
        return None
    removed: Counter[str] = Counter()
    for row in counts:
        removed[row.path] += row["count"]
    return Published(root, manifest, rows, removed, sorted({row.ingest_date for row in counts}))


def erase_in_pca(spark: SparkSession, findings: PcaFindings, doomed: DataFrame, run_time: str):
    """The published versions' segments rewritten without the doomed rows, then the older
    versions pruned."""
    for found in findings.published:
        _rewrite_published(spark, found, doomed, run_time)
    for model, versions in findings.older.items():
        delete_children(spark, f"{findings.root}/{partition('model', model)}", versions)


def _rewrite_published(spark: SparkSession, found: Published, doomed: DataFrame, run_time: str):
    """The touched days' rows without the doomed ones, in a new rows folder, counted from its
    footers as a PCA append counts its own (load.segments); a day left empty is dropped."""
    manifest, segments = found.manifest, found.manifest["segments"]
    version_uri = f"{found.root}/{manifest['version']}"
    folder = rows_folder(run_time)
    kept = found.rows.where(F.col("ingest_date").isin(found.days)).join(
        F.broadcast(doomed), "path", "left_anti"
    )
    kept.write.partitionBy("ingest_date").parquet(literal(f"{version_uri}/{folder}"))
    fingerprints = {day: segments[day]["fingerprint"] for day in found.days}
    untouched = {day: entry for day, entry in segments.items() if day not in fingerprints}
    rewritten = {**untouched, **segments_of(spark, version_uri, folder, fingerprints)}
    updated = {
        **manifest,
        "rows": sum(entry["rows"] for entry in rewritten.values()),
        "updated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "segments": dict(sorted(rewritten.items())),
    }
    publish(spark, found.root, updated)
    prune_segments(spark, version_uri, updated)
