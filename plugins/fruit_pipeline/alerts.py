"""Alerts to an SNS topic, through the provider's SnsNotifier:

- a failed task publishes one message, as every task's on_failure_callback: the DAG, the
  run, the task, why it failed and where its logs are. The reason is the failed step's own
  error line when the task watched a step ("featurize failed: model file ..."), not the
  fifty lines of log tail the task error carries;
- a run still running FRUITS_RUN_ALERT_MINUTES after it was queued publishes one too: an
  Airflow Deadline Alert, whose callback the triggerer runs.
"""

from __future__ import annotations

import re
from datetime import timedelta

from airflow.providers.amazon.aws.notifications.sns import SnsNotifier
from airflow.sdk.definitions.callback import AsyncCallback
from airflow.sdk.definitions.deadline import DeadlineAlert, DeadlineReference

from fruit_pipeline.config import PipelineConfig

# run_job's last word in a Spark step's log (spark_jobs/fruitspark/session.py).
JOB_ERROR = re.compile(r"\b(?:featurize|pca|erase) failed: .*")
STEP_LOGS = re.compile(r"full logs: (\S+)")
# SNS subjects: at most 100 printable ASCII characters, one line.
SUBJECT = "{{ dag.dag_id }}: {{ ti.task_id }} failed"
MESSAGE = """\
Airflow DAG {{ dag.dag_id }} failed.

run:    {{ run_id }}
task:   {{ ti.task_id }} (try {{ ti.try_number }})
reason: {{ exception | failure_reason }}
{% for folder in exception | step_log_folders %}step logs: {{ folder }}
{% endfor %}task log: {{ ti.log_url }}
"""


# A deadline's context is the run only (airflow.models.deadline: dag_run, deadline).
LATE_SUBJECT = "{{ dag_run.dag_id }}: a run is still running"
LATE_MESSAGE = """\
Airflow DAG {{ dag_run.dag_id }} has a run still running after %g min.

run:       {{ dag_run.dag_run_id }}
queued at: {{ dag_run.queued_at }}
state:     {{ dag_run.state }}
It is stopped at dagrun_timeout; its tasks' logs say where it waits (a cluster starting, a
step running, spot capacity).
"""


def failure_reason(exception: BaseException | str | None) -> str:
    """The line that says why: a step's own error line if the error carries one, else the
    error's first line."""
    text = str(exception or "").strip()
    if found := JOB_ERROR.findall(text):
        return found[-1].strip()
    return text.splitlines()[0] if text else "no error recorded"


def step_log_folders(exception: BaseException | str | None) -> list[str]:
    return STEP_LOGS.findall(str(exception or ""))


# The DAG's user_defined_filters: the notifier renders its templates with the DAG's Jinja.
TEMPLATE_FILTERS = {"failure_reason": failure_reason, "step_log_folders": step_log_folders}


def failure_alerts(config: PipelineConfig) -> list[SnsNotifier]:
    """The on_failure_callback of every task: none when no topic is configured."""
    if not config.alerts_topic_arn:
        return []
    return [
        SnsNotifier(
            target_arn=config.alerts_topic_arn,
            subject=SUBJECT,
            message=MESSAGE,
            aws_conn_id=config.aws_conn_id,
            region_name=config.alerts_topic_arn.split(":")[3],
        )
    ]


def run_deadlines(config: PipelineConfig) -> list[DeadlineAlert]:
    """The DAG's deadline: an alert when a run outlives FRUITS_RUN_ALERT_MINUTES; none when
    no topic is configured."""
    if not config.alerts_topic_arn:
        return []
    notifier = {
        "target_arn": config.alerts_topic_arn,
        "subject": LATE_SUBJECT,
        "message": LATE_MESSAGE % config.run_alert_minutes,
        "aws_conn_id": config.aws_conn_id,
        "region_name": config.alerts_topic_arn.split(":")[3],
    }
    return [
        DeadlineAlert(
            reference=DeadlineReference.DAGRUN_QUEUED_AT,
            interval=timedelta(minutes=config.run_alert_minutes),
            callback=AsyncCallback(SnsNotifier, kwargs=notifier),
        )
    ]
