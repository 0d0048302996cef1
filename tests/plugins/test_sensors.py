"""NewImagesSensor: what counts as a new image, and how it waits between pokes."""

from __future__ import annotations

import asyncio
import importlib
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from unittest import mock

import boto3
import pytest
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException, TaskDeferred

from fruit_pipeline.sensors import NewImagesSensor, NextLookTrigger
from fruits_contract.landing import FolderSeen, LandingState

START = datetime(2026, 11, 20, tzinfo=UTC)
END = START + timedelta(days=1)
CONTEXT = {
    "data_interval_start": START,
    "data_interval_end": END,
    "params": {"mode": "incremental", "k": None},
    "dag": SimpleNamespace(params={"mode": "incremental", "k": None}),
    "dag_run": SimpleNamespace(conf={}),
}


@pytest.fixture
def sensor():
    return NewImagesSensor(
        task_id="wait",
        bucket_key="s3://b/images/*",
        erasure_requests="s3://b/erasure/requests/",
        landing_state="s3://b/features/_landing/model=mobilenet_v2.json",
        timeout=600,
        poke_interval=60,
        soft_fail=True,
    )


def test_nothing_new_defers_on_a_timer_until_a_deadline(sensor):
    with (
        mock.patch.object(sensor, "poke", return_value=False),
        pytest.raises(TaskDeferred) as deferred,
    ):
        sensor.execute(CONTEXT)
    trigger = deferred.value.trigger
    assert isinstance(trigger, NextLookTrigger)
    assert deferred.value.method_name == "resume"
    assert not deferred.value.kwargs, "dag.test() would drop them"
    assert timedelta(seconds=55) < trigger.moment - datetime.now(UTC) <= timedelta(seconds=60)
    deadline = datetime.fromisoformat(trigger.deadline)
    assert timedelta(seconds=590) < deadline - datetime.now(UTC) <= timedelta(seconds=600)


def test_the_trigger_fires_with_the_deadline_as_its_event_and_survives_serialization():
    moment = datetime.now(UTC) + timedelta(milliseconds=200)
    classpath, kwargs = NextLookTrigger(moment, deadline="2026-12-02T06:00:00+00:00").serialize()
    assert classpath == "fruit_pipeline.sensors.NextLookTrigger"
    module, _, name = classpath.rpartition(".")
    trigger = getattr(importlib.import_module(module), name)(**kwargs)  # as the triggerer does

    async def first_event():
        async for event in trigger.run():
            return event

    event = asyncio.run(first_event())
    assert event.payload == {"deadline": "2026-12-02T06:00:00+00:00"}
    assert datetime.now(UTC) >= moment


def test_resuming_before_the_deadline_pokes_again(sensor):
    later = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    sensor.found = {"images": 1, "bytes": 9, "erasure_requests": 0}
    with mock.patch.object(sensor, "poke", return_value=True) as poke:
        assert sensor.resume(CONTEXT, event={"deadline": later}) == sensor.found
    poke.assert_called_once()


def test_past_the_deadline_the_run_is_skipped(sensor):
    past = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    with (
        mock.patch.object(sensor, "poke", return_value=False),
        pytest.raises(AirflowSkipException, match="no new image under s3://b/images/"),
    ):
        sensor.resume(CONTEXT, event={"deadline": past})


def test_an_unknown_trigger_param_fails_the_run_before_any_listing(sensor):
    # Airflow merges the conf into the context's params: the DAG's declared ones decide.
    misspelt = {
        **CONTEXT,
        "params": {"mode": "full", "k": None, "K": 5},
        "dag_run": SimpleNamespace(conf={"K": 5, "mode": "full"}),
    }
    with (
        mock.patch.object(sensor, "poke") as poke,
        pytest.raises(
            AirflowFailException, match=r"unknown trigger param\(s\): K; this DAG takes k, mode"
        ),
    ):
        sensor.execute(misspelt)
    poke.assert_not_called()


STATE_KEY = "features/_landing/model=mobilenet_v2.json"


