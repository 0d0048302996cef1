"""The landing layout's days: which folders an interval lists."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fruits_contract.landing import (
    FolderSeen,
    LandingState,
    days_to_list,
    folder_of,
    is_day_folder,
    landing_key,
)

DAY = datetime(2026, 12, 2, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "end", "days"),
    [
        (DAY, DAY.replace(day=3), ["2026-12-01", "2026-12-02"]),  # a daily run
        (DAY.replace(hour=6), DAY.replace(hour=12), ["2026-12-01", "2026-12-02"]),
        (DAY, DAY.replace(day=4), ["2026-12-01", "2026-12-02", "2026-12-03"]),
        (DAY.replace(month=1, day=1), DAY.replace(month=1, day=2), ["2025-12-31", "2026-01-01"]),
    ],
    ids=["daily", "hourly", "two days", "new year"],
)
def test_an_interval_lists_its_days_and_the_day_before(start, end, days):
    assert days_to_list(start, end) == days


@pytest.mark.parametrize(
    ("name", "is_day"),
    [("2026-12-02", True), ("2026-02-30", False), ("Banana", False), ("2026-12-02x", False)],
)
def test_day_folders_are_real_dates(name, is_day):
    assert is_day_folder(name) is is_day


def test_an_upload_lands_under_its_utc_day():
    late_evening_in_paris = datetime.fromisoformat("2026-12-02T00:30:00+01:00")
    assert (
        landing_key("images/", late_evening_in_paris, "Kiwi/a.jpg")
        == "images/2026-12-01/Kiwi/a.jpg"
    )


def test_a_run_closes_the_folders_two_days_before_its_moment_and_keeps_the_open_ones():
    listed = {day: [DAY] for day in ("2026-11-29", "2026-11-30", "2026-12-01", "2026-12-03")}
    after = LandingState().after(DAY, {**listed, "": []})  # a run as of 2 December
    assert after.closed_through == "2026-11-30"
    assert set(after.folders) == {"2026-12-01", "2026-12-03", ""}
    assert after.folders["2026-12-01"].images == 1
    assert LandingState.from_json(after.to_json()) == after
    # A backfill of an older date never reopens a folder.
    assert after.after(DAY.replace(day=1), {}).closed_through == "2026-11-30"
    assert (after.is_open("2026-11-30"), after.is_open("2026-12-01")) == (False, True)
    assert LandingState().is_open("2020-01-01"), "before any run, every folder is open"


def test_an_image_is_new_when_it_landed_after_its_folder_was_listed_or_joined_it():
    state = LandingState("2026-11-30", {"2026-12-01": FolderSeen(2, DAY.isoformat())})
    old = [("a.jpg", DAY - timedelta(hours=1)), ("b.jpg", DAY)]
    assert state.new_in("2026-12-01", old) == []
    assert state.new_in("2026-12-01", [*old, ("c.jpg", DAY + timedelta(seconds=1))]) == ["c.jpg"]
    # Landed while the folder was listed, with an older LastModified: the count tells.
    during = [*old, ("d.jpg", DAY - timedelta(minutes=1))]
    assert state.new_in("2026-12-01", during) == ["b.jpg"], "one more: the newest of the others"
    assert state.new_in("2026-12-02", old) == ["a.jpg", "b.jpg"], "a folder never listed"


@pytest.mark.parametrize(
    ("key", "folder"),
    [
        ("images/2026-12-02/Banana/a.jpg", "2026-12-02"),
        ("images/Banana/a.jpg", ""),
        ("images/a.jpg", ""),
        ("images/2026-02-30/Banana/a.jpg", ""),
    ],
)
def test_an_image_belongs_to_its_day_folder_or_to_outside_the_layout(key, folder):
    assert folder_of(key, "images/") == folder
