"""Where the jobs write what the DAG reads: the names inside the output datasets."""

from __future__ import annotations

# The data bucket's folders: where the app uploads photos (a folder a day: fruits_contract.
# landing), the two jobs' outputs, the erasure requests and their records, the cost records.
IMAGES_PREFIX = "images/"
FEATURES_PREFIX = "features/"
PCA_PREFIX = "pca/"
ERASURE_PREFIX = "erasure/"
COSTS_PREFIX = "costs/"
DATA_PREFIXES = (IMAGES_PREFIX, FEATURES_PREFIX, PCA_PREFIX, ERASURE_PREFIX, COSTS_PREFIX)
# A features dataset is partitioned <root>/model=<cnn>/ingest_date=<YYYY-MM-DD>/, and so are
# its rejections and summaries.
PARTITION_COLUMNS = ("model", "ingest_date")
# Inside every features dataset: featurize's rejections, and how PCA knows a dataset.
REJECTED_FOLDER = "_rejected"
# Inside every features dataset too: each run's counts, read by the DAG for its asset events.
SUMMARY_FOLDER = "_summary"
# Inside every features dataset too: PCA's sufficient statistics of each day, month and year
# of a model's features, <root>/_stats/model=<cnn>/<day|month|year>=<when>.<fingerprint>.npz.
STATS_FOLDER = "_stats"
# Inside every features dataset too: what featurize has listed of the landing folders, per
# model (fruits_contract.landing.LandingState): <root>/_landing/model=<cnn>.json.
LANDING_FOLDER = "_landing"
# Beside a PCA output's versions: the manifest naming the published one (fruitspark.publication).
LATEST = "_LATEST"
# Beside it: why the last run published nothing ({"reason", "skipped_at"}), when PCA was told
# to skip rather than fail on too few rows; removed by the next publication.
SKIPPED = "_SKIPPED"


def partition(column: str, value: str) -> str:
    """A partition folder's name, as Spark writes it: model=mobilenet_v2."""
    return f"{column}={value}"


def summary_key(model: str, ingest_date: str) -> str:
    """Where featurize records a (model, ingest date)'s counts, under its output."""
    return (
        f"{SUMMARY_FOLDER}/{partition('model', model)}/{partition('ingest_date', ingest_date)}.json"
    )


def landing_state_key(model: str) -> str:
    """Where featurize records, under its output, what it has listed for a model."""
    return f"{LANDING_FOLDER}/{partition('model', model)}.json"


def published_folders(manifest: dict) -> list[str]:
    """The folders, relative to a PCA output, that hold the rows of the version a _LATEST
    manifest publishes: one per ingest date. A manifest written before daily appends names
    a version whose folder holds its rows directly."""
    if "segments" not in manifest:
        return [manifest["version"]]
    return [f"{manifest['version']}/{entry['folder']}" for entry in manifest["segments"].values()]
