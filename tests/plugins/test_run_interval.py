"""One interval per run, whatever created it: the scheduled run's of its date."""

from __future__ import annotations

from types import SimpleNamespace

import pendulum
import pytest

from fruit_pipeline.run_interval import RunInterval, run_interval

D = pendulum.datetime(2026, 11, 20, tz="UTC")
NEXT = D.add(days=1)


def dag_run(run_type, logical_date, interval=(None, None), run_after=NEXT):
    start, end = interval
    return SimpleNamespace(
        run_type=run_type,
        logical_date=logical_date,
        data_interval_start=start,
        data_interval_end=end,
        run_after=run_after,
    )


@pytest.mark.parametrize(
    ("how", "run"),
    [
        ("scheduled", dag_run("scheduled", D, (D, NEXT))),
        ("backfill", dag_run("backfill", D, (D, NEXT))),
        # Airflow's REST API and `dags test D` end a manual run's interval at D ...
        ("REST API or dags test", dag_run("manual", D, (D.subtract(days=1), D))),
        # ... and `dags trigger -l D` infers it from the trigger time.
        ("CLI -l", dag_run("manual", D, (NEXT.add(days=5), NEXT.add(days=6)), NEXT.add(days=6))),
        ("a date with a time", dag_run("manual", D.add(hours=15), (D, NEXT))),
    ],
)
def test_a_run_of_date_d_processes_d_however_it_was_triggered(how, run):
    assert run_interval(run) == RunInterval(D, NEXT), how


def test_a_run_without_a_date_is_the_run_of_the_last_complete_day():
    run = dag_run("manual", None, run_after=NEXT.add(hours=14, minutes=5))
    interval = run_interval(run)
    assert interval == RunInterval(D, NEXT)
    assert interval.ingest_date == "2026-11-20"
    assert str(interval) == "2026-11-20T00:00:00+00:00/2026-11-21T00:00:00+00:00"


def test_an_asset_triggered_run_has_no_date_either():
    run = dag_run("asset_triggered", None, run_after=NEXT)
    assert run_interval(run) == RunInterval(D, NEXT)
