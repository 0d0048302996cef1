"""pca: standardize one model's features and keep the principal components.

    spark-submit spark_jobs/pca.py --input FEATURES_URI --output URI [--model NAME]
        (--k N | --variance 0.95) [--keep-versions 3]

Each run publishes a new version, <output>/v=<UTC timestamp>/, holding the rows (path, label,
pca), _model/ (the Spark ML PipelineModel, and pca.npz for numpy alone) and _report/
(report.json and two figures). Only once it is complete does <output>/_LATEST name it, so a
run that fails or is killed leaves the previous version published and intact. Nothing is
written when the input has no rows or k is larger than the feature size.

Memory stays flat as rows grow: nothing is cached; each pass over the features (statistics,
scaler, covariance, projection) streams them, and the covariance is one n×n aggregate.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from pyspark import SparkContext
from pyspark.errors import AnalysisException
from pyspark.ml import PipelineModel
from pyspark.ml.common import _py2java
from pyspark.ml.feature import PCA, PCAModel, StandardScaler, StandardScalerModel
from pyspark.ml.functions import array_to_vector, vector_to_array
from pyspark.ml.linalg import DenseMatrix, DenseVector
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from fruits_contract.layout import REJECTED_FOLDER
from fruitspark import models
from fruitspark.hadoop_fs import content_bytes, exists, upload_files
from fruitspark.locations import enclosing_folders, literal, overlap_error
from fruitspark.publication import new_version, prune_versions, publish
from fruitspark.report import plot_explained_variance, plot_scatter
from fruitspark.session import run_job

log = logging.getLogger("pca")
SCATTER_POINTS = 5000  # sampled to the driver for pca_scatter.png
SEED = 7
PARTITION_BYTES = 64 * 1024 * 1024  # of features, per task: bounded whatever the row count
PORTABLE_MODEL = "pca.npz"


class PcaInputError(ValueError):
    """The input cannot give the PCA asked for; nothing is written."""


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="pca", description=__doc__.split("\n")[0])
    parser.add_argument("--input", required=True, help="features dataset root (featurize output)")
    parser.add_argument("--output", required=True, help="root of the published versions")
    parser.add_argument("--model", choices=sorted(models.CNNS), default=models.DEFAULT_CNN)
    size = parser.add_mutually_exclusive_group(required=True)
    size.add_argument("--k", type=int, help="number of components to keep")
    size.add_argument(
        "--variance", type=float, help="keep the fewest components that explain this share"
    )
    parser.add_argument(
        "--keep-versions", type=int, default=3, help="published versions kept (default 3)"
    )
    args = parser.parse_args(argv)
    if args.k is not None and args.k < 1:
        parser.error("--k must be at least 1")
    if args.variance is not None and not 0 < args.variance <= 1:
        parser.error("--variance must be in (0, 1]")
    if args.keep_versions < 1:
        parser.error("--keep-versions must be at least 1")
    if overlap := overlap_error(args.input, args.output):
        parser.error(overlap)
    return args


# -- extract ---------------------------------------------------------------------------------


def extract_features(spark: SparkSession, input_uri: str, cnn: str) -> DataFrame:
    features = spark.read.parquet(literal(input_uri))
    if "model_id" not in features.columns:
        raise PcaInputError(
            f"the features under {input_uri} do not record their model file (written by an "
            "earlier featurize): rebuild them with a full featurize run"
        )
    return latest_features(features, cnn)


def size_partitions(spark: SparkSession, input_uri: str, cnn: str) -> None:
    """Tasks of about PARTITION_BYTES of features, for the file scan and the dedup shuffle.

    Spark's defaults (128 MB splits, 200 shuffle partitions) ignore both the data and the
    cluster; a task's memory is what decides whether the job fits in a small heap.
    """
    model_folder = f"{input_uri.rstrip('/')}/model={cnn}"
    size = content_bytes(spark, model_folder)
    cores = spark.sparkContext.defaultParallelism
    partitions = max(2 * cores, math.ceil(size / PARTITION_BYTES))
    spark.conf.set("spark.sql.files.maxPartitionBytes", str(PARTITION_BYTES))
    spark.conf.set("spark.sql.shuffle.partitions", str(partitions))
    log.info("%.0f MB of features: %d partition(s)", size / 2**20, partitions)


# -- transform -------------------------------------------------------------------------------


def check_input(stats: dict, args: argparse.Namespace) -> None:
    """Refuse, before any fit, what cannot give the PCA asked for."""
    rows = stats["rows"]
    if rows == 0:
        raise PcaInputError(f"no {args.model} features under {args.input}")
    if rows < 2:
        raise PcaInputError(f"PCA needs at least 2 {args.model} images; there is {rows}")
    if stats["model_ids"] > 1:
        raise PcaInputError(
            f"{args.model} features come from {stats['model_ids']} model files "
            f"({stats['first_model_id']} ... {stats['last_model_id']}): PCA fits one model's "
            "features; rebuild them with a full featurize run (mode=full) with one model file"
        )
    if stats["smallest"] != stats["feature_size"]:
        raise PcaInputError(
            f"{args.model} features have sizes from {stats['smallest']} to "
            f"{stats['feature_size']}: they do not come from one CNN"
        )
    if args.k is not None and args.k > stats["feature_size"]:
        raise PcaInputError(f"--k {args.k} is larger than the feature size {stats['feature_size']}")


def latest_features(features: DataFrame, cnn: str) -> DataFrame:
    """One model's features as vectors; an image featurized on several dates counts once,
    with its latest features."""
    latest_first = Window.partitionBy("path").orderBy(F.col("ingest_date").desc())
    return (
        features.where(F.col("model") == cnn)
        .withColumn("recency", F.row_number().over(latest_first))
        .where(F.col("recency") == 1)
        .select("path", "label", "model_id", array_to_vector("features").alias("features"))
    )


def fit_scaler(features: DataFrame) -> StandardScalerModel:
    """Mean and std: Spark's StandardScaler does not center unless asked, nor does its PCA."""
    return StandardScaler(withMean=True, withStd=True, inputCol="features", outputCol="scaled").fit(
        features
    )


