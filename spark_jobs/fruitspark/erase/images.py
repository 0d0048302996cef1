"""Every version of the erased images: the bucket is versioned, so a plain DELETE would only
add a delete marker and keep the photo as a noncurrent version. A requested key matches its
stored keys in every Unicode normalization (fruits_contract.erasure.key_variants)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fruits_contract.erasure import key_variants


@dataclass(frozen=True)
class StoredVersions:
    versions: dict[str, list[dict[str, str]]]  # stored key -> its versions and delete markers
    images: frozenset[str]  # the stored keys that have an object version, not only markers

    def of(self, requested: str) -> tuple[int, int]:
        """(1 if any form of the requested key is an image, else 0; its versions and
        markers in all forms)."""
        forms = key_variants(requested)
        return (
            int(any(form in self.images for form in forms)),
            sum(len(self.versions.get(form, ())) for form in forms),
        )

    @property
    def count(self) -> int:
        return sum(len(versions) for versions in self.versions.values())


def versions_of(s3: Any, bucket: str, keys: list[str]) -> StoredVersions:
    """The object versions and delete markers of every form of keys, with their version ids.
    A key with none (never uploaded, or already erased) is absent. One listing a form."""
    versions: dict[str, list[dict[str, str]]] = {}
    images = set()
    paginator = s3.get_paginator("list_object_versions")
    for stored_key in sorted({form for key in keys for form in key_variants(key)}):
        for page in paginator.paginate(Bucket=bucket, Prefix=stored_key):
            for kind in ("Versions", "DeleteMarkers"):
                for item in page.get(kind, []):
                    if item["Key"] != stored_key:  # the prefix also matches IMG_1.jpg.bak
                        continue
                    versions.setdefault(stored_key, []).append(
                        {"Key": stored_key, "VersionId": item["VersionId"]}
                    )
                    if kind == "Versions":
                        images.add(stored_key)
    return StoredVersions(versions, frozenset(images))


def delete_versions(s3: Any, bucket: str, stored: StoredVersions) -> int:
    """Delete them all, one DeleteObject with its VersionId each (s3:DeleteObjectVersion
    only: a plain delete, which would merely hide a photo, stays refused to the nodes); the
    count deleted. A version already gone is no error, so a retry after a killed run is
    safe. Not DeleteObjects: moto authorizes that batch against the bucket's ARN rather than
    each key's, so its IAM enforcement could not check the policy that lets this through."""
    for versions in stored.versions.values():
        for version in versions:
            s3.delete_object(Bucket=bucket, Key=version["Key"], VersionId=version["VersionId"])
    return stored.count
