"""featurize's job: extract, transform and load, with the logs a run needs."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from pyspark import StorageLevel
from pyspark.errors import AnalysisException
from pyspark.sql import Observation, SparkSession
from pyspark.sql import functions as F

from fruits_contract.layout import REJECTED_FOLDER
from fruitspark import models
from fruitspark.featurize import load, transform
from fruitspark.featurize.arguments import FeaturizeArgs, parse_args
from fruitspark.featurize.extract import extract_images, list_images
from fruitspark.listing import root_of
from fruitspark.partitions import partition_plan
from fruitspark.session import run_job

log = logging.getLogger("featurize")

ARROW_BATCH = 256  # rows per Arrow batch to a Python worker: bounds its memory
# The JVM that `python spark_jobs/fruits_featurize.py` starts only moves batches between the
# Python workers and Parquet: C2's compilations would cost it more CPU, taken from the
# inference, than they save in a run of minutes (docs/performance.md). PCA's JVM does the
# maths: C2.
LOCAL_JAVA_OPTIONS = ("-XX:TieredStopAtLevel=1",)
# An input the job cannot read: exit code 1 and one log line instead of a traceback.
INPUT_ERRORS = (AnalysisException, FileNotFoundError, PermissionError, models.ModelFileError)


def resolve_model_file(cnn: str, model_file: models.ModelFile | None, weights: str):
    """model_file as given, or the CNN with `weights` exported to ONNX (cached) by the export
    tool, which a checkout's venv has and EMR has not: there the DAG passes --model-file."""
    if model_file:
        return model_file
    try:
        from scripts.keras_export import Weights, export_onnx

        return models.ModelFile(str(export_onnx(cnn, Weights(weights))))
    except ImportError as error:
        raise models.ModelFileError(
            f"--weights {weights}: exporting {cnn} to ONNX needs TensorFlow, tf2onnx and a "
            f"checkout's scripts.keras_export ({error}); where they are not installed, pass "
            "--model-file"
        ) from None
    except (OSError, ValueError) as error:
        first_line = str(error).strip().splitlines()[0]
        raise models.ModelFileError(
            f"--weights {weights}: not a weights file of {cnn}: {first_line}"
        ) from None


def run(spark: SparkSession, args: FeaturizeArgs) -> dict:
    started = time.perf_counter()
    model_file = resolve_model_file(args.model, args.model_file, args.weights)
    model_id = model_file.ship(spark, args.model)
    files = list_images(args.input, args.window)
    log.info("found %d image file(s) under %s, %s", len(files), args.input, args.window)
    if not files:
        log.warning("no image to featurize: no features written")
        counts = load.summary(0, 0, args.model, model_id, args.ingest_date, str(args.window))
        load.write_summary(spark, args.output, counts)
        return counts

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
    judged = transform.with_verdict(images, root_of(args.input), args.max_image_bytes)
    to_read = judged.where(F.col("verdict").isNull())
    featurized = transform.featurize(to_read, model_file, args.chunk_size, args.max_image_bytes)
    featurized = featurized.persist(StorageLevel.MEMORY_AND_DISK)
    written = Observation("features written")  # counted as they are written: no job to count
    rejected_root = f"{args.output}/{REJECTED_FOLDER}"
    try:
        features = transform.features_table(featurized, args.model, model_id)
        observed = features.observe(written, F.count(F.lit(1)).alias("rows"))
        load.write_partitions(observed, args.output)
        rejections = transform.rejected_table(featurized, judged, args.model)
        load.write_partitions(rejections, rejected_root)
        if by_upload:
            written_dates = {
                args.output: load.dates_of(features),
                rejected_root: load.dates_of(rejections),
            }
    finally:
        featurized.unpersist()
    counts = load.summary(
        len(files), written.get["rows"], args.model, model_id, args.ingest_date, str(args.window)
    )
    load.write_summary(spark, args.output, counts)
    if by_upload:
        for root, dates in written_dates.items():
            load.drop_other_ingest_dates(spark, root, args.model, dates)
    elif counts["rejected"] == 0:
        load.drop_earlier_rejections(spark, args.output, args.model, args.ingest_date)

    elapsed = time.perf_counter() - started
    log.info("featurized %(featurized)d, rejected %(rejected)d of %(found)d image(s)", counts)
    log.info("done in %.1fs: %.1f images/s, listing included", elapsed, len(files) / elapsed)
    return counts


def main(argv: Sequence[str] | None = None, spark: SparkSession | None = None) -> int:
    return run_job("featurize", argv, spark, parse_args, run, INPUT_ERRORS, LOCAL_JAVA_OPTIONS)
