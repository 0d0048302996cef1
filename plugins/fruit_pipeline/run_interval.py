"""The interval a run processes, one rule whatever created the run.

The DAG runs daily at midnight UTC; the run of date D processes [D, D+1): its ingest date is
D, and the landing folders of days before D+1 may close. Airflow gives that interval to
scheduled and backfill runs, but not to the others:

- a run triggered for a date (the UI's form, the REST API, `airflow dags trigger -l D`,
  `airflow dags test D`) gets an interval Airflow infers, which depends on the path: the
  CLI infers it from the trigger time, the REST API and `dags test` end it at D.
  apache/airflow#64740 documents that a manual run's interval is not to be relied on. Here
  the run of date D is the run of [D, D+1), as the scheduled run of D, however triggered.
- a run without a logical date (the CLI without -l, the REST API, the UI's form left empty)
  has no interval at all. It is the run of the last day complete when it was triggered, as
  the scheduled run at that midnight. Like every run, it takes every image landed and not
  taken yet (fruits_contract.landing), whatever its day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

DAY = timedelta(days=1)
# The run types whose data interval Airflow derives from their logical date, as scheduled.
SCHEDULED_TYPES = {"scheduled", "backfill"}


@dataclass(frozen=True)
class RunInterval:
    start: datetime
    end: datetime

    @property
    def ingest_date(self) -> str:
        return self.start.strftime("%Y-%m-%d")

    def __str__(self) -> str:
        return f"{self.start.isoformat()}/{self.end.isoformat()}"


def midnight(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def run_interval(dag_run: Any) -> RunInterval:
    """The interval dag_run (the task context's) processes: see the module's docstring."""
    run_type = str(getattr(dag_run.run_type, "value", dag_run.run_type))
    if run_type in SCHEDULED_TYPES and dag_run.data_interval_start is not None:
        return RunInterval(dag_run.data_interval_start, dag_run.data_interval_end)
    if dag_run.logical_date is not None:
        start = midnight(dag_run.logical_date)
        return RunInterval(start, start + DAY)
    end = midnight(dag_run.run_after)
    return RunInterval(end - DAY, end)
