"""The pending erasure requests, read and validated, and the records of what erase did.

A request is the version of its object that was read: its id, version id and ETag go into the
applied record, and the DAG completes it only while that version is still the latest
(fruits_contract.erasure). A request that cannot be applied (not JSON, no images, a key
outside the images prefix) is refused whole, with a reason that names no key: it is never
half-applied, and it never stops the others.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from fruits_contract.erasure import (
    APPLIED,
    COUNTED_PLACES,
    IMAGE_PLACES,
    REQUESTS,
    RUN_PLACES,
    is_request_key,
    record_key,
    request_id,
)

MAX_REQUEST_BYTES = 1024 * 1024
MAX_IMAGES = 10_000  # a request's images; more is refused, as an upload gone wrong would be


class ErasureRequest(BaseModel):
    """A request's body: {"images": ["images/2026-12-01/Banana/IMG_0001.jpg", ...]}. The
    images prefix comes in the validation context."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    images: list[str] = Field(min_length=1, max_length=MAX_IMAGES)

    @field_validator("images")
    @classmethod
    def _under_the_images_prefix(cls, images: list[str], info: ValidationInfo) -> list[str]:
        if info.context is None:
            raise ValueError("requests are validated against the images prefix: none given")
        prefix = info.context["images_prefix"]
        for position, key in enumerate(images):
            if not key.startswith(prefix) or key == prefix or key.endswith("/"):
                # The key itself stays out of the message: the reason is recorded and logged.
                raise ValueError(f"images[{position}] is not an object key under {prefix}")
        return sorted(set(images))


@dataclass(frozen=True)
class PendingRequest:
    id: str
    key: str
    received_at: str  # the request object's LastModified, ISO 8601
    images: tuple[str, ...]  # the keys to erase; empty when refused
    refusal: str | None = None
    version_id: str | None = None  # of the object read; None in an unversioned bucket
    etag: str | None = None


def refusal_of(error: ValidationError) -> str:
    """Pydantic's errors without the input values, which hold the keys."""
    return "; ".join(
        f"{'.'.join(str(part) for part in problem['loc']) or 'body'}: "
        f"{problem['msg'].removeprefix('Value error, ')}"
        for problem in error.errors(include_input=False, include_url=False)
    )


def parse(body: bytes, images_prefix: str) -> tuple[tuple[str, ...], str | None]:
    """(the keys, None), or ((), the reason the body is refused)."""
    try:
        request = ErasureRequest.model_validate_json(body, context={"images_prefix": images_prefix})
    except ValidationError as error:
        return (), refusal_of(error)
    return tuple(request.images), None


def pending_requests(s3: Any, bucket: str, erasure_prefix: str, images_prefix: str):
    """Every request under <erasure prefix>requests/, parsed from the version read now."""
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=erasure_prefix + REQUESTS
    )
    for item in (item for page in pages for item in page.get("Contents", [])):
        key = item["Key"]
        if not is_request_key(key, erasure_prefix):
            continue  # a folder marker, or a file that is no request
        request = PendingRequest(
            request_id(key, erasure_prefix),
            key,
            item["LastModified"].astimezone(UTC).isoformat(),
            (),
        )
        if item["Size"] > MAX_REQUEST_BYTES:
            yield _refused(request, f"larger than {MAX_REQUEST_BYTES} bytes", item)
            continue
        read = s3.get_object(Bucket=bucket, Key=key)
        images, refusal = parse(read["Body"].read(), images_prefix)
        yield PendingRequest(
            request.id,
            key,
            read["LastModified"].astimezone(UTC).isoformat(),
            images,
            refusal,
            read.get("VersionId"),
            read["ETag"],
        )


def _refused(request: PendingRequest, reason: str, listed: dict) -> PendingRequest:
    """Refused on its listing: the version is the one listed (the ETag says which)."""
    return PendingRequest(
        request.id, request.key, request.received_at, (), reason, None, listed["ETag"]
    )


def read_applied(s3: Any, bucket: str, erasure_prefix: str, request: str) -> dict | None:
    """The record an earlier try wrote for request; None when there is none."""
    try:
        body = s3.get_object(Bucket=bucket, Key=record_key(erasure_prefix, APPLIED, request))
    except s3.exceptions.NoSuchKey:
        return None
    return json.loads(body["Body"].read())


def applied_record(
    request: PendingRequest,
    found: dict[str, dict[str, int]],
    run_counts: dict[str, int],
    run_id: str,
    earlier: dict | None,
) -> dict:
    """What erase did for request in this run. found: image digest -> its counts per place,
    measured before anything was deleted. An image that an earlier try of the request (of
    this or an older version of it) measured keeps those counts: its deletion may have begun.
    So do run_counts (the older PCA versions and statistics files), if larger.
    """
    now = datetime.now(UTC).isoformat(timespec="seconds")
    per_image = {**found, **((earlier or {}).get("per_image") or {})}
    per_image = {digest: per_image[digest] for digest in sorted(found)}
    counts = {place: sum(image[place] for image in per_image.values()) for place in IMAGE_PLACES}
    before = (earlier or {}).get("counts", {})
    counts.update(
        {place: max(run_counts.get(place, 0), before.get(place, 0)) for place in RUN_PLACES}
    )
    counts["not_found"] = sum(not any(image.values()) for image in per_image.values())
    return {
        "request": request.id,
        "key": request.key,  # of the request object: erasure/requests/<id>.json
        "version_id": request.version_id,
        "etag": request.etag,
        "received_at": request.received_at,
        "status": status(request, counts),
        "reason": request.refusal,
        "counts": {place: counts[place] for place in COUNTED_PLACES},
        "per_image": per_image,  # digest -> counts: no key
        "first_applied_at": (earlier or {}).get("first_applied_at", now),
        "applied_at": now,
        "run_id": run_id,
        "verification": None,  # the second scan's, once the deletions are done
        "complete": False,  # until every deletion of the run is done and verified
    }


def status(request: PendingRequest, counts: dict[str, int]) -> str:
    """refused; not_found when none of its images was anywhere; else erased."""
    if request.refusal:
        return "refused"
    return "not_found" if counts["not_found"] == len(request.images) else "erased"


def write_applied(s3: Any, bucket: str, erasure_prefix: str, record: dict) -> None:
    s3.put_object(
        Bucket=bucket,
        Key=record_key(erasure_prefix, APPLIED, record["request"]),
        Body=json.dumps(record, indent=2).encode(),
        ContentType="application/json",
    )
