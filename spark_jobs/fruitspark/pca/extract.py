"""pca's extract: one model's latest features of each image, read with the contract's schema,
and what the fit must know of them first."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from pyspark.ml.functions import array_to_vector, vector_to_array
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from fruits_contract.layout import REJECTED_FOLDER, partition
from fruitspark.hadoop_fs import content_bytes, exists
from fruitspark.locations import enclosing_folders, literal
from fruitspark.schemas import FEATURES

log = logging.getLogger("pca")
PARTITION_BYTES = 64 * 1024 * 1024  # of features, per task: bounded whatever the row count


@dataclass(frozen=True)
class FeatureStats:
    """One pass over the features, before any fit."""

    rows: int
    classes: int
    smallest: int | None  # feature sizes; None without rows
    feature_size: int | None
    model_ids: int  # distinct model files
    first_model_id: str | None
    last_model_id: str | None
    unrecorded: int = 0  # rows without a model_id: written by a featurize before it had one


def features_dataset_around(spark: SparkSession, uri: str) -> str | None:
    """The features dataset that uri is, or is inside of: a folder featurize wrote, known by
    its _rejected/ folder. None when there is none."""
    for folder in enclosing_folders(uri):
        if exists(spark, f"{folder}/{REJECTED_FOLDER}"):
            return folder
    return None


def size_partitions(spark: SparkSession, input_uri: str, cnn: str) -> None:
    """Tasks of about PARTITION_BYTES of features, for the file scan and the dedup shuffle.

    Spark's defaults (128 MB splits, 200 shuffle partitions) ignore both the data and the
    cluster; a task's memory is what decides whether the job fits in a small heap.
    """
    size = content_bytes(spark, f"{input_uri.rstrip('/')}/{partition('model', cnn)}")
    cores = spark.sparkContext.defaultParallelism
    partitions = max(2 * cores, math.ceil(size / PARTITION_BYTES))
    spark.conf.set("spark.sql.files.maxPartitionBytes", str(PARTITION_BYTES))
    spark.conf.set("spark.sql.shuffle.partitions", str(partitions))
    log.info("%.0f MB of features: %d partition(s)", size / 2**20, partitions)


def extract_features(spark: SparkSession, input_uri: str, cnn: str) -> DataFrame:
    return latest_features(spark.read.schema(FEATURES).parquet(literal(input_uri)), cnn)


def latest_features(features: DataFrame, cnn: str) -> DataFrame:
    """path, label, model_id, features (a vector): one model's features; an image featurized
    on several dates counts once, with its latest features."""
    latest_first = Window.partitionBy("path").orderBy(F.col("ingest_date").desc())
    return (
        features.where(F.col("model") == cnn)
        .withColumn("recency", F.row_number().over(latest_first))
        .where(F.col("recency") == 1)
        .select("path", "label", "model_id", array_to_vector("features").alias("features"))
    )


def feature_stats(features: DataFrame) -> FeatureStats:
    sizes = F.size(vector_to_array("features"))
    row = features.agg(
        F.count("*").alias("rows"),
        F.countDistinct("label").alias("classes"),
        F.min(sizes).alias("smallest"),
        F.max(sizes).alias("feature_size"),
        F.countDistinct("model_id").alias("model_ids"),
        F.min("model_id").alias("first_model_id"),
        F.max("model_id").alias("last_model_id"),
        F.count_if(F.col("model_id").isNull()).alias("unrecorded"),
    ).first()
    return FeatureStats(**row.asDict())
