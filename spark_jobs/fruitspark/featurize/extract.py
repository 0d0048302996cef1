"""featurize's extract: the listed image files, as a DataFrame; no content is read yet."""

from __future__ import annotations

import logging
import time
from datetime import UTC, date, datetime

import pandas as pd
from pyspark.sql import DataFrame, SparkSession

from fruits_contract.image_files import is_apple_double, is_image
from fruits_contract.landing import days_to_list
from fruitspark.labels import label_of
from fruitspark.listing import ListedFile, list_files, list_landing
from fruitspark.window import Window

log = logging.getLogger("featurize")

LISTED_FILE_SCHEMA = (
    "path string, label string, apple_double boolean, length long, error string, ingest_date string"
)


def list_images(input_uri: str, window: Window) -> list[ListedFile]:
    """The image files under input_uri modified inside the window, whatever their names.

    A window with both ends, a daily run's, lists only its days' folders of the landing
    layout (fruits_contract.landing) and what is outside the layout; without one, a full
    rebuild lists everything. Listed on the driver (see fruitspark.listing): only names and
    sizes, no content.
    """
    started = time.perf_counter()
    if window.after and window.before:
        days = days_to_list(window.after, window.before)
        listed = list(list_landing(input_uri, days))
        where = f"the day folders {days[0]} to {days[-1]}, and what is outside the layout"
    else:
        listed = list(list_files(input_uri))
        where = "every folder (no window: a full rebuild)"
    seconds = time.perf_counter() - started
    log.info("listed %d object(s) under %s in %.2fs: %s", len(listed), input_uri, seconds, where)
    return [
        file
        for file in listed
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
