"""erase's job: the pending requests, their counts recorded, their rows and images removed
in the order that lets a killed run resume, then a second scan that proves it
(fruitspark.erase)."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import boto3
from pyspark.errors import AnalysisException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from fruits_contract.erasure import REQUESTS, image_digest, key_variants
from fruits_contract.layout import REJECTED_FOLDER
from fruitspark.erase import images, pca, requests, rows, statistics
from fruitspark.erase.arguments import EraseArgs, parse_args
from fruitspark.hadoop_fs import exists
from fruitspark.locations import literal
from fruitspark.pca.paths import PREFIX as PATH_INDEX
from fruitspark.publication import new_version
from fruitspark.schemas import FEATURES, REJECTED
from fruitspark.session import run_job

log = logging.getLogger("erase")


def s3_client(region: str | None):
    """boto3's S3 client as the environment configures it (EMR's instance role; the local
    AWS's AWS_ENDPOINT_URL)."""
    return boto3.client("s3", region_name=region)


@dataclass(frozen=True)
class Findings:
    """Where a scan found the doomed paths: before the deletions, to count and remove them;
    after, to verify that nothing is left."""

    stored: images.StoredVersions
    feature_rows: Counter  # (path, model, ingest_date) -> rows
    feature_partitions: list[rows.Partition]
    rejections: Counter  # path -> rows
    rejected_partitions: list[rows.Partition]
    pca: pca.PcaFindings
    statistics: dict[str, list[str]]  # model -> files of its statistics folder

    @property
    def days(self) -> dict[str, set[str]]:
        """model -> the ingest dates whose features hold a doomed path."""
        days: dict[str, set[str]] = {}
        for _, model, day in self.feature_rows:
            days.setdefault(model, set()).add(day)
        return days

    def of_image(self, bucket: str, key: str) -> dict[str, int]:
        """The requested image's counts in each place, all its key's forms together."""
        paths = {f"s3://{bucket}/{form}" for form in key_variants(key)}
        found, versions = self.stored.of(key)
        return {
            "images": found,
            "image_versions": versions,
            "feature_rows": sum(n for (path, *_), n in self.feature_rows.items() if path in paths),
            "rejections": sum(self.rejections[path] for path in paths),
            "pca_rows": sum(self.pca.rows[path] for path in paths),
        }

    def of_run(self) -> dict[str, int]:
        """What no single image owns: the older PCA versions and the statistics files."""
        return {
            "pca_versions_pruned": sum(self.pca.pruned.values()),
            "statistics_files": sum(map(len, self.statistics.values())),
        }

    def traces(self, bucket: str, keys: Sequence[str]) -> dict[str, int]:
        """What is left of keys' images, by place: none in a proven erasure."""
        found = [self.of_image(bucket, key) for key in keys]
        files = [name for names in self.statistics.values() for name in names]
        indexes = sum(name.startswith(PATH_INDEX) for name in files)
        traces = {
            "image_versions": sum(image["image_versions"] for image in found),
            "features": sum(image["feature_rows"] for image in found),
            "rejections": sum(image["rejections"] for image in found),
            "pca_published": sum(image["pca_rows"] for image in found),
            "pca_older_versions": self.of_run()["pca_versions_pruned"],
            "path_index": indexes,
            "statistics": self.of_run()["statistics_files"] - indexes,
        }
        return {place: count for place, count in traces.items() if count}


def scan(
    spark: SparkSession,
    s3,
    args: EraseArgs,
    keys: list[str],
    doomed: DataFrame,
    days: dict[str, set[str]] | None = None,
) -> Findings:
    """Every place that can hold a doomed path, searched by path hash and listing: the path
    index and the partitions it points at, _rejected, every model's PCA versions, the
    statistics, and the images' versions. days: model -> ingest dates searched in any case
    (the first scan's, for the second)."""
    hashes = [row.hash for row in doomed.select(F.xxhash64("path").alias("hash")).collect()]
    stored = images.versions_of(s3, args.bucket, keys)
    feature_rows, feature_partitions = _features_found(spark, args.features, doomed)
    rejected_root = f"{args.features}/{REJECTED_FOLDER}"
    rejections, rejected_partitions = _rejections_found(spark, rejected_root, doomed)
    held = {model: set(found) for model, found in (days or {}).items()}
    for _, model, day in feature_rows:
        held.setdefault(model, set()).add(day)
    return Findings(
        stored,
        feature_rows,
        feature_partitions,
        rejections,
        rejected_partitions,
        pca.find_in_pca(spark, args.pca, args.features, held, doomed),
        statistics.holding(spark, args.features, hashes, held),
    )


