"""featurize's job: extract, transform and load, with the logs a run needs."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from pyspark import StorageLevel
from pyspark.errors import AnalysisException
from pyspark.sql import Observation, SparkSession
from pyspark.sql import functions as F

from fruits_contract.image_files import is_image
from fruits_contract.layout import REJECTED_FOLDER
from fruitspark import models
from fruitspark.featurize import load, taking, transform
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
    state = taking.read_state(spark, args.output, args.model) if args.tracks_landing else None
    listed, files = discover(spark, args, state)
    log.info("found %d image file(s) under %s, %s", len(files), args.input, what_is_taken(args))
    written, rejected = 0, set()
    if files:
        written, rejected = featurize_and_write(spark, args, model_file, model_id, files)
    else:
        log.warning("no image to featurize: no features written")
    counts = load.summary(
        len(files), written, args.model, model_id, args.ingest_date, what_is_taken(args)
    )
    if state is not None:
        counts["landing"] = taking.landing_report(listed, files, rejected, args.input, args.as_of)
        log_landing(counts["landing"])
    load.write_summary(spark, args.output, counts)
    if state is not None:
        after = taking.state_after(state, listed, args.input, args.as_of)
        taking.write_state(spark, args.output, args.model, after)
    elapsed = time.perf_counter() - started
    log.info("featurized %(featurized)d, rejected %(rejected)d of %(found)d image(s)", counts)
    log.info("done in %.1fs: %.1f images/s, listing included", elapsed, len(files) / elapsed)
    return counts


def what_is_taken(args: FeaturizeArgs) -> str:
    if args.take == "new":
        return "what no run took in the open landing folders"
    if args.take == "missing":
        return "what no run took, in every folder"
    return str(args.window)


def discover(spark: SparkSession, args: FeaturizeArgs, state) -> tuple[list, list]:
    """(what was listed, the files to featurize): with --take new or missing, those of the
    listed images that no run featurized or rejected yet."""
    if args.take == "all":
        files = list_images(args.input, args.window)
        return files, files
    listing = time.perf_counter()
    listed = taking.list_open(args.input, state, everywhere=args.take == "missing")
    log.info(
        "listed %d object(s) under %s in %.2fs: %s",
        len(listed),
        args.input,
        time.perf_counter() - listing,
        "every folder" if args.take == "missing" else "the open landing folders",
    )
    images = [file for file in listed if file.folder or is_image(file.path)]
    new = taking.not_taken(spark, images, taking.taken_hashes(spark, args.output, args.model))
    log.info("%d of %d image file(s) taken by an earlier run", len(images) - len(new), len(images))
    return listed, new


def log_landing(report: dict[str, dict]) -> None:
    for folder, day in report.items():
        if day["taken"] and day["timing"] != "on_time":
            log.warning(
                "took %d image(s) of %s %s: %d featurized, %d rejected",
                day["taken"],
                folder,
                day["timing"],
                day["featurized"],
                day["rejected"],
            )


def featurize_and_write(spark, args: FeaturizeArgs, model_file, model_id: str, files: list):
    """Featurize files and write their rows: (the rows written, the rejected paths)."""
    partitions, _ = partition_plan(len(files), spark.sparkContext.defaultParallelism)
    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", str(ARROW_BATCH))
    log.info(
        "featurizing with %s (%s, %s) in %d partition(s)",
        args.model,
        model_file,
        model_id,
        partitions,
    )
    by_upload = args.window.is_full and args.take == "all"
    images = extract_images(
        spark, files, partitions, None if by_upload else args.ingest_date, args.ingest_date
    )
    judged = transform.with_verdict(images, root_of(args.input), args.max_image_bytes)
    to_read = judged.where(F.col("verdict").isNull())
    featurized = transform.featurize(to_read, model_file, args.chunk_size, args.max_image_bytes)
    featurized = featurized.persist(StorageLevel.MEMORY_AND_DISK)
    written = Observation("features written")  # counted as they are written: no job to count
    rejected_root = f"{args.output}/{REJECTED_FOLDER}"
    # Taking what no run took adds to what the run's ingest date holds already.
    adding = args.ingest_date if args.take != "all" else None
    try:
        features = transform.features_table(featurized, args.model, model_id)
        observed = features.observe(written, F.count(F.lit(1)).alias("rows"))
        load.write_partitions(
            load.with_existing(spark, observed, args.output, args.model, adding), args.output
        )
        rejections = transform.rejected_table(featurized, judged, args.model)
        rejected = {row.path for row in rejections.select("path").collect()}
        load.write_partitions(
            load.with_existing(spark, rejections, rejected_root, args.model, adding),
            rejected_root,
        )
        if by_upload:
            for root, table in ((args.output, features), (rejected_root, rejections)):
                load.drop_other_ingest_dates(spark, root, args.model, load.dates_of(table))
    finally:
        featurized.unpersist()
    if not adding and not by_upload and not rejected:
        load.drop_earlier_rejections(spark, args.output, args.model, args.ingest_date)
    return written.get["rows"], rejected


def main(argv: Sequence[str] | None = None, spark: SparkSession | None = None) -> int:
    return run_job("featurize", argv, spark, parse_args, run, INPUT_ERRORS, LOCAL_JAVA_OPTIONS)
