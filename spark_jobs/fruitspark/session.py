"""SparkSession, logging, shipping of this package and the jobs' entry point: the same on EMR
and on a laptop."""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from pyspark.sql import SparkSession

import fruits_contract

PACKAGE_DIR = Path(__file__).resolve().parent
# A class-data archive of what a local Spark JVM loads (scripts/spark_class_archive.py, built
# by `make venv`): mapped, Spark's classes are neither read from its jars nor verified again.
# FRUITSPARK_CLASS_ARCHIVE names another file; set empty, no archive is used.
CLASS_ARCHIVE_VARIABLE = "FRUITSPARK_CLASS_ARCHIVE"
# More options for every JVM a local run starts, space-separated: the tests compile with C1
# only, since their Spark work is too small for C2 to pay back (docs/development.md).
JAVA_OPTIONS_VARIABLE = "FRUITSPARK_JAVA_OPTIONS"
_shipped: set[str] = set()
Arguments = TypeVar("Arguments")  # a job's frozen arguments


def configure_logging() -> None:
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("py4j").setLevel(logging.WARNING)


def class_archive() -> Path | None:
    """Where the class-data archive is, or None when no archive is to be used."""
    location = os.environ.get(CLASS_ARCHIVE_VARIABLE, str(Path(sys.prefix) / "spark-classes.jsa"))
    return Path(location) if location else None


def local_jvm_conf(java_options: Sequence[str] = ()) -> dict[str, str]:
    """Spark conf for a JVM started on this machine, with `java_options` and those of
    FRUITSPARK_JAVA_OPTIONS: it starts from the class-data archive, when there is one. A JVM
    that finds the archive stale (another JDK, other Spark jars) says so in one warning line
    and starts without it."""
    archive = class_archive()
    java_options = [*java_options, *os.environ.get(JAVA_OPTIONS_VARIABLE, "").split()]
    if archive is not None and archive.is_file():
        java_options = [f"-XX:SharedArchiveFile={archive}", *java_options]
    return {"spark.driver.extraJavaOptions": " ".join(java_options)} if java_options else {}


def get_session(app_name: str, local_java_options: Sequence[str] = ()) -> SparkSession:
    """The session spark-submit configured, or a local one for `python spark_jobs/<script>`,
    whose JVM gets `local_java_options`."""
    # Without it a local run's workers would start the system python3, not this venv's.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(app_name)
    if "PYSPARK_GATEWAY_PORT" not in os.environ:  # else spark-submit has started the JVM
        conf: dict[str, Any] = dict(local_jvm_conf(local_java_options))
        builder = builder.config(map=conf)
    return builder.getOrCreate()


def write_jobs_package(archive: Path) -> Path:
    """fruitspark and the contract it shares with the DAG (plugins/fruits_contract), as the
    two top-level packages of one zip: what --py-files puts on the steps' path."""
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as package:
        for source in (PACKAGE_DIR, Path(fruits_contract.__file__).parent):
            for path in sorted(source.rglob("*.py")):
                package.write(path, path.relative_to(source.parent).as_posix())
    return archive


def ship_package(spark: SparkSession) -> None:
    """Make `fruitspark` and `fruits_contract` importable on executors when they were not
    sent with --py-files.

    On EMR the step passes fruitspark.zip with --py-files, and both are imported from that
    zip: nothing to do. From a source checkout, zip the folders once per session, as
    scripts.deploy does.
    """
    if not PACKAGE_DIR.is_dir() or spark.sparkContext.applicationId in _shipped:
        return
    archive = write_jobs_package(Path(tempfile.mkdtemp(prefix="fruitspark-")) / "fruitspark.zip")
    spark.sparkContext.addPyFile(str(archive))
    _shipped.add(spark.sparkContext.applicationId)


def run_job(
    name: str,
    argv: Sequence[str] | None,
    spark: SparkSession | None,
    parse_args: Callable[[Sequence[str]], Arguments],
    run: Callable[[SparkSession, Arguments], object],
    input_errors: tuple[type[Exception], ...],
    local_java_options: Sequence[str] = (),
) -> int:
    """A job's main(): arguments (sys.argv by default), a session (injected by tests, or local
    with `local_java_options`), and exit code 1 with one log line for an input the job cannot
    use."""
    configure_logging()
    args = parse_args(sys.argv[1:] if argv is None else argv)
    spark = spark or get_session(f"fruits-{name}", local_java_options)
    ship_package(spark)
    try:
        run(spark, args)
    except input_errors as error:
        logging.getLogger(name).error("%s failed: %s", name, error)
        return 1
    return 0
