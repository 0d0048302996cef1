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

from fruits_contract.cnns import DEFAULT_CNN
from fruits_contract.landing import day_folder
from localaws.client import REGION, client, upload_folder
from scripts.deploy import deploy
from scripts.fruits_sample import generate
from scripts.keras_export import Weights

IMAGES_PREFIX = "images/"


def seed(
    s3, bucket: str, region: str, images: Path, last_modified: datetime | None = None
) -> tuple[list[str], int]:
    """Create the bucket if needed, deploy the artifacts, upload images: (artifacts, count)."""
    existing = {item["Name"] for item in s3.list_buckets()["Buckets"]}
    if bucket not in existing:
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
    deployed = deploy(f"s3://{bucket}/artifacts/", s3, Weights("random"), [DEFAULT_CNN])
    return deployed, upload_folder(s3, images, bucket, IMAGES_PREFIX, last_modified)


def noon_days_ago(days: int) -> datetime:
    return datetime.combine(datetime.now(UTC).date() - timedelta(days=days), time(12), UTC)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--endpoint", required=True, help="the local AWS, e.g. http://localaws:4566"
    )
    # The compose file passes every FRUITS_ variable, empty when .env leaves it to its default.
    parser.add_argument("--bucket", default=os.environ.get("FRUITS_DATA_BUCKET") or "fruits-data")
    parser.add_argument("--region", default=REGION)
    parser.add_argument(
        "--days-ago", type=int, default=1, help="upload date of the images (default: yesterday)"
    )
    parser.add_argument("--classes", type=int, default=6)
    parser.add_argument("--per-class", type=int, default=20)
    args = parser.parse_args()
    s3 = client("s3", args.endpoint, args.region)
    with tempfile.TemporaryDirectory(prefix="fruits-seed-") as folder:
        images = Path(folder)
        generate(images, args.classes, args.per_class)
        uploaded_at = noon_days_ago(args.days_ago)
        deployed, count = seed(s3, args.bucket, args.region, images, uploaded_at)
    print(f"deployed {len(deployed)} artifacts to s3://{args.bucket}/artifacts/", flush=True)
    landed = f"s3://{args.bucket}/{IMAGES_PREFIX}{day_folder(uploaded_at)}/"
    print(f"uploaded {count} images to {landed}, dated {uploaded_at}")


if __name__ == "__main__":
    main()
