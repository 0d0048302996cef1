"""The local AWS's S3 where it departs from moto (localaws.moto_patches), through boto3."""

from __future__ import annotations

import base64
import os
import zlib

import pytest

from localaws.client import REGION, client
from localaws.process import LocalAws

pytestmark = pytest.mark.slow
BUCKET = "patch-tests"


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    local_aws = LocalAws(tmp_path_factory.mktemp("localaws") / "localaws.log")
    s3 = client("s3", local_aws.endpoint)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    yield s3
    local_aws.stop()


def test_a_copy_of_a_multipart_object_has_its_whole_contents_checksum(s3, tmp_path):
    body = os.urandom(20 * 2**20)  # three parts of boto3's transfer
    (tmp_path / "archive").write_bytes(body)
    s3.upload_file(str(tmp_path / "archive"), BUCKET, "archive")
    s3.copy_object(Bucket=BUCKET, Key="copy", CopySource={"Bucket": BUCKET, "Key": "archive"})
    copy = s3.get_object(Bucket=BUCKET, Key="copy", ChecksumMode="ENABLED")
    assert copy["Body"].read() == body  # botocore checks the checksum as it reads
    assert copy["ChecksumCRC32"] == base64.b64encode(zlib.crc32(body).to_bytes(4, "big")).decode()
