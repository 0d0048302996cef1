"""featurize: fruit photos -> CNN feature vectors, as Parquet.

    spark-submit spark_jobs/featurize.py --input URI --output URI
        [--model mobilenet_v2|resnet50|vgg16]
        [--model-file URI.onnx | --weights imagenet|random|FILE]
        [--modified-after TS] [--modified-before TS] [--ingest-date YYYY-MM-DD]

Output: <output>/model=<cnn>/ingest_date=<date>/ with path, label, model_id, features,
<output>/_rejected/model=<cnn>/ingest_date=<date>/ with path, label, reason, and the run's
counts in <output>/_summary/model=<cnn>/ingest_date=<date>.json. A rerun replaces only its own
(model, ingest date); a run without a window rebuilds the whole model, each image under the
ingest date of its upload (its modification time's UTC day), as the daily runs file it.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pandas as pd
from pyspark import StorageLevel, TaskContext
from pyspark.errors import AnalysisException
from pyspark.sql import Column, DataFrame, Observation, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from fruits_contract.image_files import is_apple_double, is_image
from fruits_contract.layout import REJECTED_FOLDER, summary_key
from fruitspark import models
from fruitspark.batches import DEFAULT_CHUNK, featurize_files
from fruitspark.hadoop_fs import delete_children, list_children, replace_file
from fruitspark.keras_export import Weights, export_onnx
from fruitspark.labels import label_of
from fruitspark.listing import ListedFile, list_files, root_of
from fruitspark.locations import overlap_error
from fruitspark.session import configure_logging, run_job

log = logging.getLogger("featurize")

MAX_IMAGE_BYTES = 20 * 1024 * 1024
IMAGES_PER_PARTITION = 1000  # caps the work a failed task retries
WAVES = 2  # partitions per core, so a slow task does not idle the rest
ARROW_BATCH = 256  # rows per Arrow batch to a Python worker: bounds its memory
# The JVM that `python spark_jobs/featurize.py` starts only moves batches between the Python
# workers and Parquet: C2's compilations would cost it more CPU, taken from the inference,
# than they save in a run of minutes (docs/performance.md). PCA's JVM does the maths: C2.
LOCAL_JAVA_OPTIONS = ("-XX:TieredStopAtLevel=1",)
# An input the job cannot read: exit code 1 and one log line instead of a traceback.
INPUT_ERRORS = (AnalysisException, FileNotFoundError, PermissionError, models.ModelFileError)
NO_LABEL = "no_label: the image is not in a class folder under the input"
# S3 allows images/Pear//b.jpg (a string join with an empty part); Arrow and Hadoop cannot read it.
EMPTY_SEGMENT = "unreadable: its key has an empty path segment (//), which cannot be read"
APPLE_DOUBLE = "not_an_image: an AppleDouble file (macOS metadata), not an image"
LISTED_FILE_SCHEMA = (
    "path string, label string, apple_double boolean, length long, error string, ingest_date string"
)
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

    def contains(self, moment: datetime) -> bool:
        """[after, before): the start is inclusive, the end exclusive."""
        return (self.after is None or self.after <= moment) and (
            self.before is None or moment < self.before
        )

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


def at_least(minimum: int):
    """An argparse type: an int of at least minimum, refused before Spark starts."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from error
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, not {value}")
        return value

    return parse


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="featurize", description=__doc__.split("\n")[0])
    parser.add_argument("--input", required=True, help="folder of class folders of images")
    parser.add_argument("--output", required=True, help="features dataset root")
    parser.add_argument("--model", choices=sorted(models.CNNS), default=models.DEFAULT_CNN)
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--model-file",
        type=models.ModelFile,
        help="the CNN's ONNX file (path or URI): what the DAG passes, no TensorFlow needed",
    )
    source.add_argument(
        "--weights",
        type=Weights,
        default=Weights("random"),
        help="without --model-file: export the CNN to ONNX first, with TensorFlow: imagenet "
        "(Keras downloads), random (seeded, the default) or a Keras weights file",
    )
    parser.add_argument("--modified-after", type=parse_timestamp, help="inclusive window start")
    parser.add_argument("--modified-before", type=parse_timestamp, help="exclusive window end")
    parser.add_argument("--ingest-date", type=date.fromisoformat, help="default: today (UTC)")
    parser.add_argument(
        "--max-image-bytes", type=at_least(1), default=MAX_IMAGE_BYTES, help="larger: rejected"
    )
    parser.add_argument(
        "--chunk-size", type=at_least(1), default=DEFAULT_CHUNK, help="images per CNN call"
    )
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


