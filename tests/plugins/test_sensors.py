"""NewImagesSensor: what counts as a new image, and how it waits between pokes."""

from __future__ import annotations

import asyncio
import importlib
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from unittest import mock

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
        task_id="wait", bucket_key="s3://b/images/*", timeout=600, poke_interval=60, soft_fail=True
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
