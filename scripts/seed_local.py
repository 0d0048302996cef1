"""Prepare a local AWS for the DAG: the bucket, the deployed artifacts, a day of sample images.

    python -m scripts.seed_local --endpoint http://localaws:4566
        [--bucket $FRUITS_DATA_BUCKET] [--region eu-west-1] [--classes 6] [--per-class 20]

The docker-compose stack's one-shot `localaws-seed` service; the UI-trigger test runs it too.
The images are backdated to yesterday noon (UTC): both the run the scheduler starts when the
DAG is unpaused and a run triggered from the UI now cover yesterday, so both find them.
Seeding again is harmless: the bucket is kept, artifacts and images are overwritten.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import boto3
from botocore.config import Config

from scripts.deploy import deploy
from scripts.fruits_sample import generate

REGION = "eu-west-1"
# Any credentials do for the local AWS; these are no secret.
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "localaws", "AWS_SECRET_ACCESS_KEY": "localaws"}


def local_client(service: str, endpoint: str, region: str = REGION):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=region,
        config=Config(s3={"addressing_style": "path"}),
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )


def upload_images(s3, folder: Path, bucket: str, last_modified: datetime | None = None) -> int:
    """Upload folder under s3://bucket/images/; last_modified plays an upload of another day."""
    extra = {}
    if last_modified:  # honoured by the local AWS only (localaws.moto_patches)
        extra = {"Metadata": {"localaws-last-modified": last_modified.isoformat()}}
    count = 0
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        key = f"images/{path.relative_to(folder).as_posix()}"
        s3.upload_file(str(path), bucket, key, ExtraArgs=extra)
        count += 1
    return count


def seed(
    s3, bucket: str, region: str, images: Path, last_modified: datetime | None = None
) -> tuple[list[str], int]:
    """Create the bucket if needed, deploy the artifacts, upload images: (artifacts, count)."""
    existing = {item["Name"] for item in s3.list_buckets()["Buckets"]}
    if bucket not in existing:
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
    deployed = deploy(f"s3://{bucket}/artifacts/", s3)
    return deployed, upload_images(s3, images, bucket, last_modified)


def noon_days_ago(days: int) -> datetime:
    return datetime.combine(datetime.now(UTC).date() - timedelta(days=days), time(12), UTC)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--endpoint", required=True, help="the local AWS, e.g. http://localaws:4566"
    )
    # The compose file passes every FRUITS_ variable, empty when .env leaves it to its default.
    parser.add_argument("--bucket", default=os.environ.get("FRUITS_DATA_BUCKET") or "fruits-data")
    parser.add_argument("--region", default=os.environ.get("FRUITS_REGION") or REGION)
    parser.add_argument(
        "--days-ago", type=int, default=1, help="upload date of the images (default: yesterday)"
    )
    parser.add_argument("--classes", type=int, default=6)
    parser.add_argument("--per-class", type=int, default=20)
    args = parser.parse_args()
    s3 = local_client("s3", args.endpoint, args.region)
    with tempfile.TemporaryDirectory(prefix="fruits-seed-") as folder:
        images = Path(folder)
        generate(images, args.classes, args.per_class)
        uploaded_at = noon_days_ago(args.days_ago)
        deployed, count = seed(s3, args.bucket, args.region, images, uploaded_at)
    print(f"deployed {len(deployed)} artifacts to s3://{args.bucket}/artifacts/", flush=True)
    print(f"uploaded {count} images to s3://{args.bucket}/images/ dated {uploaded_at}")


if __name__ == "__main__":
    main()
