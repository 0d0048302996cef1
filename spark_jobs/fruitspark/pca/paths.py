"""pca's index of paths: which rows count, and each day's fingerprint, without reading all
history's paths.

    <features>/_stats/model=<cnn>/paths=2026-11-20.<files hash>.npy

One sorted int64 a row, the xxhash64 of its path: 8 bytes an image against its 5 KB of
features. It is written once per version of a day's partition (its file names: Spark names
every file it writes uniquely, so a rewrite gives new names). An image featurized on two
dates has the same hash on both: only those candidates' real paths are then read, and an
unlikely collision of two paths is resolved there.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import zipfile
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from fruits_contract.layout import partition
from fruitspark.hadoop_fs import replace_file
from fruitspark.locations import literal

log = logging.getLogger("pca")
# What reading a state file that an interrupted copy or restore truncated raises: numpy's
# header and shape checks, zipfile's, or an early end of file.
DAMAGED = (ValueError, EOFError, OSError, KeyError, zipfile.BadZipFile)
DAY_FOLDER = partition("ingest_date", "")
PREFIX = "paths="


def fingerprint(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Days:
    """Each day of a model's features: its fingerprint, and the rows that no longer count."""

    fingerprints: dict[str, str]  # ingest_date -> fingerprint
    superseded: dict[str, list[str]]  # ingest_date -> paths featurized again on a later date
    index_files: frozenset[str] = frozenset()  # the path files of the days as they are

    @property
    def superseded_rows(self) -> list[tuple[str, str]]:
        return [(path, day) for day, paths in self.superseded.items() for path in paths]


def day_files(features: DataFrame, cnn: str) -> dict[str, list[str]]:
    """The file names of each ingest date of the model, from the listing Spark made when it
    opened the dataset: no request of its own."""
    model, files = partition("model", cnn), defaultdict(list)
    for uri in features.inputFiles():
        *folders, name = uri.split("/")
        if len(folders) >= 2 and folders[-2] == model and folders[-1].startswith(DAY_FOLDER):
            files[folders[-1][len(DAY_FOLDER) :]].append(name)
    return {day: sorted(names) for day, names in sorted(files.items())}


def index_file(day: str, names: list[str]) -> str:
    """The name of the path index of a day whose partition holds the files `names`."""
    return f"{PREFIX}{day}.{fingerprint([day, names])}.npy"


def day_hashes(
    spark: SparkSession, features: DataFrame, cnn: str, folder: str, stored: set[str]
) -> dict[str, np.ndarray]:
    """Each day's index file name -> its hashes, indexing the days that have no index yet,
    or a damaged one, from their features."""
    files = day_files(features, cnn)
    index_files = {day: index_file(day, names) for day, names in files.items()}
    hashes = read_hashes(spark, folder, {name for name in index_files.values() if name in stored})
    missing = {day: name for day, name in index_files.items() if name not in hashes}
    if missing:  # never indexed, or damaged: from the day's features
        write_hashes(spark, features, folder, missing)
        hashes.update(read_hashes(spark, folder, set(missing.values())))
    return {index_files[day]: hashes[index_files[day]] for day in files}


def scan_days(spark: SparkSession, features: DataFrame, cnn: str, folder: str, stored) -> Days:
    """Each day's fingerprint and the rows that no longer count, from the stored path
    hashes (computed for the days that lack them) and the candidates' real paths."""
    hashes = day_hashes(spark, features, cnn, folder, stored)
    index_files = {name.removeprefix(PREFIX).split(".", 1)[0]: name for name in hashes}
    everything = np.concatenate(list(hashes.values())) if hashes else np.zeros(0, np.int64)
    values, counts = np.unique(everything, return_counts=True)
    candidates = values[counts > 1]
    superseded = superseded_paths(spark, features, candidates) if candidates.size else {}
    return Days(
        {day: fingerprint([name, superseded.get(day, [])]) for day, name in index_files.items()},
        superseded,
        frozenset(index_files.values()),
    )


def write_hashes(spark: SparkSession, features: DataFrame, folder: str, names: dict) -> None:
    """One pass over the path column of the days in names (day -> file name)."""
    table: pd.DataFrame = (
        features.where(F.col("ingest_date").isin(list(names)))
        .select("ingest_date", F.xxhash64("path").alias("hash"))
        .toPandas()
    )
    for day, name in names.items():
        day_hashes = np.unique(table.loc[table["ingest_date"] == day, "hash"].to_numpy(np.int64))
        buffer = io.BytesIO()
        np.save(buffer, day_hashes)
        replace_file(spark, f"{folder}/{name}", buffer.getvalue())
    log.info("indexed the paths of %d day(s): %d row(s)", len(names), len(table))


def read_hashes(spark: SparkSession, folder: str, names: set[str]) -> dict[str, np.ndarray]:
    """file name -> its hashes, for the index files of folder named in names. The folder is
    read as one path, filtered by name: a list of one path a day would cost Spark a listing
    job of as many tasks as days (parallel partition discovery, from 32 paths)."""
    if not names:
        return {}
    files = (
        spark.read.format("binaryFile")
        .option("pathGlobFilter", f"{PREFIX}*.npy")
        .load(literal(folder))
        .withColumn("name", F.element_at(F.split("path", "/"), -1))
        .where(F.col("name").isin(sorted(names)))
    )
    hashes = {}
    for row in files.select("name", "content").collect():
        try:
            hashes[row.name] = load_hashes(row.content)
        except DAMAGED as error:
            log.warning(
                "damaged path index %s/%s (%s): computed again from the features",
                folder,
                row.name,
                error,
            )
    return hashes


def load_hashes(content: bytes) -> np.ndarray:
    """An index file's hashes; ValueError when it is not one whole (a truncated copy)."""
    hashes = np.load(io.BytesIO(content), allow_pickle=False)
    if hashes.dtype != np.int64 or hashes.ndim != 1:
        raise ValueError(f"not a 1-D int64 array: {hashes.dtype}, {hashes.ndim} dimension(s)")
    return hashes


def superseded_paths(spark: SparkSession, features: DataFrame, candidates: np.ndarray) -> dict:
    """ingest_date -> the paths of it featurized again on a later date, among the rows whose
    hash is a candidate's."""
    wanted = spark.createDataFrame([(int(value),) for value in candidates], "hash long")
    rows = (
        features.select("path", "ingest_date", F.xxhash64("path").alias("hash"))
        .join(F.broadcast(wanted), "hash")
        .select("path", "ingest_date")
        .collect()
    )
    dates = defaultdict(set)
    for row in rows:
        dates[row.path].add(row.ingest_date)
    superseded = defaultdict(list)
    for path, path_dates in dates.items():
        latest = max(path_dates)
        for day in path_dates - {latest}:
            superseded[day].append(path)
    return {day: sorted(paths) for day, paths in sorted(superseded.items())}
