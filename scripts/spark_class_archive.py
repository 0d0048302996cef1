"""`make venv`: the class-data archive that local Spark JVMs start from.

    python -m scripts.spark_class_archive [--output PATH]

At every start, Spark's JVM reads some ten thousand classes from its jars and verifies them.
Mapped from a class-data archive (the JDK's AppCDS), they are already parsed and verified:
about 3 s less for every local job on this machine (docs/performance.md). The archive holds
what one JVM loaded while running the real jobs, featurize then PCA, on a few generated
images. It suits only this JDK and these Spark jars: a JVM that finds it stale says so in one
warning line and starts without it. fruitspark.session.local_jvm_conf() gives it to the JVMs
started here (`python spark_jobs/<script>`, the tests' Spark, the local AWS's steps); EMR's
steps never use it.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

from pyspark import SparkContext
from pyspark.sql import SparkSession

from fruitspark.featurize import job as featurize
from fruitspark.pca import job as pca
from fruitspark.session import class_archive
from scripts.fruits_sample import generate

log = logging.getLogger("spark_class_archive")
JVM_EXIT_SECONDS = 300  # the JVM writes the archive as it exits: about 200 MB


def record(archive: Path, workdir: Path) -> None:
    """Run featurize and PCA in one local JVM that writes the classes it loaded to `archive`
    when it exits; return once it has."""
    images, features, versions = workdir / "images", workdir / "features", workdir / "pca"
    generate(images, classes=2, per_class=8)
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    spark = (
        SparkSession.builder.master("local[2]")
        .appName("fruits-class-archive")
        # Dumping warns about every class it cannot keep (signed jars, old bytecode): noise.
        .config(
            "spark.driver.extraJavaOptions",
            f"-XX:ArchiveClassesAtExit={archive} -Xlog:cds=error,cds+dynamic=error",
        )
        .getOrCreate()
    )
    try:
        featurize_args = ["--input", str(images), "--output", str(features)]
        pca_args = ["--input", str(features), "--output", str(versions), "--k", "2"]
        if featurize.main(featurize_args, spark) or pca.main(pca_args, spark):
            raise SystemExit("a job failed: no archive written")
    finally:
        spark.stop()
        gateway = SparkContext._gateway
        if gateway is not None:  # the gateway's JVM exits at the end of its input
            gateway.proc.stdin.close()
            gateway.proc.wait(timeout=JVM_EXIT_SECONDS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output", type=Path, default=class_archive())
    args = parser.parse_args()
    if args.output is None:
        raise SystemExit("FRUITSPARK_CLASS_ARCHIVE is empty: no archive to build")
    started = time.perf_counter()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    # Written aside and renamed: a JVM that maps a truncated archive crashes.
    partial = args.output.with_name(f"{args.output.name}.partial")
    try:
        with tempfile.TemporaryDirectory(prefix="fruits-class-archive-") as workdir:
            record(partial, Path(workdir))
    except BaseException:
        partial.unlink(missing_ok=True)  # a failed job's JVM still writes one as it exits
        raise
    if not partial.is_file():
        raise SystemExit(f"the JVM wrote no archive at {partial}")
    os.replace(partial, args.output)
    size_mb = args.output.stat().st_size / 1e6
    log.info("wrote %s (%.0f MB) in %.0fs", args.output, size_mb, time.perf_counter() - started)


if __name__ == "__main__":
    main()
