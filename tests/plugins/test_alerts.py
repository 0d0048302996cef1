"""Failure alerts: the provider's SnsNotifier, its message rendered by the DAG's Jinja."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from airflow.providers.amazon.aws.notifications.sns import SnsNotifier

from fruit_pipeline.alerts import failure_alerts, failure_reason, run_deadlines, step_log_folders
from fruit_pipeline.config import load_config

TOPIC = "arn:aws:sns:eu-central-1:123456789012:fruits-pipeline-alerts"
# As ExplainedStepSensor raises it: the provider's error, then each unsuccessful step.
STEP_FAILURE = """\
EMR job failed
step featurize (s-1A): FAILED: Step failed with exitCode 1
  last lines of stdout.gz:
    00:03:12,001 INFO featurize: listing s3://fruits-data/images/
    00:03:14,551 ERROR featurize: featurize failed: model file s3://fruits-data/m.onnx missing
    00:03:14,560 INFO SparkContext: Successfully stopped SparkContext
  full logs: s3://fruits-data/emr-logs/j-2AB/steps/s-1A/
step pca (s-2B): CANCELLED: Cancelled: an earlier step failed"""


def test_the_reason_is_the_steps_own_error_line():
    assert failure_reason(RuntimeError(STEP_FAILURE)) == (
        "featurize failed: model file s3://fruits-data/m.onnx missing"
    )
    assert step_log_folders(STEP_FAILURE) == ["s3://fruits-data/emr-logs/j-2AB/steps/s-1A/"]


def test_without_a_step_the_reason_is_the_errors_first_line():
    error = PermissionError("AccessDenied: elasticmapreduce:RunJobFlow\nmore detail")
    assert failure_reason(error) == "AccessDenied: elasticmapreduce:RunJobFlow"
    assert failure_reason(None) == "no error recorded"
    assert step_log_folders(error) == []


def test_no_topic_no_alerts():
    assert failure_alerts(load_config({})) == []


@pytest.mark.parametrize("arn", ["not-an-arn", f"{TOPIC}.fifo", TOPIC.replace("123", "12")])
def test_a_malformed_topic_is_refused(arn):
    with pytest.raises(ValueError, match="FRUITS_ALERTS_TOPIC_ARN"):
        load_config({"FRUITS_ALERTS_TOPIC_ARN": arn})


def test_the_notifier_publishes_to_the_topic_in_its_region_with_the_pipelines_connection():
    (notifier,) = failure_alerts(
        load_config({"FRUITS_ALERTS_TOPIC_ARN": TOPIC, "FRUITS_AWS_CONN_ID": "aws_prod"})
    )
    assert isinstance(notifier, SnsNotifier)
    assert (notifier.target_arn, notifier.region_name, notifier.aws_conn_id) == (
        TOPIC,
        "eu-central-1",
        "aws_prod",
    )


def rendered(dag, task_id: str, exception) -> SnsNotifier:
    (notifier,) = failure_alerts(load_config({"FRUITS_ALERTS_TOPIC_ARN": TOPIC}))
    run_id = "scheduled__2026-11-20T00:00:00+00:00"
    ti = SimpleNamespace(
        task_id=task_id,
        try_number=4,
        log_url=f"http://localhost:8080/dags/{dag.dag_id}/runs/{run_id}/tasks/{task_id}",
    )
    context = {"dag": dag, "run_id": run_id, "ti": ti, "exception": exception}
    notifier.render_template_fields(context, jinja_env=dag.get_template_env())
    return notifier


def test_the_message_names_dag_run_task_reason_and_logs(dag):
    notifier = rendered(dag, "watch_spark_steps", RuntimeError(STEP_FAILURE))
    assert notifier.subject == "fruit_features: watch_spark_steps failed"
    assert notifier.message.splitlines() == [
        "Airflow DAG fruit_features failed.",
        "",
        "run:    scheduled__2026-11-20T00:00:00+00:00",
        "task:   watch_spark_steps (try 4)",
        "reason: featurize failed: model file s3://fruits-data/m.onnx missing",
        "step logs: s3://fruits-data/emr-logs/j-2AB/steps/s-1A/",
        "task log: http://localhost:8080/dags/fruit_features/runs/"
        "scheduled__2026-11-20T00:00:00+00:00/tasks/watch_spark_steps",
    ]


def test_every_tasks_subject_is_one_line_sns_accepts(dag):
    for task in dag.tasks:
        subject = rendered(dag, task.task_id, None).subject
        assert len(subject) <= 100
        assert subject.isascii()
        assert subject.isprintable()


def test_a_run_past_its_limit_alerts_through_a_deadline_on_the_same_topic():
    from airflow.sdk.definitions.deadline import DeadlineReference

    assert run_deadlines(load_config({})) == []
    config = load_config({"FRUITS_ALERTS_TOPIC_ARN": TOPIC, "FRUITS_RUN_ALERT_MINUTES": "90"})
    (deadline,) = run_deadlines(config)
    assert deadline.reference == DeadlineReference.DAGRUN_QUEUED_AT
    assert deadline.interval == timedelta(minutes=90)
    assert deadline.callback.path.endswith("SnsNotifier")
    # What the triggerer does with the callback: the notifier, rendered with the run.
    notifier = SnsNotifier(**deadline.callback.kwargs)
    run = {"dag_id": "fruit_features", "dag_run_id": "scheduled__2026-11-20", "state": "running"}
    context = {"dag_run": run | {"queued_at": "2026-11-21T00:00:05Z"}, "deadline": {}}
    notifier.render_template_fields(context)
    assert (notifier.target_arn, notifier.region_name) == (TOPIC, "eu-central-1")
    assert notifier.subject == "fruit_features: a run is still running"
    assert "still running after 90 min" in notifier.message
    assert "run:       scheduled__2026-11-20" in notifier.message
    assert "queued at: 2026-11-21T00:00:05Z" in notifier.message