def run(spark: SparkSession, args: EraseArgs, s3=None) -> dict[str, dict]:
    """request id -> its applied record."""
    s3 = s3 or s3_client(args.region)
    pending = list(
        requests.pending_requests(s3, args.bucket, args.requests_prefix, args.images_prefix)
    )
    log.info("%d pending erasure request(s) under %s%s", len(pending), args.requests, REQUESTS)
    if not pending:
        return {}
    for request in pending:
        if request.refusal:
            log.warning("request %s refused: %s", request.id, request.refusal)
    keys = sorted({key for request in pending for key in request.images})
    uris = sorted({f"s3://{args.bucket}/{form}" for key in keys for form in key_variants(key)})
    doomed = rows.doomed_paths(spark, uris).cache()
    found = scan(spark, s3, args, keys, doomed)
    records = record_measured(s3, args, pending, found)
    erase(spark, s3, args, found, doomed)
    check = scan(spark, s3, args, keys, doomed, found.days)
    checked_at = datetime.now(UTC).isoformat(timespec="seconds")
    for request in pending:
        record = records[request.id]
        traces = check.traces(args.bucket, request.images)
        record["verification"] = {"checked_at": checked_at, "traces": traces}
        record["complete"] = bool(request.refusal) or (found.pca.complete and not traces)
        requests.write_applied(s3, args.bucket, args.requests_prefix, record)
        log_record(record)
    log_run(found)
    return records


def record_measured(s3, args: EraseArgs, pending, found: Findings) -> dict[str, dict]:
    """Each request's counts, measured before anything is deleted, and recorded: a killed
    run's retry keeps them (requests.applied_record)."""
    records = {}
    for request in pending:
        per_image = {
            digest_of(args.bucket, key): found.of_image(args.bucket, key) for key in request.images
        }
        run_counts = {} if request.refusal else found.of_run()
        earlier = requests.read_applied(s3, args.bucket, args.requests_prefix, request.id)
        record = requests.applied_record(request, per_image, run_counts, args.run_id, earlier)
        requests.write_applied(s3, args.bucket, args.requests_prefix, record)
        records[request.id] = record
    return records


def digest_of(bucket: str, key: str) -> str:
    return image_digest(f"s3://{bucket}/{key}")


def erase(spark: SparkSession, s3, args: EraseArgs, found: Findings, doomed: DataFrame) -> None:
    """The deletions, in the order that lets a retry find what is left: PCA's rows (found
    from the features), the rejections, the features, the statistics, and last the images."""
    run_time = new_version().removeprefix("v=")
    pca.erase_in_pca(spark, found.pca, doomed, run_time)
    rejected_root = f"{args.features}/{REJECTED_FOLDER}"
    rows.rewrite_without(spark, rejected_root, found.rejected_partitions, doomed, REJECTED)
    rows.rewrite_without(spark, args.features, found.feature_partitions, doomed, FEATURES)
    statistics.delete(spark, args.features, found.statistics)
    images.delete_versions(s3, args.bucket, found.stored)


def log_record(record: dict) -> None:
    traces = record["verification"]["traces"]
    log.info(
        "request %s %s, %s: %s",
        record["request"],
        record["status"],
        "verified: nothing left"
        if not traces
        else "NOT verified, left in " + ", ".join(f"{place} {n}" for place, n in traces.items()),
        ", ".join(f"{place} {count}" for place, count in record["counts"].items()),
    )


def log_run(found: Findings) -> None:
    log.info(
        "erased %d distinct image(s) (%d version(s)), %d feature row(s) in %d partition(s), "
        "%d rejection(s), %d PCA row(s); pruned %d older PCA version(s) and %d statistics "
        "file(s)",
        len(found.stored.images),
        found.stored.count,
        sum(found.feature_rows.values()),
        len(found.feature_partitions),
        sum(found.rejections.values()),
        sum(found.pca.rows.values()),
        found.of_run()["pca_versions_pruned"],
        found.of_run()["statistics_files"],
    )


def _features_found(spark, root: str, doomed):
    """(path, model, ingest_date) -> rows, and the partitions holding them: those the path
    index points at, and those it has no index for, are read."""
    if not exists(spark, root):
        return Counter(), []
    features = spark.read.schema(FEATURES).parquet(literal(root))
    candidates = rows.candidate_partitions(spark, root, features, doomed)
    if not candidates:
        return Counter(), []
    found = Counter(rows.matches(rows.read_partitions(spark, root, candidates, FEATURES), doomed))
    return found, sorted({(model, day) for _, model, day in found})


def _rejections_found(spark, root: str, doomed):
    """path -> rejections, and the partitions holding them: the whole of _rejected is
    read, a path column of the few files featurize could not read."""
    if not exists(spark, root):
        return Counter(), []
    found = rows.matches(spark.read.schema(REJECTED).parquet(literal(root)), doomed)
    return Counter(path for path, _, _ in found), sorted({(m, d) for _, m, d in found})


def main(argv: Sequence[str] | None = None, spark: SparkSession | None = None) -> int:
    return run_job("erase", argv, spark, parse_args, run, (AnalysisException, PermissionError))
