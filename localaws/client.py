"""Talking to a running local AWS: boto3 clients, uploads dated another day, Parquet reads."""

from __future__ import annotations

import io
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pandas as pd
from botocore.config import Config

from fruits_contract.landing import landing_key
from fruits_contract.layout import LATEST, published_folders

REGION = "eu-west-1"
# Any credentials do for the local AWS; these are no secret.
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "localaws",
    "AWS_SECRET_ACCESS_KEY": "localaws",  # pragma: allowlist secret (any will do)
}
# Honoured by the local AWS only (localaws.moto_patches): the object's LastModified.
LAST_MODIFIED_METADATA = "localaws-last-modified"
UPLOAD_THREADS = 8


def client(service: str, endpoint: str, region: str = REGION):
    """A boto3 client for the local AWS at endpoint, e.g. http://127.0.0.1:4566."""
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=region,
        config=Config(s3={"addressing_style": "path"}),
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )


def upload_folder(
    s3,
    folder: Path,
    bucket: str,
    prefix: str,
    uploaded_at: datetime | None = None,
    *,
    last_modified: datetime | None = None,
) -> int:
    """Upload every file of folder as images uploaded at uploaded_at (default: now), in the
    landing layout (fruits_contract.landing): s3://bucket/<prefix><YYYY-MM-DD>/<its path in
    folder>. A time other than now also plays the objects' LastModified on the local AWS,
    for another day's images. last_modified is uploaded_at's earlier name."""
    uploaded_at = uploaded_at or last_modified
    extra = {}
    if uploaded_at:
        extra["Metadata"] = {LAST_MODIFIED_METADATA: uploaded_at.isoformat()}
    day = uploaded_at or datetime.now(UTC)
    paths = sorted(path for path in folder.rglob("*") if path.is_file())

    def upload(path: Path) -> None:
        key = landing_key(prefix, day, path.relative_to(folder).as_posix())
        s3.upload_file(str(path), bucket, key, ExtraArgs=extra)

    # boto3 clients are thread-safe; one request at a time would take minutes for 20,000 files.
    with ThreadPoolExecutor(max_workers=UPLOAD_THREADS) as pool:
        list(pool.map(upload, paths))
    return len(paths)


def read_parquet(s3, bucket: str, prefix: str) -> pd.DataFrame:
    """Every Parquet file under s3://bucket/prefix, as one DataFrame.

    As Spark reads a dataset: folders starting with _ or . (_model/, _rejected/) are not
    part of it, and Hive-style folders (model=x/ingest_date=y/) become columns.
    """
    keys = [
        item["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for item in page.get("Contents", [])
        if item["Key"].endswith(".parquet")
        and not any(part.startswith(("_", ".")) for part in item["Key"][len(prefix) :].split("/"))
    ]
    frames = [
        pd.read_parquet(io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read())).assign(
            **dict(part.split("=", 1) for part in key.split("/")[:-1] if "=" in part)
        )
        for key in keys
    ]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def latest_manifest(s3, bucket: str, root: str) -> dict:
    """root/_LATEST: the published version, and the folders of its rows."""
    return json.loads(s3.get_object(Bucket=bucket, Key=f"{root}{LATEST}")["Body"].read())


def latest_version(s3, bucket: str, root: str) -> str:
    """The key prefix of the version that root/_LATEST publishes, e.g. "pca/model=x/v=…/"."""
    return f"{root}{latest_manifest(s3, bucket, root)['version']}/"


def read_latest(s3, bucket: str, root: str) -> pd.DataFrame:
    """The rows of the published version under root (a prefix ending in /): the folders its
    manifest names, not whatever else the version's folder holds."""
    frames = [
        read_parquet(s3, bucket, f"{root}{folder}/")
        for folder in published_folders(latest_manifest(s3, bucket, root))
    ]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