def list_images(input_uri: str, window: Window) -> list[ListedFile]:
    """The image files under input_uri modified inside the window, whatever their names.

    Listed on the driver (see fruitspark.listing): only names and sizes, no content.
    """
    return [
        file
        for file in list_files(input_uri)
        if (file.folder or is_image(file.path)) and (file.folder or window.contains(file.modified))
    ]


def upload_date(file: ListedFile, run_date: date) -> str:
    """The UTC day a file was uploaded, which a daily run of that day files it under; a folder
    that cannot be listed has no time of its own: the run's date."""
    return run_date.isoformat() if file.folder else file.modified.astimezone(UTC).date().isoformat()


def extract_images(
    spark: SparkSession,
    files: list[ListedFile],
    partitions: int,
    ingest_date: date | None = None,
    run_date: date | None = None,
) -> DataFrame:
    """path, label, apple_double, length, error, ingest_date: one row per listed file, in
    `partitions` partitions of the same size, give or take the driver's few Arrow slices.
    Every file gets `ingest_date`; without one (a full rebuild), the day of its upload.

    Sent from the driver through Arrow and spread round-robin by the JVM: no Python worker
    runs for it, and what depends on the name alone is decided here, once: the label, and
    AppleDouble by the sensor's own function (fruits_contract.image_files).
    """
    listing = pd.DataFrame(
        {
            "path": [file.path for file in files],
            "label": [label_of(file.path) or None for file in files],
            "apple_double": [is_apple_double(file.path) for file in files],
            "length": pd.Series([file.length for file in files], dtype=object),  # ints, None
            "error": [file.error for file in files],
            "ingest_date": [
                ingest_date.isoformat()
                if ingest_date
                else upload_date(file, run_date or datetime.now(UTC).date())
                for file in files
            ],
        }
    )
    spark.conf.set("spark.sql.execution.arrow.pyspark.enabled", "true")
    return spark.createDataFrame(listing, LISTED_FILE_SCHEMA).repartition(partitions)


# -- transform -------------------------------------------------------------------------------


def directly_under(root: str) -> Column:
    """The file is in the input folder itself, not in a class folder below it."""
    return F.regexp_extract("path", r"^(.*)/[^/]*$", 1) == F.lit(root)


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

    @F.pandas_udf(RESULT_TYPE)
    def featurize_images(
        batches: Iterator[tuple[pd.Series, pd.Series]],
    ) -> Iterator[pd.DataFrame]:
        configure_logging()  # this runs in a Python worker, whose logging is not set up
        featurizer = models.cached_featurizer(model_file.shipped(), TaskContext.get().cpus())
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
    return featurized.where(F.col("reason").isNull()).select(
        "path",
        "label",
        F.lit(model_id).alias("model_id"),
        F.lit(cnn).alias("model"),
        "features",
        "ingest_date",
    )


def rejected_table(rejections: DataFrame, cnn: str) -> DataFrame:
    return rejections.select("path", "label", "reason", F.lit(cnn).alias("model"), "ingest_date")


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


def drop_other_ingest_dates(spark: SparkSession, root: str, cnn: str, keep: set[str]) -> None:
    """After a full rebuild has committed, a date it wrote nothing under holds only images
    gone or uploaded again since: of that model's features, or of its rejections."""
    model_dir = f"{root}/model={cnn}"
    kept = {f"ingest_date={day}" for day in keep}
    others = [
        name
        for name in list_children(spark, model_dir)
        if name.startswith("ingest_date=") and name not in kept
    ]
    for name in delete_children(spark, model_dir, others):
        log.info("full rebuild: removed %s/%s", model_dir, name)


def dates_of(table: DataFrame) -> set[str]:
    return {row.ingest_date for row in table.select("ingest_date").distinct().collect()}


def drop_earlier_rejections(spark: SparkSession, root: str, cnn: str, ingest_date: date) -> None:
    """With no rejection, the rejections write replaced no partition (dynamic overwrite only
    touches those it writes): an earlier run's rejections of the date would stay."""
    model_dir = f"{root}/{REJECTED_FOLDER}/model={cnn}"
    for name in delete_children(spark, model_dir, [f"ingest_date={ingest_date.isoformat()}"]):
        log.info("no rejection this time: removed the earlier %s/%s", model_dir, name)


# -- job -------------------------------------------------------------------------------------


