"""erase's command line, parsed into one frozen value before Spark starts."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass

USAGE = """spark-submit spark_jobs/fruits_erase.py --requests s3://BUCKET/erasure/
        --images s3://BUCKET/images/ --features FEATURES_URI --pca PCA_URI --run-id ID
        [--region eu-west-1]"""


@dataclass(frozen=True)
class EraseArgs:
    requests: str  # the erasure prefix, s3://bucket/erasure/
    images: str  # the images prefix, s3://bucket/images/: every requested key is under it
    features: str  # without a trailing /
    pca: str  # the root of every model's PCA output, without a trailing /
    run_id: str  # recorded with each request it applies
    region: str | None = None  # of the bucket; boto3's own default when None

    @property
    def bucket(self) -> str:
        return _bucket_and_key(self.requests)[0]

    @property
    def requests_prefix(self) -> str:
        return _bucket_and_key(self.requests)[1]

    @property
    def images_prefix(self) -> str:
        return _bucket_and_key(self.images)[1]


def _bucket_and_key(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def s3_folder(text: str) -> str:
    """s3://bucket/ or s3://bucket/a/: the folder form erase reads with boto3."""
    if not text.startswith("s3://") or not text.endswith("/") or "/" not in text[5:]:
        raise argparse.ArgumentTypeError(f"not an s3://bucket/folder/ URI: {text!r}")
    return text


def parse_args(argv: Sequence[str]) -> EraseArgs:
    parser = argparse.ArgumentParser(
        prog="erase", usage=USAGE, description="apply the pending erasure requests"
    )
    parser.add_argument("--requests", type=s3_folder, required=True, help="erasure prefix")
    parser.add_argument("--images", type=s3_folder, required=True, help="images prefix")
    parser.add_argument("--features", required=True, help="features dataset root")
    parser.add_argument("--pca", required=True, help="root of the models' PCA outputs")
    parser.add_argument("--run-id", required=True, help="the Airflow run applying them")
    parser.add_argument("--region", help="the bucket's region (default: boto3's)")
    parsed = parser.parse_args(argv)
    args = EraseArgs(
        parsed.requests,
        parsed.images,
        parsed.features.rstrip("/"),
        parsed.pca.rstrip("/"),
        parsed.run_id,
        parsed.region,
    )
    if _bucket_and_key(args.images)[0] != args.bucket:
        parser.error("--images and --requests must be in one bucket: requests name its keys")
    return args
