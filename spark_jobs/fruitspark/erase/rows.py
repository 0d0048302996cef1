"""The rows of the erased paths in a dataset partitioned by (model, ingest_date): where they
are, how many, and the partitions rewritten without them.

Only the partitions holding an erased path are read whole. In the features, PCA's path index
(one sorted xxhash64 a row, per day: fruitspark.pca.paths) says which days may hold one; a
day without a current index has its path column read.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from fruits_contract.layout import PARTITION_COLUMNS, STATS_FOLDER, partition
from fruitspark.featurize.load import write_partitions
from fruitspark.hadoop_fs import delete_children, list_children
from fruitspark.locations import literal
from fruitspark.pca import paths
from fruitspark.schemas import conform

Partition = tuple[str, str]  # (model, ingest_date)


def doomed_paths(spark: SparkSession, uris: list[str]) -> DataFrame:
    return spark.createDataFrame([(uri,) for uri in uris], "path string")


def candidate_partitions(
    spark: SparkSession, root: str, features: DataFrame, doomed: DataFrame
) -> list[Partition]:
    """The (model, ingest_date) partitions of the features at root that may hold a doomed
    path: those whose path index has one of their hashes, and those without an index."""
    hashes = [row.hash for row in doomed.select(F.xxhash64("path").alias("hash")).collect()]
    candidates = []
    for model_folder in sorted(list_children(spark, root)):
        if not model_folder.startswith(partition("model", "")):
            continue
        model = model_folder.removeprefix(partition("model", ""))
        stats = f"{root}/{STATS_FOLDER}/{model_folder}"
        stored = set(list_children(spark, stats))
        indexes = {
            day: paths.index_file(day, names)
            for day, names in paths.day_files(features, model).items()
        }
        by_name = paths.read_hashes(spark, stats, set(indexes.values()) & stored)
        for day, name in indexes.items():
            if name not in by_name or np.isin(hashes, by_name[name]).any():
                candidates.append((model, day))
    return candidates


def read_partitions(
    spark: SparkSession, root: str, partitions: list[Partition], schema: StructType
) -> DataFrame:
    """The rows of the partitions, with their partition columns, as strings."""
    uris = [
        literal(f"{root}/{partition('model', model)}/{partition('ingest_date', day)}")
        for model, day in partitions
    ]
    return spark.read.schema(schema).option("basePath", literal(root)).parquet(*uris)


def matches(table: DataFrame, doomed: DataFrame) -> list[tuple[str, str, str]]:
    """(path, model, ingest_date) of every row of table that holds a doomed path."""
    found = table.join(F.broadcast(doomed), "path", "left_semi").select("path", *PARTITION_COLUMNS)
    return [(row.path, row.model, row.ingest_date) for row in found.collect()]


def rewrite_without(
    spark: SparkSession,
    root: str,
    partitions: list[Partition],
    doomed: DataFrame,
    schema: StructType,
) -> None:
    """Rewrite each partition without the doomed rows: with featurize's dynamic overwrite, a
    swap per partition when the write commits; a partition left with no row is deleted."""
    if not partitions:
        return
    kept = read_partitions(spark, root, partitions, schema).join(
        F.broadcast(doomed), "path", "left_anti"
    )
    counts = kept.groupBy(*PARTITION_COLUMNS).count().collect()
    remaining = Counter({(row.model, row.ingest_date): row["count"] for row in counts})
    write_partitions(conform(kept, schema), root)
    for model, day in partitions:
        if not remaining[(model, day)]:
            model_uri = f"{root}/{partition('model', model)}"
            delete_children(spark, model_uri, [partition("ingest_date", day)])
