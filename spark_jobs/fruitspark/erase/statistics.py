"""PCA's state beside the features that can hold an erased image (fruitspark.pca.history):
its path index, which holds the hash of every path, and the statistics of the days whose
features held it, from which its features could be told apart.

Both are deleted rather than rewritten: PCA computes a missing file again from the features
as they are, and a rollup from its members. The path index is read whole (8 bytes a row);
of the statistics, only the file names are.
"""

from __future__ import annotations

import numpy as np
from pyspark.sql import SparkSession

from fruits_contract.layout import STATS_FOLDER, partition
from fruitspark.hadoop_fs import delete_children, exists, list_children
from fruitspark.pca import paths

MODEL_FOLDER = partition("model", "")
SUMMARY_KINDS = ("day", "days", "month", "year")


def covers(name: str, day: str) -> bool:
    """Whether the summary file `name` (day=…, days=a..b, month=… or year=…, then
    .<fingerprint>.npz) includes `day`."""
    kind, _, rest = name.partition("=")
    key = rest.rsplit(".", 2)[0]
    if kind == "day":
        return key == day
    if kind == "days":
        first, _, last = key.partition("..")
        return first <= day <= last
    return (kind == "month" and day[:7] == key) or (kind == "year" and day[:4] == key)


def _day_of_index(name: str) -> str:
    return name.removeprefix(paths.PREFIX).split(".", 1)[0]


def holding(
    spark: SparkSession, features_root: str, hashes: list[int], days: dict[str, set[str]]
) -> dict[str, list[str]]:
    """model -> the files of its statistics folder that hold a doomed path: the path index
    files with one of `hashes`, and the summaries covering a day of `days` (model -> the
    days whose features held one) or of such an index file."""
    folder = f"{features_root}/{STATS_FOLDER}"
    if not exists(spark, folder):
        return {}
    found = {}
    for model_folder in sorted(list_children(spark, folder)):
        if not model_folder.startswith(MODEL_FOLDER):
            continue
        model, model_uri = model_folder.removeprefix(MODEL_FOLDER), f"{folder}/{model_folder}"
        names = set(list_children(spark, model_uri))
        index_files = {name for name in names if name.startswith(paths.PREFIX)}
        indexes = paths.read_hashes(spark, model_uri, index_files)
        with_hash = {name for name, stored in indexes.items() if np.isin(hashes, stored).any()}
        with_hash |= index_files - set(indexes)  # damaged: it may hold one; PCA remakes it
        touched = days.get(model, set()) | {_day_of_index(name) for name in with_hash}
        summaries = {
            name
            for name in names
            if name.partition("=")[0] in SUMMARY_KINDS and any(covers(name, d) for d in touched)
        }
        if with_hash or summaries:
            found[model] = sorted(with_hash | summaries)
    return found


def delete(spark: SparkSession, features_root: str, files: dict[str, list[str]]) -> int:
    """Delete them: the count deleted."""
    folder = f"{features_root}/{STATS_FOLDER}"
    return sum(
        len(delete_children(spark, f"{folder}/{partition('model', model)}", names))
        for model, names in files.items()
    )
