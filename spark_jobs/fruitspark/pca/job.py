"""pca's job: the statistics of the days that changed, the fit from all of them, and either a
refit (a new version, all history re-projected) or an append of the changed days to the
published version; then _LATEST, and the pruning of what it no longer names."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from pyspark.errors import AnalysisException
from pyspark.ml import PipelineModel
from pyspark.sql import DataFrame, SparkSession

from fruits_contract.layout import SKIPPED
from fruitspark.hadoop_fs import delete_children, exists, replace_file
from fruitspark.pca import extract, history, load, maths, policy
from fruitspark.pca.arguments import PcaArgs, parse_args
from fruitspark.pca.maths import PcaInputError, TooFewRows
from fruitspark.pca.moments import Moments
from fruitspark.pca.paths import Days
from fruitspark.publication import latest_manifest, new_version, prune_versions, publish
from fruitspark.session import run_job

log = logging.getLogger("pca")


@dataclass(frozen=True)
class Today:
    """What a run knows once the statistics are merged and the policy has decided: what a
    refit and an append both write from."""

    args: PcaArgs
    features: DataFrame
    days: Days  # the day fingerprints, and the rows featurized again later
    moments: Moments
    decision: policy.Decision
    warnings: list[str]

    def report(self, version: str, fit: maths.Fit, projected: dict[str, dict]) -> dict:
        return load.build_report(
            self.args.model,
            self.args.input,
            self.args.variance,
            version,
            self.moments,
            fit,
            self.decision,
            projected,
            self.warnings,
        )


def run(spark: SparkSession, args: PcaArgs) -> dict:
    """The report of what the run published; with --skip-too-few and nothing to fit, why it
    published nothing."""
    try:
        return fit_and_publish(spark, args)
    except TooFewRows as reason:
        if not args.skip_too_few:
            raise
        log.warning("pca skipped: %s", reason)
        skipped = {"reason": str(reason), "skipped_at": datetime.now(UTC).isoformat()}
        replace_file(spark, f"{args.output}/{SKIPPED}", json.dumps(skipped).encode())
        return skipped


def fit_and_publish(spark: SparkSession, args: PcaArgs) -> dict:
    if dataset := extract.features_dataset_around(spark, args.output):
        raise PcaInputError(
            f"--output {args.output} is inside the features dataset {dataset}: PCA rows there "
            "would break every later read of its features"
        )
    extract.size_tasks(spark)
    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", str(history.STATS_BATCH_ROWS))
    input_root = args.input.rstrip("/")
    if not exists(spark, input_root):
        raise TooFewRows(f"no features under {args.input}: nothing was featurized yet")
    features = extract.extract_features(spark, input_root, args.model)
    started = time.perf_counter()
    statistics = history.Statistics(spark, features, input_root, args.model)
    days = statistics.days
    log.info(
        "scanned %d day(s) and their paths in %.1fs: %d row(s) featurized again later",
        len(days.fingerprints),
        time.perf_counter() - started,
        len(days.superseded_rows),
    )
    started = time.perf_counter()
    moments = statistics.total()
    maths.check_input(moments, args.model, args.input, args.k)
    log.info(
        "statistics of %d rows of %d features (%d classes) in %.1fs; computed for %s",
        moments.count,
        moments.feature_size,
        len(moments.labels),
        time.perf_counter() - started,
        ", ".join(statistics.computed) or "none: every day's were stored",
    )
    warnings = []
    if (args.k or 0) > moments.count - 1:
        warnings.append(
            f"--k {args.k} is more than {moments.count} rows allow: the components after the "
            f"first {moments.count - 1} explain no variance"
        )
        log.warning(warnings[-1])

    fresh = maths.fit(moments, args.k, args.variance)
    rules = policy.Policy(args.k, args.variance, args.drift, args.refit_days, args.mode == "full")
    published = latest_manifest(spark, args.output)
    published_fit = None
    if published and "segments" in published:
        published_fit = load.read_fit(spark, f"{args.output}/{published['version']}")
    kept = maths.kept_variance(moments, published_fit) if published_fit else None
    decision = policy.decide(
        rules, published, published_fit, kept, fresh, min(moments.model_ids), datetime.now(UTC)
    )
    log.info("%s: %s", "refit" if decision.refit else "no refit", decision.reason)
    run_time = new_version().removeprefix("v=")
    today = Today(args, features, days, moments, decision, warnings)
    if decision.refit:
        report, manifest = refit(spark, today, fresh, rules)
    elif published is not None and published_fit is not None:  # decide() refits without
        report, manifest = append(spark, today, published, published_fit, run_time)
    else:
        raise ValueError("no refit decided, yet no model is published to append to")
    publish(spark, args.output, manifest)
    delete_children(spark, args.output, [SKIPPED])
    log.info(
        "published %s: k=%d components, %.1f%% of the variance, %d rows (%d projected now)",
        manifest["version"],
        manifest["k"],
        100 * manifest["variance"],
        manifest["rows"],
        report["rows_projected"],
    )
    version_uri = f"{args.output}/{manifest['version']}"
    for pruned in load.prune_segments(spark, version_uri, manifest):
        log.info("pruned the replaced rows %s/%s", version_uri, pruned)
    for pruned in prune_versions(spark, args.output, args.keep_versions):
        log.info("pruned the older version %s/%s", args.output, pruned)
    for pruned in statistics.prune():
        log.info("pruned the outdated statistics %s/%s", statistics.folder, pruned)
    return report


def refit(spark: SparkSession, today: Today, fresh: maths.Fit, rules: policy.Policy):
    """A new version: the fresh fit, and every row that counts projected with it."""
    output = today.args.output
    version = new_version()
    version_uri = f"{output}/{version}"
    folder = load.rows_folder(version.removeprefix("v="))
    log.info("writing version %s: every row, re-projected", version_uri)
    model = maths.spark_model(fresh)
    rows = extract.rows_that_count(spark, today.features, today.days.superseded_rows)
    load.write_rows(model, rows, f"{version_uri}/{folder}")
    segments = load.segments(spark, version_uri, folder, today.days.fingerprints)
    model.write().save(f"{version_uri}/_model")
    load.write_portable_model(spark, maths.portable_model(fresh), f"{version_uri}/_model")
    report = today.report(version, fresh, segments)
    load.write_report(
        spark, report, spark.read.parquet(f"{version_uri}/{folder}"), f"{version_uri}/_report"
    )
    manifest = load.manifest(report, segments, policy.fitted_with(rules), report["created_at"])
    return report, manifest


def append(
    spark: SparkSession,
    today: Today,
    published: dict,
    published_fit: maths.Fit,
    run_time: str,
):
    """The published version, with the days whose features changed since (new days, mostly)
    projected with its model, and the days gone from the features dropped."""
    version = published["version"]
    version_uri = f"{today.args.output}/{version}"
    fingerprints = today.days.fingerprints
    kept_segments = {
        day: entry
        for day, entry in published["segments"].items()
        if fingerprints.get(day) == entry["fingerprint"]
    }
    changed = sorted(set(fingerprints) - set(kept_segments))
    new_segments = {}
    if changed:
        folder = load.rows_folder(run_time)
        log.info("appending %s to %s", ", ".join(changed), version_uri)
        model = PipelineModel.load(f"{version_uri}/_model")
        rows = extract.rows_that_count(spark, today.features, today.days.superseded_rows, changed)
        load.write_rows(model, rows, f"{version_uri}/{folder}")
        new_segments = load.segments(spark, version_uri, folder, fingerprints)
    report = today.report(version, published_fit, new_segments)
    load.write_append_report(spark, report, version_uri, run_time)
    manifest = load.manifest(
        report, {**kept_segments, **new_segments}, published["fitted_with"], published["created_at"]
    )
    return report, manifest


def main(argv: Sequence[str] | None = None, spark: SparkSession | None = None) -> int:
    return run_job("pca", argv, spark, parse_args, run, (PcaInputError, AnalysisException))
