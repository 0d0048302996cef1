"""Alerts: a failed run publishes one message to an SNS topic, through the provider's
SnsNotifier, as every task's on_failure_callback.

The message names the DAG, the run, the failed task, why it failed and where its logs are.
The reason is the failed step's own error line when the task watched a step ("featurize
failed: model file ..."), not the fifty lines of log tail the task error carries.
"""

from __future__ import annotations

import re

from airflow.providers.amazon.aws.notifications.sns import SnsNotifier

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
