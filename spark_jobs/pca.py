"""pca: standardize one model's features and keep the principal components.

    spark-submit spark_jobs/pca.py --input FEATURES_URI --output URI [--model NAME]
        (--k N | --variance 0.95)

Output: <output> (path, label, pca), <output>/_model/ (the fitted scaler + PCA, a Spark ML
PipelineModel) and <output>/_report/ (report.json, explained_variance.png, pca_scatter.png).
Nothing is written when the input has no rows or k is larger than the feature size.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from pyspark import StorageLevel
from pyspark.errors import AnalysisException
from pyspark.ml import PipelineModel
from pyspark.ml.feature import PCA, StandardScaler
from pyspark.ml.functions import array_to_vector, vector_to_array
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from fruitspark import models
from fruitspark.hadoop_fs import upload_files
from fruitspark.report import plot_explained_variance, plot_scatter
from fruitspark.session import run_job

log = logging.getLogger("pca")
SCATTER_POINTS = 5000  # sampled to the driver for pca_scatter.png
SEED = 7


class PcaInputError(ValueError):
    """The input cannot give the PCA asked for; nothing is written."""


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="pca", description=__doc__.split("\n")[0])
    parser.add_argument("--input", required=True, help="features dataset root (featurize output)")
    parser.add_argument("--output", required=True)
    parser.add_argument("--model", choices=sorted(models.CNNS), default=models.DEFAULT_CNN)
    size = parser.add_mutually_exclusive_group(required=True)
    size.add_argument("--k", type=int, help="number of components to keep")
    size.add_argument(
        "--variance", type=float, help="keep the fewest components that explain this share"
    )
    args = parser.parse_args(argv)
    if args.k is not None and args.k < 1:
        parser.error("--k must be at least 1")
    if args.variance is not None and not 0 < args.variance <= 1:
        parser.error("--variance must be in (0, 1]")
    return args


# -- extract ---------------------------------------------------------------------------------


def extract_features(spark: SparkSession, input_uri: str, cnn: str) -> DataFrame:
    return latest_features(spark.read.parquet(input_uri), cnn)


# -- transform -------------------------------------------------------------------------------


def latest_features(features: DataFrame, cnn: str) -> DataFrame:
    """One model's features as vectors; an image featurized on several dates counts once,
    with its latest features."""
    latest_first = Window.partitionBy("path").orderBy(F.col("ingest_date").desc())
    return (
        features.where(F.col("model") == cnn)
        .withColumn("recency", F.row_number().over(latest_first))
        .where(F.col("recency") == 1)
        .select("path", "label", array_to_vector("features").alias("features"))
    )


def fit_scaler(features: DataFrame):
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
    if k is None:
        full = PCA(k=feature_size, inputCol="scaled", outputCol="pca").fit(scaled)
        k = choose_k(full.explainedVariance.toArray(), variance)
        log.info("%d component(s) explain at least %.1f%% of the variance", k, 100 * variance)
    return PCA(k=k, inputCol="scaled", outputCol="pca").fit(scaled)


def project(model: PipelineModel, features: DataFrame) -> DataFrame:
    return model.transform(features).select(
        "path", "label", vector_to_array("pca", "float32").alias("pca")
    )


# -- load ------------------------------------------------------------------------------------


def build_report(args, rows: int, classes: int, feature_size: int, explained) -> dict:
    explained = [float(share) for share in explained]
    cumulative = [sum(explained[: i + 1]) for i in range(len(explained))]
    return {
        "model": args.model,
        "input": args.input,
        "rows": rows,
        "classes": classes,
        "feature_size": feature_size,
        "k": len(explained),
        "target_variance": args.variance,
        "explained_variance": explained,
        "cumulative_variance": cumulative,
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
        (local / "report.json").write_text(json.dumps(report, indent=2))
        plot_explained_variance(report, local / "explained_variance.png")
        plot_scatter(sample, report, local / "pca_scatter.png")
        upload_files(spark, local, uri)


# -- job -------------------------------------------------------------------------------------


def run(spark: SparkSession, args: argparse.Namespace) -> dict:
    output = args.output.rstrip("/")
    # The dedup shuffle is cached, where adaptive execution cannot coalesce it: size it here.
    shuffle_partitions = 2 * spark.sparkContext.defaultParallelism
    spark.conf.set("spark.sql.shuffle.partitions", str(shuffle_partitions))
    features = extract_features(spark, args.input, args.model).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        stats = features.agg(
            F.count("*").alias("rows"),
            F.countDistinct("label").alias("classes"),
            F.max(F.size(vector_to_array("features"))).alias("feature_size"),
        ).first()
        if stats["rows"] == 0:
            raise PcaInputError(f"no {args.model} features under {args.input}")
        rows, feature_size = stats["rows"], stats["feature_size"]
        if args.k is not None and args.k > feature_size:
            raise PcaInputError(f"--k {args.k} is larger than the feature size {feature_size}")
        log.info(
            "fitting on %d rows of %d features (%d classes)", rows, feature_size, stats["classes"]
        )

        scaler = fit_scaler(features)
        scaled = scaler.transform(features).persist(StorageLevel.MEMORY_AND_DISK)
        pca = fit_pca(scaled, feature_size, args.k, args.variance)
        scaled.unpersist()
        model = PipelineModel(stages=[scaler, pca])

        projected = project(model, features)
        projected.write.mode("overwrite").parquet(output)
        model.write().overwrite().save(f"{output}/_model")
        report = build_report(args, rows, stats["classes"], feature_size, pca.explainedVariance)
        write_report(spark, report, spark.read.parquet(output), f"{output}/_report")
    finally:
        features.unpersist()
    log.info(
        "kept k=%d components, %.1f%% of the variance; wrote %s",
        report["k"],
        100 * report["cumulative_variance"][-1],
        output,
    )
    return report


def main(argv: Sequence[str] | None = None, spark: SparkSession | None = None) -> int:
    return run_job("pca", argv, spark, parse_args, run, (PcaInputError, AnalysisException))


if __name__ == "__main__":
    sys.exit(main())
