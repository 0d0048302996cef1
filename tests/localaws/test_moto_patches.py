"""The local AWS's S3 where it departs from moto (localaws.moto_patches): through boto3 on a
local AWS, or on an in-process moto with one patch applied."""

from __future__ import annotations

import base64
import gc
import os
import zlib

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.s3.models import FakeKey, s3_backends

from localaws import moto_patches
from localaws.client import REGION, client
from localaws.process import LocalAws
from tests.moto_buckets import versioned_bucket

BUCKET = "patch-tests"


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    local_aws = LocalAws(tmp_path_factory.mktemp("localaws") / "localaws.log")
    s3 = client("s3", local_aws.endpoint)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    yield s3
    local_aws.stop()


@pytest.mark.slow
def test_a_copy_of_a_multipart_object_has_its_whole_contents_checksum(s3, tmp_path):
    body = os.urandom(20 * 2**20)  # three parts of boto3's transfer
    (tmp_path / "archive").write_bytes(body)
    s3.upload_file(str(tmp_path / "archive"), BUCKET, "archive")
    s3.copy_object(Bucket=BUCKET, Key="copy", CopySource={"Bucket": BUCKET, "Key": "archive"})
    copy = s3.get_object(Bucket=BUCKET, Key="copy", ChecksumMode="ENABLED")
    assert copy["Body"].read() == body  # botocore checks the checksum as it reads
    assert copy["ChecksumCRC32"] == base64.b64encode(zlib.crc32(body).to_bytes(4, "big")).decode()


class UnreadableContent:
    """Stands for a stored object's content: reading it fails the test."""

    def seek(self, *args):
        raise AssertionError("an object's content was read")

    read = seek

    def close(self):
        pass


@pytest.fixture
def listed_bucket(monkeypatch):
    """A versioned in-process bucket with the listing patch: two versions of photo.jpg, one
    of other.jpg, gone.jpg deleted (a delete marker); bucket, client and each put's ETag."""
    monkeypatch.setattr(FakeKey, "__deepcopy__", moto_patches._listed_version, raising=False)
    with versioned_bucket(BUCKET) as s3:
        puts = (
            ("photo.jpg", b"v1"),
            ("photo.jpg", b"v2!"),
            ("other.jpg", b"o"),
            ("gone.jpg", b"g"),
        )
        etags = [s3.put_object(Bucket=BUCKET, Key=key, Body=body)["ETag"] for key, body in puts]
        s3.delete_object(Bucket=BUCKET, Key="gone.jpg")
        yield s3_backends[DEFAULT_ACCOUNT_ID]["aws"].buckets[BUCKET], s3, etags


def test_listing_versions_reads_no_objects_content(listed_bucket):
    bucket, s3, etags = listed_bucket
    for _, versions in bucket.keys.iterlists():
        for version in versions:
            if isinstance(version, FakeKey):
                version._value_buffer = UnreadableContent()
    listed = s3.list_object_versions(Bucket=BUCKET)
    shown = [(v["Key"], v["IsLatest"], v["Size"], v["ETag"]) for v in listed["Versions"]]
    assert shown == [
        ("gone.jpg", False, 1, etags[3]),
        ("other.jpg", True, 1, etags[2]),
        ("photo.jpg", True, 3, etags[1]),
        ("photo.jpg", False, 2, etags[0]),
    ]
    assert [(m["Key"], m["IsLatest"]) for m in listed["DeleteMarkers"]] == [("gone.jpg", True)]


def test_listing_versions_leaves_every_version_readable(listed_bucket):
    _, s3, _ = listed_bucket
    s3.list_object_versions(Bucket=BUCKET)
    gc.collect()  # the listing's copies are gone: the stored contents must not have gone too
    listed = s3.list_object_versions(Bucket=BUCKET, Prefix="photo.jpg")["Versions"]
    bodies = [
        s3.get_object(Bucket=BUCKET, Key="photo.jpg", VersionId=v["VersionId"])["Body"].read()
        for v in listed
    ]
    assert bodies == [b"v2!", b"v1"]
