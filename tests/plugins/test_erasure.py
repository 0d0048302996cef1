"""The DAG's completion of erasure requests, on an in-process moto S3: only the version the
erase step read and verified completes; anything else stays pending."""

from __future__ import annotations

import json

import pytest
from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from airflow.sdk.exceptions import AirflowFailException

from fruit_pipeline.erasure import complete_requests
from tests.moto_buckets import versioned_bucket

BUCKET = "fruits"
RUN = "scheduled__2026-11-21T00:00:00+00:00"
REQUEST = "erasure/requests/r-1.json"
IMAGE = "images/2026-11-20/Kiwi/a.jpg"


@pytest.fixture
def s3():
    with versioned_bucket(BUCKET) as client:
        yield client


def applied(s3, request_key: str = REQUEST, traces: dict | None = None) -> dict:
    """What the erase step records after reading the request's latest version."""
    read = s3.get_object(Bucket=BUCKET, Key=request_key)
    counts = {"images": 1, "image_versions": 1, "feature_rows": 1, "rejections": 0}
    counts |= {"pca_rows": 1}
    request = request_key.removeprefix("erasure/requests/").removesuffix(".json")
    record = {
        "request": request,
        "key": request_key,
        "version_id": read["VersionId"],
        "etag": read["ETag"],
        "received_at": "2026-11-21T08:00:00+00:00",
        "status": "erased",
        "reason": None,
        "counts": {**counts, "pca_versions_pruned": 0, "statistics_files": 2, "not_found": 0},
        "per_image": {"0123456789abcdef": counts},
        "run_id": RUN,
        "verification": {"checked_at": "2026-11-21T09:00:00+00:00", "traces": traces or {}},
        "complete": not traces,
    }
    s3.put_object(
        Bucket=BUCKET, Key=f"erasure/applied/{request}.json", Body=json.dumps(record).encode()
    )
    return record


def keys(s3, prefix: str = "erasure/") -> set[str]:
    return {
        item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
    }


def hook() -> S3Hook:
    return S3Hook(aws_conn_id=None, region_name="eu-west-1")


def test_the_version_read_completes_and_every_version_of_the_request_goes(s3):
    s3.put_object(Bucket=BUCKET, Key=REQUEST, Body=json.dumps({"images": [IMAGE]}).encode())
    s3.put_object(Bucket=BUCKET, Key=REQUEST, Body=json.dumps({"images": [IMAGE, IMAGE]}).encode())
    applied(s3)
    totals = complete_requests(hook(), f"s3://{BUCKET}/erasure/", RUN)

    assert totals["requests"] == 1
    assert keys(s3) == {"erasure/done/r-1.json"}
    assert not s3.list_object_versions(Bucket=BUCKET, Prefix=REQUEST).get("Versions")
    done = json.loads(s3.get_object(Bucket=BUCKET, Key="erasure/done/r-1.json")["Body"].read())
    assert done["verification"]["traces"] == {}
    assert IMAGE not in json.dumps(done)


def test_a_request_rewritten_after_it_was_read_stays_pending(s3):
    s3.put_object(Bucket=BUCKET, Key=REQUEST, Body=json.dumps({"images": [IMAGE]}).encode())
    applied(s3)
    rewritten = {"images": [IMAGE, "images/2026-11-20/Kiwi/b.jpg"]}
    s3.put_object(Bucket=BUCKET, Key=REQUEST, Body=json.dumps(rewritten).encode())
    totals = complete_requests(hook(), f"s3://{BUCKET}/erasure/", RUN)

    assert totals["requests"] == 0
    assert keys(s3) == {REQUEST, "erasure/applied/r-1.json"}
    current = json.loads(s3.get_object(Bucket=BUCKET, Key=REQUEST)["Body"].read())
    assert current == rewritten


def test_something_left_fails_the_task_naming_the_place_not_the_key(s3):
    s3.put_object(Bucket=BUCKET, Key=REQUEST, Body=json.dumps({"images": [IMAGE]}).encode())
    applied(s3, traces={"pca_published": 1})
    other = "erasure/requests/sub/r-1.json"
    s3.put_object(Bucket=BUCKET, Key=other, Body=json.dumps({"images": [IMAGE]}).encode())
    applied(s3, other)
    with pytest.raises(
        AirflowFailException, match=r"r-1: something left in pca_published \(1\)"
    ) as failed:
        complete_requests(hook(), f"s3://{BUCKET}/erasure/", RUN)

    assert IMAGE not in str(failed.value)
    assert keys(s3) == {REQUEST, "erasure/applied/r-1.json", "erasure/done/sub/r-1.json"}
