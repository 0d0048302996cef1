"""Erasure requests: where they are filed, and where the DAG and the erase step record them.

    <bucket>/<erasure prefix>requests/<request id>.json  {"images": ["images/…/IMG_0001.jpg"]}
    <bucket>/<erasure prefix>applied/<request id>.json   what the erase step did, pending the
                                                        success of its run
    <bucket>/<erasure prefix>done/<request id>.json      the audit record: times, counts, the
                                                        run id, and no image key

A request is complete once the run that applied it succeeded: watch_spark_steps then moves
its applied record to done/ and deletes the request. Until then it stays pending, and the
next run applies it again (idempotently: what is gone is counted as found the first time).
"""

from __future__ import annotations

REQUESTS = "requests/"
APPLIED = "applied/"
DONE = "done/"
RECORD_SUFFIX = ".json"
# The places a request's counts are kept for, in the order the docs list them.
COUNTED_PLACES = (
    "images",  # image keys that existed
    "image_versions",  # their object versions and delete markers, all deleted
    "feature_rows",  # rows of every model and ingest date
    "rejections",  # featurize's _rejected rows
    "pca_rows",  # rows of the published PCA versions
    "pca_versions_pruned",  # older PCA versions of the models concerned, deleted
)


def request_id(key: str) -> str:
    """The id of the request at key: its file name without .json."""
    return key.rsplit("/", 1)[-1].removesuffix(RECORD_SUFFIX)


def record_key(erasure_prefix: str, folder: str, request: str) -> str:
    """Where the request's record of folder (REQUESTS, APPLIED or DONE) is."""
    return f"{erasure_prefix}{folder}{request}{RECORD_SUFFIX}"
