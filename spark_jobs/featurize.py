"""featurize: fruit photos -> CNN feature vectors, as Parquet.

    spark-submit spark_jobs/featurize.py --input URI --output URI
        [--model mobilenet_v2|resnet50|vgg16] [--weights imagenet|URI|random]
        [--modified-after TS] [--modified-before TS] [--ingest-date YYYY-MM-DD]

Output: <output>/model=<cnn>/ingest_date=<date>/ with path, label, model, features, and
<output>/_rejected/model=<cnn>/ingest_date=<date>/ with path, label, reason. A rerun replaces
only its own (model, ingest date); a run without a window rebuilds the whole model.
"""

from __future__ import annotations

import argparse
import logging
import math
import re
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from urllib.parse import unquote

import pandas as pd
from pyspark import StorageLevel, TaskContext
from pyspark.errors import AnalysisException
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from fruitspark import models
from fruitspark.batches import DEFAULT_CHUNK, featurize_contents
from fruitspark.hadoop_fs import delete_children, exists, list_children, qualified
from fruitspark.labels import label_of, label_udf
from fruitspark.locations import literal, overlap_error
from fruitspark.session import configure_logging, run_job

log = logging.getLogger("featurize")

# Hadoop glob: the three extensions in any letter case; other files are never opened.
IMAGE_GLOB = "*.{[jJ][pP][gG],[jJ][pP][eE][gG],[pP][nN][gG]}"
MAX_IMAGE_BYTES = 20 * 1024 * 1024
IMAGES_PER_PARTITION = 1000  # caps the work a failed task retries
WAVES = 2  # partitions per core, so a slow task does not idle the rest
ARROW_BATCH = 256  # rows per Arrow batch to a Python worker: bounds its memory
FILE_OPEN_COST = 16 * 1024 * 1024  # see size_partitions
# An input the job cannot read: exit code 1 and one log line instead of a traceback.
INPUT_ERRORS = (AnalysisException, FileNotFoundError)
RESULT_TYPE = T.StructType(
    [
        T.StructField("features", T.ArrayType(T.FloatType())),
        T.StructField("reason", T.StringType()),
    ]
)


@dataclass(frozen=True)
class Window:
    after: datetime | None
    before: datetime | None

    @property
    def is_full(self) -> bool:
        return self.after is None and self.before is None

    def __str__(self) -> str:
        if self.is_full:
            return "all files"
        return f"modified in [{self.after or '-inf'}, {self.before or '+inf'})"


def parse_timestamp(text: str) -> datetime | None:
    """ISO 8601; a timestamp without an offset is UTC; an empty value means no bound."""
    if text == "":
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 timestamp: {text!r}") from error
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="featurize", description=__doc__.split("\n")[0])
    parser.add_argument("--input", required=True, help="folder of class folders of images")
    parser.add_argument("--output", required=True, help="features dataset root")
    parser.add_argument("--model", choices=sorted(models.CNNS), default=models.DEFAULT_CNN)
    parser.add_argument(
        "--weights",
        type=models.Weights,
        default=models.Weights("random"),
        help="imagenet (Keras download), random (seeded), or the URI of a Keras weights file",
    )
    parser.add_argument("--modified-after", type=parse_timestamp, help="inclusive window start")
    parser.add_argument("--modified-before", type=parse_timestamp, help="exclusive window end")
    parser.add_argument("--ingest-date", type=date.fromisoformat, help="default: today (UTC)")
    parser.add_argument("--max-image-bytes", type=int, default=MAX_IMAGE_BYTES)
    parser.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK, help="images per CNN call")
    args = parser.parse_args(argv)
    window = Window(args.modified_after, args.modified_before)
    if window.after and window.before and window.after >= window.before:
        parser.error("--modified-after must be earlier than --modified-before")
    if overlap := overlap_error(args.input, args.output):
        parser.error(overlap)
    args.window = window
    args.ingest_date = args.ingest_date or datetime.now(UTC).date()
    return args


# -- extract ---------------------------------------------------------------------------------


def extract_images(spark: SparkSession, input_uri: str, window: Window) -> DataFrame:
    """Image files under input_uri, read lazily: content is only read for rows that need it.

    The window is applied when Spark lists the files, so older files never become tasks.
    modifiedAfter is exclusive and file times have millisecond resolution: moving the start
    back one millisecond makes the window [after, before).
    """
    reader = (
        spark.read.format("binaryFile")
        .option("recursiveFileLookup", "true")
        .option("pathGlobFilter", IMAGE_GLOB)
        .option("timeZone", "UTC")
    )
    if window.after:
        reader = reader.option(
            "modifiedAfter", spark_time(window.after - timedelta(milliseconds=1))
        )
    if window.before:
        reader = reader.option("modifiedBefore", spark_time(window.before))
    return reader.load(literal(input_uri))


