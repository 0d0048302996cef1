"""Every version of the erased images: the bucket is versioned, so a plain DELETE would only
add a delete marker and keep the photo as a noncurrent version."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class StoredVersions:
    versions: dict[str, list[dict[str, str]]]  # key -> its versions and delete markers
    images: frozenset[str]  # the keys that have an object version, not only delete markers


def versions_of(s3: Any, bucket: str, keys: list[str]) -> StoredVersions:
    """The object versions and delete markers of keys, with their version ids. A key
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
    """Delete them all, one DeleteObject with its VersionId each (s3:DeleteObjectVersion
    only: a plain delete, which would merely hide a photo, stays refused to the nodes); the
    count deleted. A version already gone is no error, so a retry after a killed run is
    safe. Not DeleteObjects: moto authorizes that batch against the bucket's ARN rather than
    each key's, so its IAM enforcement could not check the policy that lets this through."""
    deleted = 0
    for key_versions in stored.versions.values():
        for version in key_versions:
            s3.delete_object(Bucket=bucket, Key=version["Key"], VersionId=version["VersionId"])
            deleted += 1
    return deleted