def choose_k(explained: Sequence[float], target: float) -> int:
    """The smallest k whose cumulative explained variance reaches target."""
    total = 0.0
    for k, share in enumerate(explained, start=1):
        total += share
        if total >= target - 1e-12:
            return k
    return len(explained)


def fit_pca(scaled: DataFrame, feature_size: int, k: int | None, variance: float | None):
    """One fit, one eigendecomposition. With a variance target every component is computed,
    k is chosen from their explained variance, and the model is cut to k components."""
    model = PCA(k=k or feature_size, inputCol="scaled", outputCol="pca").fit(scaled)
    if k is None:
        k = choose_k(model.explainedVariance.toArray(), variance)
        log.info("%d component(s) explain at least %.1f%% of the variance", k, 100 * variance)
        model = first_components(model, k)
    return model


def first_components(model: PCAModel, k: int) -> PCAModel:
    """The same fitted PCA, cut to its first k components.

    PySpark cannot build a PCAModel from values; the Scala constructor is package-private
    in Scala only, so it is reachable through the JVM gateway.
    """
    context = SparkContext._active_spark_context
    pc = model.pc.toArray()[:, :k]
    explained = model.explainedVariance.toArray()[:k]
    java_model = context._jvm.org.apache.spark.ml.feature.PCAModel(
        model.uid,
        _py2java(context, DenseMatrix(pc.shape[0], k, pc.flatten(order="F"))),
        _py2java(context, DenseVector(explained)),
    )
    java_model.setInputCol(model.getInputCol()).setOutputCol(model.getOutputCol())
    java_model.set(java_model.getParam("k"), k)
    return PCAModel(java_model)


def project(model: PipelineModel, features: DataFrame) -> DataFrame:
    return model.transform(features).select(
        "path", "label", vector_to_array("pca", "float32").alias("pca")
    )


def portable_model(scaler: StandardScalerModel, pca: PCAModel) -> dict[str, np.ndarray]:
    """What numpy needs to project new features: (x - mean) / std @ components.

    A zero std (a constant feature) is stored as 1: the scaler maps that feature to 0.
    """
    std = scaler.std.toArray()
    return {
        "mean": scaler.mean.toArray(),
        "std": np.where(std > 0, std, 1.0),
        "components": pca.pc.toArray(),
        "explained_variance": pca.explainedVariance.toArray(),
    }


# -- load ------------------------------------------------------------------------------------


