"""featurize's listing on the local AWS, counted at the server by moto's recorder: a daily
run's requests follow its days' folders, not the images stored before them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fruitspark.featurize.extract import list_images
from fruitspark.window import Window
from localaws.client import CREDENTIALS, REGION, client, upload_folder
from localaws.process import LocalAws
from localaws.recorder import recorded_requests
from tests.spark_jobs.photos import write

pytestmark = pytest.mark.slow
BUCKET = "fruits"
DAY = datetime(2026, 11, 20, tzinfo=UTC)


@pytest.fixture(scope="module")
def local_aws(tmp_path_factory):
    with LocalAws(tmp_path_factory.mktemp("localaws") / "localaws.log") as aws:
        s3 = client("s3", aws.endpoint)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        yield aws, s3


def listed_with_requests(endpoint: str, monkeypatch) -> tuple[list[str], int]:
    for name, value in {**CREDENTIALS, "AWS_ENDPOINT_URL": endpoint, "AWS_REGION": REGION}.items():
        monkeypatch.setenv(name, value)
    with recorded_requests(endpoint) as served:
        files = list_images(f"s3://{BUCKET}/images/", Window(DAY, DAY + timedelta(days=1)))
    keys = sorted(file.path.removeprefix(f"s3://{BUCKET}/images/") for file in files)
    return keys, sum(request.is_list_objects for request in served)


def test_a_daily_listing_costs_the_same_with_2500_older_images(local_aws, tmp_path, monkeypatch):
    aws, s3 = local_aws
    new = tmp_path / "new"
    for name in ("a.jpg", "b.jpg"):
        write(new / "Kiwi" / name, b"x")
    upload_folder(s3, new, BUCKET, "images/", DAY + timedelta(hours=9))
    alone = listed_with_requests(aws.endpoint, monkeypatch)
    # The top level, with a delimiter, then the one day folder there is.
    assert alone == (["2026-11-20/Kiwi/a.jpg", "2026-11-20/Kiwi/b.jpg"], 2)

    older = tmp_path / "older"
    for number in range(2500):  # three pages of a full listing
        write(older / "Pear" / f"{number}.jpg", b"x")
    upload_folder(s3, older, BUCKET, "images/", DAY - timedelta(days=3))
    assert listed_with_requests(aws.endpoint, monkeypatch) == alone