@pytest.fixture
def bucket(monkeypatch):
    """An in-process S3 (moto) holding images of three days and one flat class folder."""
    from moto import mock_aws

    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    with mock_aws():
        s3 = boto3.client("s3", region_name="eu-west-1")
        s3.create_bucket(
            Bucket="fruits", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        for key in (
            "images/2026-11-10/Kiwi/old.jpg",
            "images/2026-11-19/Kiwi/yesterday.jpg",
            "images/2026-11-21/Kiwi/tomorrow.jpg",
        ):
            s3.put_object(Bucket="fruits", Key=key, Body=b"x")
        yield s3


def watching(**kwargs) -> NewImagesSensor:
    return NewImagesSensor(
        task_id="wait",
        bucket_key="s3://fruits/images/*",
        erasure_requests="s3://fruits/erasure/requests/",
        landing_state=f"s3://fruits/{STATE_KEY}",
        aws_conn_id=None,
        **kwargs,
    )


def poking(sensor, context) -> tuple[bool, list[str], dict]:
    """The poke's result, the prefixes it listed (each request once), and its tally."""
    context = {**context, "ti": mock.Mock()}
    listed = []
    sensor.hook.get_conn().meta.events.register(
        "before-call.s3.ListObjectsV2",
        lambda params, **_: listed.append(
            params["query_string"]["prefix"]
            + ("+/" if params["query_string"].get("delimiter") else "")
        ),
    )
    found = sensor.poke(context)
    tally = {"images": sensor.found["images"], "bytes": sensor.found["bytes"]}
    return found, listed, tally if found else None


def listed_state(bucket, closed_through: str, folders: dict[str, int]) -> None:
    """The state featurize leaves: these folders listed now, with that many images."""
    now = datetime.now(UTC).isoformat()
    state = LandingState(
        closed_through, {name: FolderSeen(count, now) for name, count in folders.items()}
    )
    bucket.put_object(Bucket="fruits", Key=STATE_KEY, Body=state.to_json().encode())


def test_before_any_run_every_landed_image_is_new(bucket):
    found, listed, tally = poking(watching(), CONTEXT)
    assert found
    assert tally == {"images": 3, "bytes": 3}
    assert {"images/2026-11-10/", "images/2026-11-19/", "images/2026-11-21/"} <= set(listed)


def test_a_poke_lists_only_the_open_folders_and_wakes_for_what_landed_since(bucket):
    """Folders up to the state's closed one are never listed; an open folder's images are
    new when they landed after featurize listed it, or when it holds more than it did."""
    listed_state(bucket, "2026-11-18", {"2026-11-19": 1, "2026-11-21": 1, "": 0})
    requests = "erasure/requests/"
    assert poking(watching(), CONTEXT)[:2] == (
        False,
        [requests, "images/+/", "images/+/", "images/2026-11-19/", "images/2026-11-21/"],
    )
    # A client clock ahead of UTC, or an outage: any open folder, whatever the run's date.
    bucket.put_object(Bucket="fruits", Key="images/2026-11-22/Kiwi/ahead.jpg", Body=b"xx")
    found, listed, tally = poking(watching(), CONTEXT)
    assert (found, tally) == (True, {"images": 1, "bytes": 2})
    assert "images/2026-11-10/" not in listed
    bucket.put_object(Bucket="fruits", Key="images/2026-11-10/Kiwi/late.jpg", Body=b"x")
    assert poking(watching(), CONTEXT)[2] == {"images": 1, "bytes": 2}, "a closed folder"


@pytest.mark.parametrize("folder", ["Fruits [2024]", "Apple?", "Kiwi #2"])
def test_a_legacy_folder_is_listed_literally_and_wakes_the_sensor(bucket, folder):
    listed_state(bucket, "2026-11-21", {"": 0})
    bucket.put_object(Bucket="fruits", Key=f"images/{folder}/a.jpg", Body=b"xyz")
    found, listed, tally = poking(watching(), CONTEXT)
    assert (found, tally) == (True, {"images": 1, "bytes": 3})
    assert f"images/{folder}/" in listed


def test_a_pending_erasure_request_is_a_reason_to_run_without_images(bucket):
    """A day with no new image but a request: the sensor fires, and its XCom counts the
    request, which makes plan_cluster start the steps with erase."""
    listed_state(bucket, "2026-11-21", {"": 0})
    sensor = watching()
    assert sensor.poke(CONTEXT) is False
    assert sensor.found["erasure_requests"] == 0
    # What the S3 console's "Create folder" writes, and a file that is no request: no run.
    bucket.put_object(Bucket="fruits", Key="erasure/requests/", Body=b"")
    bucket.put_object(Bucket="fruits", Key="erasure/requests/readme.txt", Body=b"notes")
    assert sensor.poke(CONTEXT) is False
    bucket.put_object(Bucket="fruits", Key="erasure/requests/r-1.json", Body=b"{}")
    assert sensor.poke(CONTEXT) is True
    assert sensor.found == {"images": 0, "bytes": 0, "erasure_requests": 1}


def test_what_it_found_is_the_tasks_return_value_for_plan_cluster(bucket):
    listed_state(bucket, "2026-11-18", {"2026-11-19": 1, "2026-11-21": 1, "": 0})
    bucket.put_object(Bucket="fruits", Key="images/2026-11-21/Kiwi/new.jpg", Body=b"xy")
    found = watching(timeout=0, poke_interval=1).execute(CONTEXT)
    assert (found["images"], found["erasure_requests"]) == (1, 0)


def test_full_and_reconcile_runs_count_every_image_but_appledouble_files(bucket):
    listed_state(bucket, "2026-11-21", {"": 0})
    bucket.put_object(Bucket="fruits", Key="images/Banana/flat.jpg", Body=b"x" * 200)
    bucket.put_object(Bucket="fruits", Key="images/Banana/notes.txt", Body=b"x" * 50)
    bucket.put_object(Bucket="fruits", Key="images/Banana/._flat.jpg", Body=b"x" * 50)
    for mode in ("full", "reconcile"):
        context = {**CONTEXT, "params": {**CONTEXT["params"], "mode": mode}}
        assert poking(watching(), context)[2] == {"images": 4, "bytes": 203}