def build_report(args, version: str, stats: dict, explained, warnings: list[str]) -> dict:
    explained = [float(share) for share in explained]
    cumulative = [sum(explained[: i + 1]) for i in range(len(explained))]
    return {
        "model": args.model,
        "model_id": stats["first_model_id"],
        "input": args.input,
        "version": version,
        "rows": stats["rows"],
        "classes": stats["classes"],
        "feature_size": stats["feature_size"],
        "k": len(explained),
        "target_variance": args.variance,
        "explained_variance": explained,
        "cumulative_variance": cumulative,
        "warnings": warnings,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def write_report(spark: SparkSession, report: dict, projected: DataFrame, uri: str) -> None:
    sample = (
        projected.orderBy(F.rand(SEED))
        .limit(SCATTER_POINTS)
        .select("label", F.col("pca")[0].alias("pc1"), F.col("pca")[1].alias("pc2"))
        .toPandas()
    )
    with tempfile.TemporaryDirectory(prefix="pca-report-") as folder:
        local = Path(folder)
        # allow_nan=False: a report that is not valid JSON fails here, not in its readers.
        (local / "report.json").write_text(json.dumps(report, indent=2, allow_nan=False))
        plot_explained_variance(report, local / "explained_variance.png")
        plot_scatter(sample, report, local / "pca_scatter.png")
        upload_files(spark, local, uri)


def write_portable_model(spark: SparkSession, arrays: dict[str, np.ndarray], uri: str) -> None:
    with tempfile.TemporaryDirectory(prefix="pca-model-") as folder:
        np.savez(Path(folder) / PORTABLE_MODEL, **arrays)
        upload_files(spark, Path(folder), uri)


# -- job -------------------------------------------------------------------------------------


def features_dataset_around(spark: SparkSession, uri: str) -> str | None:
    """The features dataset that uri is, or is inside of: a folder featurize wrote, known by
    its _rejected/ folder. None when there is none."""
    for folder in enclosing_folders(uri):
        if exists(spark, f"{folder}/{REJECTED_FOLDER}"):
            return folder
    return None


def run(spark: SparkSession, args: argparse.Namespace) -> dict:
    output = args.output.rstrip("/")
    if dataset := features_dataset_around(spark, output):
        raise PcaInputError(
            f"--output {args.output} is inside the features dataset {dataset}: PCA rows there "
            "would break every later read of its features"
        )
    size_partitions(spark, args.input, args.model)
    features = extract_features(spark, args.input, args.model)
    sizes = F.size(vector_to_array("features"))
    stats = features.agg(
        F.count("*").alias("rows"),
        F.countDistinct("label").alias("classes"),
        F.min(sizes).alias("smallest"),
        F.max(sizes).alias("feature_size"),
        F.countDistinct("model_id").alias("model_ids"),
        F.min("model_id").alias("first_model_id"),
        F.max("model_id").alias("last_model_id"),
    ).first()
    check_input(stats.asDict(), args)
    rows, feature_size = stats["rows"], stats["feature_size"]
    log.info("fitting on %d rows of %d features (%d classes)", rows, feature_size, stats["classes"])

    scaler = fit_scaler(features)
    if not np.any(scaler.std.toArray() > 0):
        raise PcaInputError(
            f"all {rows} {args.model} feature vectors are identical: there is no variance to keep"
        )
    warnings = []
    if (args.k or 0) > rows - 1:
        warnings.append(
            f"--k {args.k} is more than {rows} rows allow: the components after the first "
            f"{rows - 1} explain no variance"
        )
        log.warning(warnings[-1])
    pca = fit_pca(scaler.transform(features), feature_size, args.k, args.variance)
    model = PipelineModel(stages=[scaler, pca])

    version = new_version()
    version_uri = f"{output}/{version}"
    log.info("writing version %s", version_uri)
    project(model, features).write.parquet(version_uri)
    model.write().save(f"{version_uri}/_model")
    write_portable_model(spark, portable_model(scaler, pca), f"{version_uri}/_model")
    report = build_report(args, version, stats.asDict(), pca.explainedVariance, warnings)
    write_report(spark, report, spark.read.parquet(version_uri), f"{version_uri}/_report")

    manifest = {
        "version": version,
        "rows": rows,
        "k": report["k"],
        "variance": report["cumulative_variance"][-1],
        "model": args.model,
        "model_id": report["model_id"],
        "created_at": report["created_at"],
    }
    publish(spark, output, manifest)
    log.info(
        "published %s: k=%d components, %.1f%% of the variance, %d rows",
        version,
        report["k"],
        100 * manifest["variance"],
        rows,
    )
    for pruned in prune_versions(spark, output, args.keep_versions):
        log.info("pruned the older version %s/%s", output, pruned)
    return report


def main(argv: Sequence[str] | None = None, spark: SparkSession | None = None) -> int:
    return run_job("pca", argv, spark, parse_args, run, (PcaInputError, AnalysisException))


if __name__ == "__main__":
    sys.exit(main())
