"""featurize's --take new and --take missing: every image not featurized or rejected yet, in
the open landing folders or everywhere, and the accounting of each landing day
(fruits_contract.landing).

What was taken is what the dataset holds: the paths of the model's features, through PCA's
path index (fruitspark.pca.paths: one xxhash64 a row, indexed now for a day without one), and
of its rejections. A 64-bit hash collision between a new path and a stored one would leave the
new image untaken: about 1 in 10^12 for a new image among 10 million.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import numpy as np
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from fruits_contract.image_files import is_apple_double, is_image
from fruits_contract.landing import OPEN_DAYS, OUTSIDE, LandingState, folder_of
from fruits_contract.layout import REJECTED_FOLDER, STATS_FOLDER, landing_state_key, partition
from fruitspark.hadoop_fs import exists, list_children, read_text, replace_file
from fruitspark.listing import ListedFile, list_files, list_landing, root_of
from fruitspark.locations import literal
from fruitspark.pca import paths
from fruitspark.pca.extract import extract_features
from fruitspark.schemas import REJECTED


def read_state(spark: SparkSession, output: str, cnn: str) -> LandingState:
    return LandingState.from_json(read_text(spark, f"{output}/{landing_state_key(cnn)}"))


def write_state(spark: SparkSession, output: str, cnn: str, state: LandingState) -> None:
    """Once the run's rows and summary are committed: a run killed before leaves the last
    state, and the next run lists (and takes) again what this one did."""
    replace_file(spark, f"{output}/{landing_state_key(cnn)}", state.to_json().encode())


def list_open(input_uri: str, state: LandingState, everywhere: bool) -> list[ListedFile]:
    """The files of the open folders and outside the layout; of every folder, everywhere."""
    if everywhere:
        return list(list_files(input_uri))
    return list(list_landing(input_uri, state.is_open))


def taken_hashes(spark: SparkSession, output: str, cnn: str) -> np.ndarray:
    """The hashes of the paths of the model's features and rejections."""
    hashes = [np.zeros(0, np.int64)]
    if exists(spark, output):
        folder = f"{output}/{STATS_FOLDER}/{partition('model', cnn)}"
        features = extract_features(spark, output, cnn)
        stored = set(list_children(spark, folder))
        hashes += list(paths.day_hashes(spark, features, cnn, folder, stored).values())
    rejected_root = f"{output}/{REJECTED_FOLDER}"
    if exists(spark, rejected_root):
        rejected = spark.read.schema(REJECTED).parquet(literal(rejected_root))
        of_model = rejected.where(F.col("model") == cnn).select(F.xxhash64("path").alias("h"))
        hashes.append(np.array([row.h for row in of_model.collect()], np.int64))
    return np.concatenate(hashes)


def not_taken(spark: SparkSession, files: list[ListedFile], taken: np.ndarray) -> list:
    """files less those whose path was featurized or rejected already, in their order."""
    if not files:
        return []
    frame = spark.createDataFrame([(file.path,) for file in files], "path string")
    hashes = [row.h for row in frame.select(F.xxhash64("path").alias("h")).collect()]
    return [file for file, old in zip(files, np.isin(hashes, taken), strict=True) if not old]


def counted(file: ListedFile) -> bool:
    """An image the sensor counts too: it wakes a run."""
    return not file.folder and is_image(file.path) and not is_apple_double(file.path)


def state_after(
    state: LandingState, listed: list[ListedFile], input_uri: str, as_of: datetime
) -> LandingState:
    root = root_of(input_uri) + "/"
    times: dict[str, list[datetime]] = {}
    for file in filter(counted, listed):
        times.setdefault(folder_of(file.path, root), []).append(file.modified)
    return state.after(as_of, times)


def timing(folder: str, as_of: datetime) -> str:
    """on_time: a folder of the run's own days (its interval's, and the day before); late:
    an earlier one (an outage, a failed run, a late upload); ahead: a later one (a client
    clock ahead of UTC); outside: not a day folder."""
    if folder == OUTSIDE:
        return "outside"
    today = as_of.astimezone(UTC).date()
    if folder < (today - timedelta(days=OPEN_DAYS)).isoformat():
        return "late"
    return "ahead" if folder >= today.isoformat() else "on_time"


def landing_report(
    listed: list[ListedFile], new: list[ListedFile], rejected: set[str], input_uri: str, as_of
) -> dict[str, dict]:
    """Per landing folder the run listed or took from: images listed, taken (new), of those
    featurized and rejected, and its timing."""
    root = root_of(input_uri) + "/"
    listed_by = Counter(folder_of(file.path, root) for file in filter(counted, listed))
    new_by = Counter(folder_of(file.path, root) for file in new)
    rejected_by = Counter(folder_of(path, root) for path in rejected)
    return {
        folder or "outside": {
            "listed": listed_by[folder],
            "taken": new_by[folder],
            "featurized": new_by[folder] - rejected_by[folder],
            "rejected": rejected_by[folder],
            "timing": timing(folder, as_of),
        }
        for folder in sorted(set(listed_by) | set(new_by))
    }
