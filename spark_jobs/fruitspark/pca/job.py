"""pca's job: extract, fit, write a version, publish it, prune the oldest."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
from pyspark.errors import AnalysisException
from pyspark.ml import PipelineModel
from pyspark.sql import SparkSession

from fruitspark.pca import extract, load, maths
from fruitspark.pca.arguments import PcaArgs, parse_args
from fruitspark.pca.maths import PcaInputError
from fruitspark.publication import new_version, prune_versions, publish
from fruitspark.session import run_job

log = logging.getLogger("pca")


def run(spark: SparkSession, args: PcaArgs) -> dict:
    if dataset := extract.features_dataset_around(spark, args.output):
        raise PcaInputError(
            f"--output {args.output} is inside the features dataset {dataset}: PCA rows there "
            "would break every later read of its features"
        )
    extract.size_partitions(spark, args.input, args.model)
    features = extract.extract_features(spark, args.input, args.model)
    stats = extract.feature_stats(features)
    maths.check_input(stats, args.model, args.input, args.k)
    log.info(
        "fitting on %d rows of %d features (%d classes)",
        stats.rows,
        stats.feature_size,
        stats.classes,
    )

    scaler = maths.fit_scaler(features)
    if not np.any(scaler.std.toArray() > 0):
        raise PcaInputError(
            f"all {stats.rows} {args.model} feature vectors are identical: there is no "
            "variance to keep"
        )
    warnings = []
    if (args.k or 0) > stats.rows - 1:
        warnings.append(
            f"--k {args.k} is more than {stats.rows} rows allow: the components after the first "
            f"{stats.rows - 1} explain no variance"
        )
        log.warning(warnings[-1])
    pca = maths.fit_pca(scaler.transform(features), stats.feature_size, args.k, args.variance)
    model = PipelineModel(stages=[scaler, pca])

    version = new_version()
    version_uri = f"{args.output}/{version}"
    log.info("writing version %s", version_uri)
    load.project(model, features).write.parquet(version_uri)
    model.write().save(f"{version_uri}/_model")
    load.write_portable_model(spark, maths.portable_model(scaler, pca), f"{version_uri}/_model")
    report = load.build_report(
        args.model, args.input, args.variance, version, stats, pca.explainedVariance, warnings
    )
    load.write_report(spark, report, spark.read.parquet(version_uri), f"{version_uri}/_report")

    published = load.manifest(report)
    publish(spark, args.output, published)
    log.info(
        "published %s: k=%d components, %.1f%% of the variance, %d rows",
        version,
        report["k"],
        100 * published["variance"],
        stats.rows,
    )
    for pruned in prune_versions(spark, args.output, args.keep_versions):
        log.info("pruned the older version %s/%s", args.output, pruned)
    return report


def main(argv: Sequence[str] | None = None, spark: SparkSession | None = None) -> int:
    return run_job("pca", argv, spark, parse_args, run, (PcaInputError, AnalysisException))
