"""erase's job: the pending requests, their counts recorded, then their rows and images
removed, in the order that lets a killed run resume (fruitspark.erase)."""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Sequence

import boto3
from pyspark.errors import AnalysisException
from pyspark.sql import SparkSession

from fruits_contract.erasure import REQUESTS
from fruits_contract.layout import REJECTED_FOLDER
from fruitspark.erase import images, pca, requests, rows
from fruitspark.erase.arguments import EraseArgs, parse_args
from fruitspark.hadoop_fs import exists
from fruitspark.locations import literal
from fruitspark.publication import new_version
from fruitspark.schemas import FEATURES, REJECTED
from fruitspark.session import run_job

log = logging.getLogger("erase")


def s3_client(region: str | None):
    """boto3's S3 client as the environment configures it (EMR's instance role; the local
    AWS's AWS_ENDPOINT_URL)."""
    return boto3.client("s3", region_name=region)


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
    uris = {key: f"s3://{args.bucket}/{key}" for key in keys}
    doomed = rows.doomed_paths(spark, list(uris.values()))

    # Measured before anything is deleted, and recorded: a killed run's retry keeps them.
    stored = images.versions_of(s3, args.bucket, keys)
    rejected_root = f"{args.features}/{REJECTED_FOLDER}"
    feature_rows, feature_partitions = _features_found(spark, args.features, doomed, keys)
    rejections, rejected_partitions = _rejections_found(spark, rejected_root, doomed, keys)
    days: dict[str, set[str]] = defaultdict(set)
    models_of: dict[str, set[str]] = {uri: set() for uri in uris.values()}
    for (path, model, day), _count in feature_rows.items():
        days[model].add(day)
        models_of[path].add(model)
    found_in_pca = pca.find_in_pca(spark, args.pca, days, doomed)

    records = {}
    for request in pending:
        paths = {uris[key] for key in request.images}
        counts = {
            "images": sum(key in stored.images for key in request.images),
            "image_versions": sum(len(stored.versions.get(key, ())) for key in request.images),
            "feature_rows": sum(n for (path, *_), n in feature_rows.items() if path in paths),
            "rejections": sum(rejections[path] for path in paths),
            "pca_rows": sum(found_in_pca.rows[path] for path in paths),
            "pca_versions_pruned": sum(
                found_in_pca.pruned[model] for model in set().union(*map(models_of.get, paths))
            ),
        }
        earlier = requests.read_applied(s3, args.bucket, args.requests_prefix, request.id)
        records[request.id] = requests.applied_record(request, counts, args.run_id, earlier)
        requests.write_applied(s3, args.bucket, args.requests_prefix, records[request.id])

    # Then the deletions, in the order that lets a retry find what is left: PCA's rows (found
    # from the features), the rejections, the features, and last the images themselves.
    run_time = new_version().removeprefix("v=")
    pca.erase_in_pca(spark, found_in_pca, doomed, run_time)
    rows.rewrite_without(spark, rejected_root, rejected_partitions, doomed, REJECTED)
    rows.rewrite_without(spark, args.features, feature_partitions, doomed, FEATURES)
    deleted = images.delete_versions(s3, args.bucket, stored)
    for record in records.values():
        record["complete"] = record["status"] == "refused" or found_in_pca.complete
        requests.write_applied(s3, args.bucket, args.requests_prefix, record)
        log.info(
            "request %s %s%s: %s",
            record["request"],
            record["status"],
            "" if record["complete"] else " (to be completed by the next run)",
            ", ".join(f"{place} {count}" for place, count in record["counts"].items()),
        )
    log.info(
        "erased %d image(s) (%d version(s)), %d feature row(s) in %d partition(s), %d "
        "rejection(s), %d PCA row(s); pruned %d older PCA version(s)",
        len(stored.images),
        deleted,
        sum(feature_rows.values()),
        len({(model, day) for _, model, day in feature_rows}),
        sum(rejections.values()),
        sum(found_in_pca.rows.values()),
        sum(found_in_pca.pruned.values()),
    )
    return records


def _features_found(spark, root: str, doomed, keys):
    """(path, model, ingest_date) -> rows, and the partitions holding them."""
    if not keys or not exists(spark, root):
        return Counter(), []
    features = spark.read.schema(FEATURES).parquet(literal(root))
    candidates = rows.candidate_partitions(spark, root, features, doomed)
    if not candidates:
        return Counter(), []
    found = Counter(rows.matches(rows.read_partitions(spark, root, candidates, FEATURES), doomed))
    return found, sorted({(model, day) for _, model, day in found})


def _rejections_found(spark, root: str, doomed, keys):
    """path -> rejections, and the partitions holding them: the whole of _rejected is
    read, a path column of the few files featurize could not read."""
    if not keys or not exists(spark, root):
        return Counter(), []
    found = rows.matches(spark.read.schema(REJECTED).parquet(literal(root)), doomed)
    return Counter(path for path, _, _ in found), sorted({(m, d) for _, m, d in found})


def main(argv: Sequence[str] | None = None, spark: SparkSession | None = None) -> int:
    return run_job("erase", argv, spark, parse_args, run, (AnalysisException, PermissionError))
