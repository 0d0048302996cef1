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

from fruit_pipeline.sensors import NewImagesSensor, NextLookTrigger, has_new_images

START = datetime(2026, 11, 20, tzinfo=UTC)
END = START + timedelta(days=1)
CONTEXT = {
    "data_interval_start": START,
    "data_interval_end": END,
    "params": {"mode": "incremental", "k": None},
    "dag": SimpleNamespace(params={"mode": "incremental", "k": None}),
    "dag_run": SimpleNamespace(conf={}),
}


def listed(key: str, modified: datetime) -> dict:
    return {"Key": key, "LastModified": modified}


@pytest.mark.parametrize(
    ("key", "modified", "new"),
    [
        ("images/Kiwi/a.JPG", START, True),  # the start is inside the interval
        ("images/Kiwi/a.jpeg", END - timedelta(seconds=1), True),
        ("images/Kiwi/a.png", END, False),  # the end is not
        ("images/Kiwi/a.jpg", START - timedelta(seconds=1), False),
        ("images/Kiwi/notes.txt", START, False),
        ("images/_Kiwi/_DSC0001.HEIC", START, True),  # the job's own definition of an image
        ("images/Kiwi/photo.webp", START, True),
        ("images/Kiwi/._DSC0001.JPG", START, False),  # macOS metadata: nothing to featurize
    ],
)
def test_an_image_is_new_when_modified_inside_the_interval(key, modified, new):
    assert has_new_images([listed(key, modified)], **CONTEXT) is new


def test_full_mode_accepts_any_image():
    old = [listed("images/Kiwi/a.jpg", START - timedelta(days=30))]
    assert has_new_images(old, **{**CONTEXT, "params": {"mode": "full"}}) is True


@pytest.fixture
def sensor():
    return NewImagesSensor(
        task_id="wait",
        bucket_key="s3://b/images/*",
        erasure_requests="s3://b/erasure/requests/",
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
    with mock.patch.object(sensor, "poke", return_value=True) as poke:
        sensor.resume(CONTEXT, event={"deadline": later})
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


@pytest.fixture
def bucket(monkeypatch):
    """An in-process S3 (moto) holding images of three days and one flat class folder; the
    prefixes of the ListObjectsV2 requests the sensor sends are recorded."""
    from moto import mock_aws

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
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
        aws_conn_id=None,
        **kwargs,
    )


def poking(sensor, context) -> tuple[bool, list[str]]:
    """The poke's result, and the prefixes it listed (each request once)."""
    context = {**context, "ti": mock.Mock()}
    listed = []
    sensor.hook.get_conn().meta.events.register(
        "before-call.s3.ListObjectsV2",
        lambda params, **_: listed.append(
            params["query_string"]["prefix"]
            + ("+/" if params["query_string"].get("delimiter") else "")
        ),
    )
    return sensor.poke(context), listed


def test_a_daily_poke_lists_the_intervals_day_folders_only(bucket):
    """Every object is modified now, inside [now - 1 h, now + 1 h): only those of the day
    folders the interval may use count, and other days' folders are never listed."""
    now = datetime.now(UTC)
    today = now.strftime("%Y-%m-%d")
    context = {
        **CONTEXT,
        "data_interval_start": now - timedelta(hours=1),
        "data_interval_end": now + timedelta(hours=1),
    }
    sensor = watching()
    requests = "erasure/requests/"
    assert poking(sensor, context) == (False, [requests, "images/+/", "images/+/"])

    bucket.put_object(Bucket="fruits", Key=f"images/{today}/Kiwi/new.jpg", Body=b"x")
    assert poking(sensor, context) == (
        True,
        [requests, "images/+/", "images/+/", f"images/{today}/"],
    )

    bucket.put_object(
        Bucket="fruits", Key="images/Banana/flat.jpg", Body=b"x"
    )  # outside the layout
    found, listed = poking(watching(), context)
    assert found
    assert "images/2026-11-10/" not in listed
    assert set(listed) <= {requests, "images/+/", f"images/{today}/", "images/Banana/"}


def test_a_pending_erasure_request_is_a_reason_to_run_without_images(bucket):
    """A day with no new image but a request: the sensor fires, and pushes the count that
    makes add_spark_steps start with the erase step."""
    ti = mock.Mock()
    context = {**CONTEXT, "ti": ti}
    assert watching().poke(context) is False
    ti.xcom_push.assert_called_with(key="erasure_requests", value=0)
    # What the S3 console's "Create folder" writes, and a file that is no request: no run.
    bucket.put_object(Bucket="fruits", Key="erasure/requests/", Body=b"")
    bucket.put_object(Bucket="fruits", Key="erasure/requests/readme.txt", Body=b"notes")
    assert watching().poke(context) is False
    ti.xcom_push.assert_called_with(key="erasure_requests", value=0)
    bucket.put_object(Bucket="fruits", Key="erasure/requests/r-1.json", Body=b"{}")
    assert watching().poke(context) is True
    ti.xcom_push.assert_any_call(key="erasure_requests", value=1)
    ti.xcom_push.assert_called_with(key="new_images", value={"images": 0, "bytes": 0})


def test_a_firing_poke_tallies_every_new_image_of_the_interval_for_the_clusters_size(bucket):
    """Every folder the interval's images may be in is listed, even after one held a new
    image: their count and bytes size the cluster. Other days' images and non-images do not
    count; a full run counts every image."""
    now = datetime.now(UTC)
    context = {
        **CONTEXT,
        "data_interval_start": now - timedelta(minutes=1),
        "data_interval_end": now + timedelta(minutes=1),
        "ti": mock.Mock(),
    }
    today = now.strftime("%Y-%m-%d")
    bucket.put_object(Bucket="fruits", Key=f"images/{today}/Kiwi/a.jpg", Body=b"x" * 1000)
    bucket.put_object(Bucket="fruits", Key="images/Banana/flat.jpg", Body=b"x" * 200)
    bucket.put_object(Bucket="fruits", Key="images/Banana/notes.txt", Body=b"x" * 50)
    sensor = watching()

    def tally() -> dict:
        call = context["ti"].xcom_push.call_args_list[-1]
        assert call.kwargs["key"] == "new_images"
        return call.kwargs["value"]

    assert sensor.poke(context) is True
    assert tally() == {"images": 2, "bytes": 1200}
    # The fixture's three images of other days were written now too: a full run counts them.
    assert sensor.poke({**context, "params": {**context["params"], "mode": "full"}}) is True
    assert tally() == {"images": 5, "bytes": 1203}
