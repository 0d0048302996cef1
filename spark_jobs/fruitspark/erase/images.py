"""Every version of the erased images: the bucket is versioned, so a plain DELETE would only
add a delete marker and keep the photo as a noncurrent version."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DELETE_BATCH = 1000  # DeleteObjects' limit


@dataclass(frozen=True)
class StoredVersions:
    versions: dict[str, list[dict[str, str]]]  # key -> its versions and delete markers
    images: frozenset[str]  # the keys that have an object version, not only delete markers


def versions_of(s3: Any, bucket: str, keys: list[str]) -> StoredVersions:
    """The object versions and delete markers of keys, as DeleteObjects takes them. A key
    with none (never uploaded, or already erased) is absent. One listing a key."""
    versions: dict[str, list[dict[str, str]]] = {}
    images = set()
    paginator = s3.get_paginator("list_object_versions")
    for key in keys:
        for page in paginator.paginate(Bucket=bucket, Prefix=key):
            for kind in ("Versions", "DeleteMarkers"):
                for item in page.get(kind, []):
                    if item["Key"] != key:  # the prefix also matches IMG_1.jpg.bak
                        continue
                    versions.setdefault(key, []).append(
                        {"Key": key, "VersionId": item["VersionId"]}
                    )
                    if kind == "Versions":
                        images.add(key)
    return StoredVersions(versions, frozenset(images))


def delete_versions(s3: Any, bucket: str, stored: StoredVersions) -> int:
    """Delete them all; the count deleted. A version already gone is no error (S3 answers
    success for it), so a retry after a killed run is safe."""
    objects = [version for key_versions in stored.versions.values() for version in key_versions]
    for start in range(0, len(objects), DELETE_BATCH):
        response = s3.delete_objects(
            Bucket=bucket, Delete={"Objects": objects[start : start + DELETE_BATCH], "Quiet": True}
        )
        if errors := response.get("Errors"):
            codes = sorted({error["Code"] for error in errors})
            raise PermissionError(
                f"S3 refused to delete {len(errors)} image version(s): {', '.join(codes)}"
            )
    return len(objects)