def resolve_model_file(args: argparse.Namespace) -> models.ModelFile:
    """--model-file as given, or the CNN with --weights exported to ONNX (cached)."""
    if args.model_file:
        return args.model_file
    try:
        return models.ModelFile(str(export_onnx(args.model, args.weights)))
    except ImportError as error:
        raise models.ModelFileError(
            f"--weights {args.weights}: exporting {args.model} to ONNX needs TensorFlow and "
            f"tf2onnx ({error}); where they are not installed, pass --model-file"
        ) from None
    except (OSError, ValueError) as error:
        first_line = str(error).strip().splitlines()[0]
        raise models.ModelFileError(
            f"--weights {args.weights}: not a weights file of {args.model}: {first_line}"
        ) from None


def partition_plan(image_count: int, cores: int) -> tuple[int, int]:
    """(partitions, images per partition): WAVES per core, at most IMAGES_PER_PARTITION each,
    in whole waves: with 9 partitions on 2 cores, one core would idle through the last."""
    wanted = max(cores * WAVES, math.ceil(image_count / IMAGES_PER_PARTITION))
    wanted = math.ceil(wanted / cores) * cores
    per_partition = math.ceil(image_count / min(image_count, wanted))
    return math.ceil(image_count / per_partition), per_partition


def run(spark: SparkSession, args: argparse.Namespace) -> dict:
    started = time.perf_counter()
    output = args.output.rstrip("/")
    model_file = resolve_model_file(args)
    model_id = model_file.ship(spark, args.model)
    files = list_images(args.input, args.window)
    log.info("found %d image file(s) under %s, %s", len(files), args.input, args.window)
    if not files:
        log.warning("no image to featurize: no features written")
        return write_summary(spark, output, args, model_id, found=0, featurized=0)

    partitions, _ = partition_plan(len(files), spark.sparkContext.defaultParallelism)
    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", str(ARROW_BATCH))
    log.info(
        "featurizing with %s (%s, %s) in %d partition(s)",
        args.model,
        model_file,
        model_id,
        partitions,
    )
    by_upload = args.window.is_full
    images = extract_images(
        spark, files, partitions, None if by_upload else args.ingest_date, args.ingest_date
    )
    judged = with_verdict(images, root_of(args.input), args.max_image_bytes)
    to_read = judged.where(F.col("verdict").isNull())
    featurized = featurize(to_read, model_file, args.chunk_size, args.max_image_bytes)
    featurized = featurized.persist(StorageLevel.MEMORY_AND_DISK)
    written = Observation("features written")  # counted as they are written: no job to count
    try:
        features = features_table(featurized, args.model, model_id)
        write_partitions(features.observe(written, F.count(F.lit(1)).alias("rows")), output)
        rejections = rejected_table(
            featurized.where(F.col("reason").isNotNull())
            .select("path", "label", "reason", "ingest_date")
            .unionByName(rejected_unread(judged)),
            args.model,
        )
        write_partitions(rejections, f"{output}/{REJECTED_FOLDER}")
        if by_upload:
            written_dates = {
                root: dates_of(table)
                for root, table in ((output, features), (f"{output}/{REJECTED_FOLDER}", rejections))
            }
    finally:
        featurized.unpersist()
    summary = write_summary(spark, output, args, model_id, len(files), written.get["rows"])
    if by_upload:
        for root, dates in written_dates.items():
            drop_other_ingest_dates(spark, root, args.model, dates)
    elif summary["rejected"] == 0:
        drop_earlier_rejections(spark, output, args.model, args.ingest_date)

    elapsed = time.perf_counter() - started
    log.info("featurized %(featurized)d, rejected %(rejected)d of %(found)d image(s)", summary)
    log.info("done in %.1fs: %.1f images/s, listing included", elapsed, len(files) / elapsed)
    return summary


def write_summary(
    spark: SparkSession,
    output: str,
    args: argparse.Namespace,
    model_id: str,
    found: int,
    featurized: int,
) -> dict:
    """The run's counts, once its rows are committed: what the DAG's asset event carries."""
    summary = {
        "found": found,
        "featurized": featurized,
        "rejected": found - featurized,
        "model": args.model,
        "model_id": model_id,
        "ingest_date": args.ingest_date.isoformat(),
        "window": str(args.window),
        "created_at": datetime.now(UTC).isoformat(),
    }
    uri = f"{output}/{summary_key(args.model, args.ingest_date.isoformat())}"
    replace_file(spark, uri, json.dumps(summary, indent=2).encode())
    return summary


def main(argv: Sequence[str] | None = None, spark: SparkSession | None = None) -> int:
    return run_job("featurize", argv, spark, parse_args, run, INPUT_ERRORS, LOCAL_JAVA_OPTIONS)


if __name__ == "__main__":
    sys.exit(main())
