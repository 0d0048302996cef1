"""Where this local AWS's S3 authorization departs from moto's: DeleteObjects is authorized
key by key, as S3 does.

S3 performs a multi-object delete as one delete per key, authorized and answered per key:
s3:DeleteObject on the object's ARN, or s3:DeleteObjectVersion when a version is named; a
key the caller may not delete comes back in the response's Errors as AccessDenied, and the
others are deleted. moto authorizes the whole request once, as s3:DeleteObject on the
bucket's ARN: under its IAM enforcement, a policy that grants deletes on a prefix's objects
(as infra/fruits-pipeline.yaml does) would see every key refused. Applied by the local AWS's
server and by the tests that enforce IAM in-process (tests/conftest.py).
"""

from __future__ import annotations

from typing import Any

import xmltodict
from moto.core.responses import ActionResult
from moto.iam.access_control import PermissionResult
from moto.s3.exceptions import BucketAccessDeniedError, MalformedXML, S3AccessDeniedError
from moto.s3.responses import S3Response


def authorized(response: S3Response, bucket: Any, bucket_name: str, item: dict) -> bool:
    """Whether the caller may delete this key (or this version of it): its IAM policy, then
    the bucket's policy, as moto checks them for a single DeleteObject."""
    action = "DeleteObjectVersion" if item.get("VersionId") else "DeleteObject"
    response.data["Action"] = action
    try:
        response._authenticate_and_authorize_s3_action(
            bucket_name=bucket_name, key_name=item["Key"]
        )
    except (BucketAccessDeniedError, S3AccessDeniedError):
        return False
    resource = f"arn:aws:s3:::{bucket_name}/{item['Key']}"
    return bucket.get_permission(f"s3:{action}", resource) != PermissionResult.DENIED


def delete_keys_one_by_one(self: S3Response, bucket_name: str, authenticated: bool = True) -> Any:
    """moto's _bucket_response_delete_keys, each key authorized on its own; `authenticated`
    (moto's bucket-wide check) is not what S3 decides by."""
    objects = xmltodict.parse(self.body, strip_whitespace=False)["Delete"].get("Object", [])
    objects = objects if isinstance(objects, list) else [objects]
    if not objects:
        raise MalformedXML()
    bypass = self.headers.get("x-amz-bypass-governance-retention", "").lower() == "true"
    bucket = self.backend.get_bucket(bucket_name)
    allowed, errors = [], []
    for item in objects:
        if authorized(self, bucket, bucket_name, item):
            allowed.append(item)
        else:
            errors.append({"Key": item["Key"], "Code": "AccessDenied", "Message": "Access Denied"})
    deleted, locked = self.backend.delete_objects(bucket_name, allowed, bypass)
    errors += [
        {"Key": key, "Code": "AccessDenied", "Message": "Access Denied because object locked"}
        for key in locked
    ]
    self.data["Action"] = "DeleteObjects"
    return self.serialized(
        ActionResult(
            {
                "Deleted": [
                    {
                        "Key": key,
                        "VersionId": version or None,
                        "DeleteMarkerVersionId": marker or None,
                        "DeleteMarker": True if marker else None,
                    }
                    for key, version, marker in deleted
                ],
                "Errors": errors,
            }
        )
    )


def apply() -> None:
    S3Response._bucket_response_delete_keys = delete_keys_one_by_one
