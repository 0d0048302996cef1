"""The Airflow side of erasure requests (fruits_contract.erasure): their completion once the
run's steps have succeeded (publish_outputs). plan_cluster adds the erase step when
wait_for_new_images found requests."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from fruits_contract.erasure import (
    APPLIED,
    COUNTED_PLACES,
    DONE,
    IMAGE_PLACES,
    RUN_PLACES,
    record_key,
)

log = logging.getLogger(__name__)


def complete_requests(s3: S3Hook, erasure_uri: str, run_id: str) -> dict[str, int]:
    """Complete the requests this run applied and verified: the applied record becomes the
    done one, and the request's versions and the applied record are deleted. The run's totals
    count each distinct image once, for its asset event.

    A request rewritten since the erase step read it stays pending: the next run applies what
    it says now. A request whose erasure the step could not verify stays pending too, and
    fails the task once the others are complete, naming the places where something is left.
    """
    bucket, prefix = S3Hook.parse_s3_url(erasure_uri)
    completed, unverified = [], []
    for key in s3.list_keys(bucket, prefix + APPLIED):
        record = json.loads(s3.read_key(key, bucket))
        if record["run_id"] != run_id or not record.get("verification"):
            continue  # another run's, or written before the step's verification
        if record["verification"]["traces"]:
            unverified.append(record)
        elif not record["complete"]:
            log.info("erasure request %s: the next run completes it", record["request"])
        elif complete(s3.get_conn(), bucket, prefix, key, record):
            completed.append(record)
    if unverified:
        raise AirflowFailException(
            "erasure request(s) not verified, left pending: "
            + "; ".join(f"{record['request']}: {left_in(record)}" for record in unverified)
        )
    return run_totals(completed)


def left_in(record: dict) -> str:
    """Where the erase step's second scan found something of the request's images: places
    and counts, never a key."""
    traces = record["verification"]["traces"]
    return "something left in " + ", ".join(f"{place} ({n})" for place, n in traces.items())


def complete(s3: Any, bucket: str, prefix: str, applied_key: str, record: dict) -> bool:
    """Write the done record and delete the request, if the version applied is the request's
    latest: whether it did."""
    versions = request_versions(s3, bucket, record["key"])
    latest = next((version for version in versions if version["IsLatest"]), None)
    if latest is not None and not same_version(latest, record):
        log.info(
            "erasure request %s was rewritten after the erase step read it: it stays pending, "
            "and the next run applies what it says now",
            record["request"],
        )
        return False
    done = {
        "request": record["request"],
        "status": record["status"],
        "reason": record["reason"],
        "received_at": record["received_at"],
        "completed_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "run_id": record["run_id"],
        "counts": record["counts"],
        "verification": record["verification"],
    }
    s3.put_object(
        Bucket=bucket,
        Key=record_key(prefix, DONE, record["request"]),
        Body=json.dumps(done, indent=2).encode(),
        ContentType="application/json",
    )
    # Every version of the request, by id: its older versions name images too. A version
    # written since this listing stays, and is the next run's request. One DeleteObjects, which
    # S3 authorizes key by key (s3:DeleteObjectVersion, s3:DeleteObject) and answers key by
    # key: a key it could not delete fails the task, and its retry deletes what is left.
    doomed = [{"Key": record["key"], "VersionId": version["VersionId"]} for version in versions]
    doomed.append({"Key": applied_key})
    errors = s3.delete_objects(Bucket=bucket, Delete={"Objects": doomed, "Quiet": True}).get(
        "Errors", []
    )
    if errors:
        raise AirflowException(
            f"erasure request {record['request']}: S3 kept {len(errors)} of its object(s): "
            + ", ".join(sorted({error["Code"] for error in errors}))
        )
    log.info(
        "erasure request %s %s and complete: %s",
        record["request"],
        record["status"],
        ", ".join(f"{place} {count}" for place, count in record["counts"].items()),
    )
    return True


def request_versions(s3: Any, bucket: str, key: str) -> list[dict[str, Any]]:
    """The versions and delete markers of the request's object (a marker has no ETag)."""
    listed = s3.list_object_versions(Bucket=bucket, Prefix=key)
    return [
        {**item, "ETag": item.get("ETag")}
        for kind in ("Versions", "DeleteMarkers")
        for item in listed.get(kind, [])
        if item["Key"] == key
    ]


def same_version(latest: dict[str, Any], record: dict) -> bool:
    """Whether latest is the version the erase step read: by version id in a versioned
    bucket, by ETag in any. A delete marker is no version the step could have read, but
    the request was withdrawn after it was applied: it completes."""
    if latest["ETag"] is None:
        return True
    if record.get("version_id") not in (None, latest["VersionId"]):
        return False
    return latest["ETag"] == record.get("etag")


def run_totals(records: list[dict]) -> dict[str, int]:
    """The completed requests' counts, each distinct image once (two requests may name it)."""
    images: dict[str, dict[str, int]] = {}
    for record in records:
        for digest, counts in (record.get("per_image") or {}).items():
            images.setdefault(digest, counts)
    totals = {
        "requests": len(records),
        "refused": sum(record["status"] == "refused" for record in records),
    }
    for place in COUNTED_PLACES:
        if place in IMAGE_PLACES:
            totals[place] = sum(counts[place] for counts in images.values())
        elif place in RUN_PLACES:
            totals[place] = max((record["counts"][place] for record in records), default=0)
    totals["not_found"] = sum(not any(counts.values()) for counts in images.values())
    return totals
