"""Every landed photo featurized once, whatever the schedule, the clocks and the state files
do, through the real DAG on the local AWS: an outage of four days caught up by one run on
one cluster, then a daily run that takes only its day, a photo from a clock ahead of UTC,
reruns of past dates that duplicate nothing, and damaged state files healed by the next run.
One local AWS; the days follow each other."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta

import pytest

from fruits_contract.landing import landing_key
from localaws.airflow_runs import asset_events
from localaws.client import LAST_MODIFIED_METADATA, read_parquet, upload_folder
from scripts.fruits_sample import generate
from tests.e2e.conftest import BUCKET

pytestmark = pytest.mark.slow
FIRST = datetime(2026, 11, 9, 10, tzinfo=UTC)  # taken by the run of 2026-11-09
OUTAGE = [FIRST + timedelta(days=n) for n in range(1, 5)]  # 11-10 to 11-13: no run
# A phone 15 minutes fast, at 23:50 UTC on the 13th: its folder is the 14th's.
AHEAD_AT = datetime(2026, 11, 13, 23, 50, tzinfo=UTC)
AHEAD_KEY = landing_key("images/", AHEAD_AT + timedelta(minutes=15), "Banana/ahead.jpg")
NEXT_DAY = datetime(2026, 11, 14, 11, tzinfo=UTC)


def features(stack):
    return read_parquet(stack.s3, BUCKET, "features/model=mobilenet_v2/")


def uploaded(stack, tmp_path_factory, moment: datetime, seed: int) -> set[str]:
    folder = tmp_path_factory.mktemp(f"day-{moment:%m-%d}")
    paths = generate(folder, classes=2, per_class=1, seed=seed, start=seed * 10)
    upload_folder(stack.s3, folder, BUCKET, "images/", moment)
    return {
        f"s3://{BUCKET}/{landing_key('images/', moment, p.relative_to(folder).as_posix())}"
        for p in paths
    }


def summary(stack, ingest_date: str) -> dict:
    key = f"features/_summary/model=mobilenet_v2/ingest_date={ingest_date}.json"
    return json.loads(stack.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())


def run_id_of(cluster: dict) -> str:
    return {tag["Key"]: tag["Value"] for tag in cluster["Tags"]}["run_id"]


@pytest.fixture(scope="module")
def outage(stack, tmp_path_factory):
    """A first day taken on time; then four days without a run, a photo from a clock ahead;
    then the run of the fifth day."""
    first = uploaded(stack, tmp_path_factory, FIRST, seed=1)
    state, tasks, _ = stack.run("2026-11-09")
    assert state == "success", tasks
    missed = set()
    for number, moment in enumerate(OUTAGE):
        missed |= uploaded(stack, tmp_path_factory, moment, seed=2 + number)
    body = generate(tmp_path_factory.mktemp("ahead"), classes=1, per_class=1, seed=9)[0]
    stack.s3.put_object(
        Bucket=BUCKET,
        Key=AHEAD_KEY,
        Body=body.read_bytes(),
        Metadata={LAST_MODIFIED_METADATA: AHEAD_AT.isoformat()},
    )
    clusters_before = len(stack.emr.list_clusters()["Clusters"])
    state, tasks, cluster = stack.run("2026-11-13")
    return {
        "first": first,
        "missed": missed | {f"s3://{BUCKET}/{AHEAD_KEY}"},
        "state": state,
        "tasks": tasks,
        "cluster": cluster,
        "clusters": len(stack.emr.list_clusters()["Clusters"]) - clusters_before,
        "features": features(stack),
    }


@pytest.fixture(scope="module")
def next_day(stack, outage, tmp_path_factory):
    own = uploaded(stack, tmp_path_factory, NEXT_DAY, seed=20)
    state, tasks, cluster = stack.run("2026-11-14")
    return {"own": own, "state": state, "tasks": tasks, "cluster": cluster}


def test_a_four_day_outage_is_caught_up_by_one_run_on_one_cluster(stack, outage):
    assert outage["state"] == "success", outage["tasks"]
    assert outage["clusters"] == 1
    table = outage["features"]
    assert table["path"].is_unique
    assert set(table["path"]) == outage["first"] | outage["missed"]
    caught_up = set(table.loc[table["ingest_date"] == "2026-11-13", "path"])
    assert caught_up == outage["missed"], "under the catch-up run's ingest date"
    landing = summary(stack, "2026-11-13")["landing"]
    assert {day: entry["timing"] for day, entry in landing.items() if entry["taken"]} == {
        "2026-11-10": "late",
        "2026-11-11": "late",
        "2026-11-12": "on_time",
        "2026-11-13": "on_time",
        "2026-11-14": "ahead",
    }
    event = asset_events(stack.environment, run_id_of(outage["cluster"]))
    assert event["fruit_features.features"]["images_featurized"] == 9
    assert event["fruit_features.features"]["landing"] == landing
    # The cluster was sized from every missed image, not from one day's.
    log = stack.log.read_text()
    assert "9 new image(s)" in log


def test_the_photo_from_a_clock_ahead_is_featurized(outage):
    assert f"s3://{BUCKET}/{AHEAD_KEY}" in set(outage["features"]["path"])


def test_the_next_days_run_takes_only_its_own_images(stack, outage, next_day):
    assert next_day["state"] == "success", next_day["tasks"]
    table = features(stack)
    assert table["path"].is_unique
    assert set(table.loc[table["ingest_date"] == "2026-11-14", "path"]) == next_day["own"]
    assert summary(stack, "2026-11-14")["featurized"] == 2


def test_reruns_of_past_dates_duplicate_nothing_and_start_no_cluster(stack, next_day):
    before = features(stack)
    clusters = len(stack.emr.list_clusters()["Clusters"])
    for date in ("2026-11-11", "2026-11-13", "2026-11-14"):
        state, tasks, cluster = stack.run(date)
        assert set(tasks.values()) == {"skipped"}, (date, state, tasks)
        assert cluster == {}
    assert len(stack.emr.list_clusters()["Clusters"]) == clusters
    after = features(stack)
    assert sorted(after["path"]) == sorted(before["path"])


def test_damaged_state_files_are_healed_by_the_next_run(stack, next_day, tmp_path_factory):
    stats = "features/_stats/model=mobilenet_v2/"
    damaged = {}
    for kind in ("day=2026-11-14.", "paths=2026-11-13."):
        (key,) = [k for k in stack.keys(stats) if k.removeprefix(stats).startswith(kind)]
        body = stack.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        stack.s3.put_object(Bucket=BUCKET, Key=key, Body=body[: len(body) // 2])
        damaged[kind] = key
    uploaded(stack, tmp_path_factory, NEXT_DAY + timedelta(days=1), seed=30)
    state, tasks, cluster = stack.run("2026-11-15")
    assert state == "success", tasks
    logs = "".join(
        gzip.decompress(stack.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()).decode()
        for key in stack.keys(f"emr-logs/{cluster['Id']}/steps/")
    )
    assert "damaged path index" in logs
    assert "damaged statistics" in logs
    for key in damaged.values():
        assert key.rsplit("/", 1)[-1] in logs
    assert "Traceback" not in logs
    table = features(stack)
    assert table["path"].is_unique
    rows = json.loads(
        stack.s3.get_object(Bucket=BUCKET, Key="pca/model=mobilenet_v2/_LATEST")["Body"].read()
    )["rows"]
    assert rows == len(table)
