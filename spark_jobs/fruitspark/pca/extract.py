"""pca's extract: one model's features, read with the contract's schema, and the rows of them
that count: an image featurized on several dates counts once, with its latest features."""

from __future__ import annotations

import logging

from pyspark.ml.functions import array_to_vector
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from fruits_contract.layout import REJECTED_FOLDER
from fruitspark.hadoop_fs import exists
from fruitspark.locations import enclosing_folders, literal
from fruitspark.schemas import FEATURES

log = logging.getLogger("pca")
PARTITION_BYTES = 64 * 1024 * 1024  # of features, per task: bounded whatever the row count


def features_dataset_around(spark: SparkSession, uri: str) -> str | None:
    """The features dataset that uri is, or is inside of: a folder featurize wrote, known by
    its _rejected/ folder. None when there is none."""
    for folder in enclosing_folders(uri):
        if exists(spark, f"{folder}/{REJECTED_FOLDER}"):
            return folder
    return None


def size_tasks(spark: SparkSession) -> None:
    """Scan tasks of about PARTITION_BYTES of features, shuffles (of paths only) of a few
    tasks a core, and a listing of the day folders in one task a core: Spark's defaults
    (128 MB splits, 200 shuffle partitions, a listing task per folder past 32 folders) ignore
    the cluster; a task's memory decides whether the job fits in a small heap, and a year's
    365 listing tasks cost more to schedule than their folders take to list (make bench-pca:
    docs/performance.md#pca-daily-curve)."""
    cores = spark.sparkContext.defaultParallelism
    spark.conf.set("spark.sql.files.maxPartitionBytes", str(PARTITION_BYTES))
    spark.conf.set("spark.sql.shuffle.partitions", str(2 * cores))
    spark.conf.set("spark.sql.sources.parallelPartitionDiscovery.parallelism", str(cores))


def extract_features(spark: SparkSession, input_uri: str, cnn: str) -> DataFrame:
    """Every feature row of one model: the partitions are listed now, read when used."""
    features = spark.read.schema(FEATURES).parquet(literal(input_uri))
    return features.where(F.col("model") == cnn)


def rows_that_count(
    spark: SparkSession,
    features: DataFrame,
    superseded: list[tuple[str, str]],
    days: list[str] | None = None,
) -> DataFrame:
    """path, label, ingest_date, features (a vector): the rows of `days` (all by default)
    less the superseded (path, ingest_date) ones, without a shuffle of the features."""
    rows = features if days is None else features.where(F.col("ingest_date").isin(days))
    if superseded:
        doomed = spark.createDataFrame(superseded, "path string, ingest_date string")
        rows = rows.join(F.broadcast(doomed), ["path", "ingest_date"], "left_anti")
    return rows.select(
        "path", "label", "ingest_date", array_to_vector(F.col("features")).alias("features")
    )
