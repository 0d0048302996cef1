"""Erasure requests: where they are filed, how they name images, and where the DAG and the
erase step record them.

    <bucket>/<erasure prefix>requests/<request id>.json  {"images": ["images/…/IMG_0001.jpg"]}
    <bucket>/<erasure prefix>applied/<request id>.json   what the erase step did and verified,
                                                        pending the success of its run
    <bucket>/<erasure prefix>done/<request id>.json      the audit record: times, counts, the
                                                        run id, and no image key

A request's id is its key relative to requests/, without .json: requests/sub/b.json is
`sub/b`, never `b`. Keys that are not such a file (a folder marker ending in /, notes.txt)
are not requests: they start no run and are left alone.

A request is the version of its object that the erase step read. It is complete once the run
that applied it succeeded, the step verified that nothing of its images is left, and that
same version is still the request's latest: the DAG then writes done/, and deletes the
request's versions and the applied record. A request rewritten meanwhile stays pending, and
the next run applies what it says now.

An image key in a request matches a stored key that differs only in its Unicode
normalization (NFC or NFD): a Mac uploads `pêche_été.jpg` decomposed, most backends write it
composed. Logs and records name an image by its digest, never by its key.
"""

from __future__ import annotations

import hashlib
import unicodedata

REQUESTS = "requests/"
APPLIED = "applied/"
DONE = "done/"
RECORD_SUFFIX = ".json"
# What a request's record counts for each of its images, summed over them.
IMAGE_PLACES = (
    "images",  # image keys that existed
    "image_versions",  # their object versions and delete markers, all deleted
    "feature_rows",  # rows of every model and ingest date
    "rejections",  # featurize's _rejected rows
    "pca_rows",  # rows of the published PCA versions
)
# What the run removed that no single image owns: every request of the run counts them.
RUN_PLACES = (
    "pca_versions_pruned",  # older PCA versions of every model, deleted whole
    "statistics_files",  # PCA's per-day statistics, rollups and path indexes holding them
)
# The places a request's counts are kept for, in the order the docs list them; not_found
# counts the requested images that none of the places held.
COUNTED_PLACES = (*IMAGE_PLACES, *RUN_PLACES, "not_found")
# Where the erase step's second scan looks for what is left after its deletions.
VERIFIED_PLACES = (
    "image_versions",
    "features",
    "rejections",
    "pca_published",
    "pca_older_versions",
    "path_index",
    "statistics",
)
DIGEST_LENGTH = 16


def is_request_key(key: str, erasure_prefix: str) -> bool:
    """Whether key is a request: a .json file under <erasure prefix>requests/."""
    relative = key.removeprefix(erasure_prefix + REQUESTS)
    return (
        key.startswith(erasure_prefix + REQUESTS)
        and relative.endswith(RECORD_SUFFIX)
        and relative != RECORD_SUFFIX
        and not relative.endswith("/" + RECORD_SUFFIX)
    )


def request_id(key: str, erasure_prefix: str) -> str:
    """The id of the request at key: its path under requests/, without .json."""
    return key.removeprefix(erasure_prefix + REQUESTS).removesuffix(RECORD_SUFFIX)


def record_key(erasure_prefix: str, folder: str, request: str) -> str:
    """Where the request's record of folder (REQUESTS, APPLIED or DONE) is."""
    return f"{erasure_prefix}{folder}{request}{RECORD_SUFFIX}"


def key_variants(key: str) -> tuple[str, ...]:
    """The stored keys a requested key matches: itself, composed (NFC) and decomposed
    (NFD), once each."""
    return tuple(
        dict.fromkeys((key, unicodedata.normalize("NFC", key), unicodedata.normalize("NFD", key)))
    )


def image_digest(path: str) -> str:
    """A short, stable name for an image in logs and records: of its path as the rows record
    it (s3://bucket/images/…), the same for every Unicode form of it. Not the key, which a
    log must never hold; `_rejected` rows and the request give the key to whoever may see it."""
    composed = unicodedata.normalize("NFC", path)
    return hashlib.sha256(composed.encode()).hexdigest()[:DIGEST_LENGTH]
