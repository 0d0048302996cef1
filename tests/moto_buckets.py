"""An in-process moto S3 bucket, versioned as infra/fruits-pipeline.yaml makes the data bucket:
an erasure must find and delete every version."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import boto3
from moto import mock_aws

REGION = "eu-west-1"


@contextmanager
def versioned_bucket(name: str) -> Iterator:
    """A boto3 S3 client, with the bucket `name` created and versioned."""
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
        client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        yield client
