"""An in-process moto S3 bucket, versioned as infra/fruits-pipeline.yaml makes the data bucket:
an erasure must find and delete every version."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import boto3
from moto import mock_aws

from fruits_contract.artifacts import ARCHITECTURES, NODE_ENV_MANIFEST, node_env_archive

REGION = "eu-west-1"


@contextmanager
def versioned_bucket(name: str) -> Iterator:
    """A boto3 S3 client, with the bucket `name` created and versioned."""
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
        client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        yield client


def put_node_env_manifest(s3, bucket: str, artifacts_prefix: str = "artifacts/") -> dict:
    """A manifest of the nodes' environment as scripts.deploy writes it, naming archives
    never built: for runs whose EMR is moto's, which never runs a bootstrap action."""
    digests = {"x86_64": "8" * 64, "aarch64": "a" * 64}  # the tests expect these
    manifest = {
        "python": "3.11",
        "requirements_sha256": "0" * 64,
        "archives": {
            name: {
                "key": node_env_archive(name, digests[name]),
                "sha256": digests[name],
                "bytes": 1,
            }
            for name in ARCHITECTURES
        },
    }
    s3.put_object(
        Bucket=bucket, Key=artifacts_prefix + NODE_ENV_MANIFEST, Body=json.dumps(manifest)
    )
    return manifest
