"""The pending erasure requests, read and validated, and the records of what erase did.

A request that cannot be applied (not JSON, no images, a key outside the images prefix) is
refused whole, with a reason that names no key: it is never half-applied, and it never
stops the others.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from fruits_contract.erasure import APPLIED, RECORD_SUFFIX, REQUESTS, record_key, request_id

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
    """Every request under <erasure prefix>requests/, parsed."""
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=erasure_prefix + REQUESTS
    )
    for item in (item for page in pages for item in page.get("Contents", [])):
        key, received = item["Key"], item["LastModified"].astimezone(UTC).isoformat()
        if key.endswith("/"):
            continue  # a folder marker
        if not key.endswith(RECORD_SUFFIX) or "/" in key.removeprefix(erasure_prefix + REQUESTS):
            yield PendingRequest(
                request_id(key), key, received, (), f"not a {REQUESTS}<id>{RECORD_SUFFIX} file"
            )
            continue
        if item["Size"] > MAX_REQUEST_BYTES:
            yield PendingRequest(
                request_id(key), key, received, (), f"larger than {MAX_REQUEST_BYTES} bytes"
            )
            continue
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        images, refusal = parse(body, images_prefix)
        yield PendingRequest(request_id(key), key, received, images, refusal)


def read_applied(s3: Any, bucket: str, erasure_prefix: str, request: str) -> dict | None:
    """The record an earlier try wrote for request; None when there is none."""
    try:
        body = s3.get_object(Bucket=bucket, Key=record_key(erasure_prefix, APPLIED, request))
    except s3.exceptions.NoSuchKey:
        return None
    return json.loads(body["Body"].read())


def applied_record(
    request: PendingRequest, counts: dict[str, int], run_id: str, earlier: dict | None
) -> dict:
    """What erase did for request in this run. The counts are those measured before
    anything was deleted: by an earlier try that got that far, if any."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    return {
        "request": request.id,
        "key": request.key,  # of the request object: erasure/requests/<id>.json
        "received_at": request.received_at,
        "status": "refused" if request.refusal else "erased",
        "reason": request.refusal,
        "counts": earlier["counts"] if earlier else counts,
        "first_applied_at": earlier["first_applied_at"] if earlier else now,
        "applied_at": now,
        "run_id": run_id,
        "complete": False,  # until every deletion of the run is done
    }


def write_applied(s3: Any, bucket: str, erasure_prefix: str, record: dict) -> None:
    s3.put_object(
        Bucket=bucket,
        Key=record_key(erasure_prefix, APPLIED, record["request"]),
        Body=json.dumps(record, indent=2).encode(),
        ContentType="application/json",
    )
