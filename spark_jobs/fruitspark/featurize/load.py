"""featurize's load: the (model, ingest_date) partitions, swapped atomically, and the run's
summary, written last."""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime

from pyspark.sql import DataFrame, SparkSession

from fruits_contract.layout import PARTITION_COLUMNS, REJECTED_FOLDER, partition, summary_key
from fruitspark.hadoop_fs import delete_children, exists, list_children, replace_file
from fruitspark.locations import literal
from fruitspark.schemas import conform

log = logging.getLogger("featurize")


def write_partitions(table: DataFrame, uri: str) -> None:
    """Replace exactly the (model, ingest_date) partitions present in `table`.

    Dynamic overwrite stages the files and swaps partitions only when the job commits, so a
    failure leaves earlier results as they were.
    """
    (
        table.write.mode("overwrite")
        .option("partitionOverwriteMode", "dynamic")
        .partitionBy(*PARTITION_COLUMNS)
        .parquet(uri)
    )


def with_existing(
    spark: SparkSession, table: DataFrame, root: str, cnn: str, day: date | None
) -> DataFrame:
    """table, and the rows that its partition (cnn, day) holds already, when a day is given:
    written back with them, a rerun of a date that finds new images keeps the date's rows.
    Taking only what no run took, the two never share a path."""
    if day is None:
        return table
    uri = f"{root}/{partition('model', cnn)}/{partition('ingest_date', day.isoformat())}"
    if not exists(spark, uri):
        return table
    held = spark.read.schema(table.schema).option("basePath", literal(root)).parquet(literal(uri))
    return table.unionByName(conform(held, table.schema))


def dates_of(table: DataFrame) -> set[str]:
    return {row.ingest_date for row in table.select("ingest_date").distinct().collect()}


def drop_other_ingest_dates(spark: SparkSession, root: str, cnn: str, keep: set[str]) -> None:
    """After a full rebuild has committed, a date it wrote nothing under holds only images
    gone or uploaded again since: of that model's features, or of its rejections."""
    model_dir = f"{root}/{partition('model', cnn)}"
    kept = {partition("ingest_date", day) for day in keep}
    others = [
        name
        for name in list_children(spark, model_dir)
        if name.startswith(partition("ingest_date", "")) and name not in kept
    ]
    for name in delete_children(spark, model_dir, others):
        log.info("full rebuild: removed %s/%s", model_dir, name)


def drop_earlier_rejections(spark: SparkSession, root: str, cnn: str, ingest_date: date) -> None:
    """With no rejection, the rejections write replaced no partition (dynamic overwrite only
    touches those it writes): an earlier run's rejections of the date would stay."""
    model_dir = f"{root}/{REJECTED_FOLDER}/{partition('model', cnn)}"
    for name in delete_children(
        spark, model_dir, [partition("ingest_date", ingest_date.isoformat())]
    ):
        log.info("no rejection this time: removed the earlier %s/%s", model_dir, name)


def summary(
    found: int, featurized: int, model: str, model_id: str, ingest_date: date, window: str
) -> dict:
    """The run's counts: what the DAG's asset event carries."""
    return {
        "found": found,
        "featurized": featurized,
        "rejected": found - featurized,
        "model": model,
        "model_id": model_id,
        "ingest_date": ingest_date.isoformat(),
        "window": window,
        "created_at": datetime.now(UTC).isoformat(),
    }


def write_summary(spark: SparkSession, output: str, counts: dict) -> None:
    """Once the run's rows are committed."""
    uri = f"{output}/{summary_key(counts['model'], counts['ingest_date'])}"
    replace_file(spark, uri, json.dumps(counts, indent=2).encode())