def spark_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]


def listed_files(images: DataFrame) -> list[str]:
    """The files Spark listed for `images` (window and glob applied), as Hadoop paths.

    inputFiles() needs no job: Spark listed the files when the DataFrame was created.
    """
    return [re.sub("^file:///", "file:/", unquote(uri)) for uri in images.inputFiles()]


# -- transform -------------------------------------------------------------------------------


def with_label(images: DataFrame) -> DataFrame:
    """label = the image's parent folder name, in Unicode NFC (see fruitspark.labels)."""
    return images.withColumn("label", label_udf("path"))


def directly_under(root: str) -> Column:
    """The file is in the input folder itself, not in a class folder below it."""
    return F.regexp_extract("path", r"^(.*)/[^/]*$", 1) == F.lit(root)


def unlabelled(images: DataFrame, root: str) -> DataFrame:
    """Images directly under the input root, as rejections: no folder names their class."""
    return images.where(directly_under(root)).select(
        "path",
        F.lit(None).cast("string").alias("label"),
        F.lit("no_label: the image is not in a class folder under the input").alias("reason"),
    )


def oversized(images: DataFrame, max_bytes: int) -> DataFrame:
    """Files over the size limit, as rejections; their content is never read."""
    return images.where(F.col("length") > max_bytes).select(
        "path",
        "label",
        F.format_string(f"too_large: %d bytes is over the {max_bytes} byte limit", "length").alias(
            "reason"
        ),
    )


def unscanned_files(spark: SparkSession, listed: list[str], *scans: DataFrame) -> DataFrame:
    """Listed image files that no scan returned, as rejections.

    Spark's file sources skip zero-byte files silently, and, with ignoreMissingFiles, files
    deleted between the listing and the read: the first still exist ("empty"), the others do
    not ("vanished"). The paths are only gathered when the counts say some are missing.
    """
    rows = []
    if sum(scan.count() for scan in scans) < len(listed):
        scanned = {row.path for scan in scans for row in scan.select("path").collect()}
        rows = [
            (path, label_of(path), unscanned_reason(spark, path))
            for path in listed
            if path not in scanned
        ]
    return spark.createDataFrame(rows, "path string, label string, reason string")


def unscanned_reason(spark: SparkSession, path: str) -> str:
    if exists(spark, path):
        return "empty: the file has no bytes"
    return "vanished: the file was deleted after it was listed"


def featurize_udf(cnn: str, weights: models.Weights, chunk_size: int):
    """A pandas UDF over image bytes; the model is loaded once per Python worker process."""

    @F.pandas_udf(RESULT_TYPE)
    def featurize_images(batches: Iterator[pd.Series]) -> Iterator[pd.DataFrame]:
        configure_logging()  # this runs in a Python worker, whose logging is not set up
        local = weights.shipped()
        featurizer = models.cached_featurizer(cnn, local, TaskContext.get().cpus())
        for contents in batches:
            yield featurize_contents(contents, featurizer, chunk_size)

    return featurize_images


def featurize(images: DataFrame, cnn: str, weights: models.Weights, chunk_size: int) -> DataFrame:
    """path, label, features (null when rejected), reason (null when featurized)."""
    result = featurize_udf(cnn, weights, chunk_size)(F.col("content"))
    return images.select("path", "label", result.alias("result")).select(
        "path", "label", "result.features", "result.reason"
    )


def features_table(featurized: DataFrame, cnn: str, ingest_date: date) -> DataFrame:
    return featurized.where(F.col("reason").isNull()).select(
        "path",
        "label",
        F.lit(cnn).alias("model"),
        "features",
        F.lit(ingest_date.isoformat()).alias("ingest_date"),
    )


def rejected_table(rejections: DataFrame, cnn: str, ingest_date: date) -> DataFrame:
    return rejections.select(
        "path",
        "label",
        "reason",
        F.lit(cnn).alias("model"),
        F.lit(ingest_date.isoformat()).alias("ingest_date"),
    )


# -- load ------------------------------------------------------------------------------------


