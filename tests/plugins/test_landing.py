"""The landing layout's days: which folders an interval lists."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fruits_contract.landing import days_to_list, is_day_folder, landing_key

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
