"""featurize's transforms: each listed file's verdict, the CNN's features, the two tables."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
from pyspark import TaskContext
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from fruitspark import models
from fruitspark.batches import featurize_files
from fruitspark.schemas import FEATURES, REJECTED, conform
from fruitspark.session import configure_logging

NO_LABEL = "no_label: the image is not in a class folder under the input"
# S3 allows images/Pear//b.jpg (a string join with an empty part); Arrow and Hadoop cannot read it.
EMPTY_SEGMENT = "unreadable: its key has an empty path segment (//), which cannot be read"
APPLE_DOUBLE = "not_an_image: an AppleDouble file (macOS metadata), not an image"
RESULT_TYPE = T.StructType(
    [
        T.StructField("features", T.ArrayType(T.FloatType())),
        T.StructField("reason", T.StringType()),
    ]
)


def parent_of(path: Column) -> Column:
    return F.regexp_extract(path, r"^(.*)/[^/]*$", 1)


def directly_under(root: str) -> Column:
    """The file is in the input folder itself or in one of its day folders
    (fruits_contract.landing), not in a class folder below them."""
    parent = parent_of(F.col("path"))
    in_day_folder = (parent_of(parent) == F.lit(root)) & F.substring_index(parent, "/", -1).rlike(
        r"^\d{4}-\d{2}-\d{2}$"
    )
    return (parent == F.lit(root)) | in_day_folder


def with_verdict(images: DataFrame, root: str, max_bytes: int) -> DataFrame:
    """Adds `verdict`: why a listed file is rejected before its content is read, or null when
    it is to be read. One reason a file, the first that applies."""
    verdict = (
        F.when(F.regexp_replace("path", "^[a-z0-9]+://", "").contains("//"), F.lit(EMPTY_SEGMENT))
        .when(directly_under(root), F.lit(NO_LABEL))
        .when(F.col("error").isNotNull(), F.concat(F.lit("unreadable: "), "error"))
        .when(F.col("apple_double"), F.lit(APPLE_DOUBLE))
        .when(
            F.col("length") > max_bytes,
            F.format_string(f"too_large: %d bytes is over the {max_bytes} byte limit", "length"),
        )
    )
    return images.withColumn("verdict", verdict)


def rejected_unread(judged: DataFrame) -> DataFrame:
    """The rejections of with_verdict; an image outside any class folder has no label."""
    return judged.where(F.col("verdict").isNotNull()).select(
        "path",
        F.when(F.col("verdict") != NO_LABEL, F.col("label")).alias("label"),
        F.col("verdict").alias("reason"),
        "ingest_date",
    )


def featurize_udf(model_file: models.ModelFile, chunk_size: int, max_bytes: int):
    """A pandas UDF over image paths and their listed lengths: each Python worker reads its
    files (fruitspark.listing) and opens the model once."""

    @F.pandas_udf(RESULT_TYPE)  # type: ignore[call-overload]  # pyspark's stubs: no struct result
    def featurize_images(
        batches: Iterator[tuple[pd.Series, pd.Series]],
    ) -> Iterator[pd.DataFrame]:
        configure_logging()  # this runs in a Python worker, whose logging is not set up
        task = TaskContext.get()
        if task is None:
            raise RuntimeError("featurize_images runs in a Spark task")
        featurizer = models.cached_featurizer(model_file.shipped(), task.cpus())
        for paths, lengths in batches:
            listed = [None if pd.isna(length) else int(length) for length in lengths]
            yield featurize_files(paths.tolist(), featurizer, chunk_size, listed, max_bytes)

    return featurize_images


def featurize(
    images: DataFrame, model_file: models.ModelFile, chunk_size: int, max_bytes: int
) -> DataFrame:
    """path, label, ingest_date, features (null when rejected), reason (null when
    featurized)."""
    result = featurize_udf(model_file, chunk_size, max_bytes)(F.col("path"), F.col("length"))
    return images.select("path", "label", "ingest_date", result.alias("result")).select(
        "path", "label", "ingest_date", "result.features", "result.reason"
    )


def features_table(featurized: DataFrame, cnn: str, model_id: str) -> DataFrame:
    """The featurized images, in the contract's features schema."""
    table = featurized.where(F.col("reason").isNull()).withColumns(
        {"model_id": F.lit(model_id), "model": F.lit(cnn)}
    )
    return conform(table, FEATURES)


def rejected_table(featurized: DataFrame, judged: DataFrame, cnn: str) -> DataFrame:
    """Every rejection, unread (with_verdict) or read (featurize), in the contract's schema."""
    rejections = (
        featurized.where(F.col("reason").isNotNull())
        .select("path", "label", "reason", "ingest_date")
        .unionByName(rejected_unread(judged))
    )
    return conform(rejections.withColumn("model", F.lit(cnn)), REJECTED)