def write_partitions(table: DataFrame, uri: str) -> None:
    """Replace exactly the (model, ingest_date) partitions present in `table`.

    Dynamic overwrite stages the files and swaps partitions only when the job commits, so a
    failure leaves earlier results as they were.
    """
    (
        table.write.mode("overwrite")
        .option("partitionOverwriteMode", "dynamic")
        .partitionBy("model", "ingest_date")
        .parquet(uri)
    )


def drop_other_ingest_dates(spark: SparkSession, root: str, cnn: str, keep: date) -> None:
    """After a full rebuild has committed, earlier dates of that model would be duplicates:
    of its features, and of its rejections."""
    model_dir = f"{root}/model={cnn}"
    kept = f"ingest_date={keep.isoformat()}"
    others = [
        name
        for name in list_children(spark, model_dir)
        if name.startswith("ingest_date=") and name != kept
    ]
    for name in delete_children(spark, model_dir, others):
        log.info("full rebuild: removed %s/%s", model_dir, name)


# -- job -------------------------------------------------------------------------------------


def partition_plan(image_count: int, cores: int) -> tuple[int, int]:
    """(partitions, images per partition): WAVES per core, at most IMAGES_PER_PARTITION each."""
    wanted = max(cores * WAVES, math.ceil(image_count / IMAGES_PER_PARTITION))
    per_partition = math.ceil(image_count / min(image_count, wanted))
    return math.ceil(image_count / per_partition), per_partition


def size_partitions(spark: SparkSession, image_count: int) -> int:
    """Pack files into partitions by count, sized to the cluster's cores.

    binaryFile packs small files by bytes (128 MB, plus a 4 MB "open cost" a file): 32 images
    a task whatever the cluster. With an open cost far above an image's size, each file
    weighs about the same, and a partition's byte budget becomes an image count.
    """
    partitions, per_partition = partition_plan(image_count, spark.sparkContext.defaultParallelism)
    spark.conf.set("spark.sql.files.openCostInBytes", str(FILE_OPEN_COST))
    spark.conf.set("spark.sql.files.maxPartitionBytes", str(per_partition * FILE_OPEN_COST - 1))
    return partitions


def run(spark: SparkSession, args: argparse.Namespace) -> dict[str, int]:
    started = time.perf_counter()
    output = args.output.rstrip("/")
    args.weights.ship(spark)
    images = with_label(extract_images(spark, args.input, args.window))
    listed = listed_files(images)
    log.info("found %d image file(s) under %s, %s", len(listed), args.input, args.window)
    if not listed:
        log.warning("no image to featurize: nothing written")
        return {"found": 0, "featurized": 0, "rejected": 0}

    partitions = size_partitions(spark, len(listed))
    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", str(ARROW_BATCH))
    # A file deleted after the listing is skipped, then reported as vanished: not a failed day.
    spark.conf.set("spark.sql.files.ignoreMissingFiles", "true")
    log.info(
        "featurizing with %s (weights=%s) in %d partition(s)", args.model, args.weights, partitions
    )
    root = qualified(spark, args.input)
    labelled = images.where(~directly_under(root))
    readable = labelled.where(F.col("length") <= args.max_image_bytes)
    featurized = featurize(readable, args.model, args.weights, args.chunk_size)
    featurized = featurized.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        write_partitions(features_table(featurized, args.model, args.ingest_date), output)
        too_large = oversized(labelled, args.max_image_bytes)
        no_label = unlabelled(images, root)
        rejections = (
            featurized.where(F.col("reason").isNotNull())
            .select("path", "label", "reason")
            .unionByName(too_large)
            .unionByName(no_label)
            .unionByName(unscanned_files(spark, listed, featurized, too_large, no_label))
        )
        write_partitions(
            rejected_table(rejections, args.model, args.ingest_date), f"{output}/_rejected"
        )
        featurized_count = featurized.where(F.col("reason").isNull()).count()
    finally:
        featurized.unpersist()
    if args.window.is_full:
        for root in (output, f"{output}/_rejected"):
            drop_other_ingest_dates(spark, root, args.model, args.ingest_date)

    elapsed = time.perf_counter() - started
    found = len(listed)
    summary = {"found": found, "featurized": featurized_count, "rejected": found - featurized_count}
    log.info("featurized %(featurized)d, rejected %(rejected)d of %(found)d image(s)", summary)
    log.info("done in %.1fs: %.1f images/s, listing included", elapsed, found / elapsed)
    return summary


def main(argv: Sequence[str] | None = None, spark: SparkSession | None = None) -> int:
    return run_job("featurize", argv, spark, parse_args, run, INPUT_ERRORS)


if __name__ == "__main__":
    sys.exit(main())
