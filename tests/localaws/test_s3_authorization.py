"""DeleteObjects under IAM enforcement, authorized key by key as S3 does
(localaws.s3_authorization, applied by tests/conftest.py)."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws
from moto.core.authorization import enable_iam_authentication

BUCKET = "deletes"
REGION = "eu-west-1"


def policy(*statements: tuple[str, str]) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": action, "Resource": f"arn:aws:s3:::{BUCKET}/{keys}"}
                for action, keys in statements
            ],
        }
    )


@pytest.fixture
def caller(monkeypatch):
    """An S3 client of a user allowed to delete requests/* objects, and their versions
    under versions/* only; and the admin's client."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    with mock_aws():
        admin = boto3.client("s3", region_name=REGION)
        admin.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        admin.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        iam = boto3.client("iam", region_name=REGION)
        iam.create_user(UserName="deleter")
        iam.put_user_policy(
            UserName="deleter",
            PolicyName="deletes",
            PolicyDocument=policy(
                ("s3:DeleteObject", "requests/*"),
                ("s3:DeleteObject", "versions/*"),
                ("s3:DeleteObjectVersion", "versions/*"),
            ),
        )
        key = iam.create_access_key(UserName="deleter")["AccessKey"]
        user = boto3.client(
            "s3",
            region_name=REGION,
            aws_access_key_id=key["AccessKeyId"],
            aws_secret_access_key=key["SecretAccessKey"],
        )
        yield admin, user


def keys(admin) -> set[str]:
    return {item["Key"] for item in admin.list_objects_v2(Bucket=BUCKET).get("Contents", [])}


def test_each_key_is_authorized_on_its_own_object(caller):
    admin, user = caller
    for key in ("requests/a.json", "requests/b.json", "images/kept.jpg"):
        admin.put_object(Bucket=BUCKET, Key=key, Body=b"x")
    doomed = [{"Key": key} for key in ("requests/a.json", "requests/b.json", "images/kept.jpg")]
    with enable_iam_authentication():
        answer = user.delete_objects(Bucket=BUCKET, Delete={"Objects": doomed})
    assert {item["Key"] for item in answer["Deleted"]} == {"requests/a.json", "requests/b.json"}
    assert [(item["Key"], item["Code"]) for item in answer["Errors"]] == [
        ("images/kept.jpg", "AccessDenied")
    ]
    assert keys(admin) == {"images/kept.jpg"}


def test_a_named_version_needs_delete_object_version(caller):
    admin, user = caller
    versions = {
        prefix: admin.put_object(Bucket=BUCKET, Key=f"{prefix}/r.json", Body=b"x")["VersionId"]
        for prefix in ("requests", "versions")
    }
    doomed = [
        {"Key": f"{prefix}/r.json", "VersionId": version} for prefix, version in versions.items()
    ]
    with enable_iam_authentication():
        answer = user.delete_objects(Bucket=BUCKET, Delete={"Objects": doomed})
    assert [item["Key"] for item in answer["Deleted"]] == ["versions/r.json"]
    assert [item["Key"] for item in answer["Errors"]] == ["requests/r.json"]
    assert keys(admin) == {"requests/r.json"}
