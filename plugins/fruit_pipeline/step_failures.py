"""Why an EMR step failed, told where Airflow users look: the watching task's log and error.

EMR keeps a step's own output in the cluster's LogUri (<LogUri>/<cluster>/steps/<step>/
stdout.gz and stderr.gz), a few minutes late on real EMR: the logs are waited for briefly,
then reported as not there yet. Nothing here can hang the task.
"""

from __future__ import annotations

import gzip
import time
from typing import Any, NoReturn

from airflow.providers.amazon.aws.hooks.emr import EmrHook
from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from airflow.providers.amazon.aws.sensors.emr import EmrStepSensor
from airflow.sdk import Context
from airflow.sdk.exceptions import AirflowException, AirflowFailException

TAIL_LINES = 50
LOG_FILES = ("stdout.gz", "stderr.gz")  # spark-submit merges the jobs' own log into stdout
LOG_WAIT_SECONDS = 60
LOG_POLL_SECONDS = 5
UNSUCCESSFUL = ("FAILED", "CANCELLED", "INTERRUPTED")


def step_reason(step: dict[str, Any]) -> str:
    status = step["Status"]
    details = status.get("FailureDetails") or {}
    return (
        details.get("Message")
        or details.get("Reason")
        or status.get("StateChangeReason", {}).get("Message")
        or "no reason given"
    )


def tail(data: bytes, lines: int = TAIL_LINES) -> list[str]:
    return gzip.decompress(data).decode("utf-8", errors="replace").splitlines()[-lines:]


def unsuccessful_steps(emr: Any, cluster_id: str) -> list[dict[str, Any]]:
    """The cluster's failed, cancelled or interrupted steps, newest first."""
    return [
        step
        for step in emr.list_steps(ClusterId=cluster_id)["Steps"]
        if step["Status"]["State"] in UNSUCCESSFUL
    ]


def not_completed(emr: Any, cluster_id: str, step_ids: list[str]) -> list[str]:
    """The steps among step_ids that have not completed, as "name (STATE)": none when the
    run's work is done, whatever a task's state says (a task marked success by hand)."""
    left = []
    for step_id in step_ids:
        step = emr.describe_step(ClusterId=cluster_id, StepId=step_id)["Step"]
        if step["Status"]["State"] != "COMPLETED":
            left.append(f"{step['Name']} ({step['Status']['State']})")
    return left


def explain(
    emr: Any,
    s3: S3Hook,
    cluster_id: str,
    wait_seconds: float = LOG_WAIT_SECONDS,
    steps: list[dict[str, Any]] | None = None,
) -> str:
    """Each unsuccessful step of the cluster (`steps`, else listed): name, state, reason; for
    a failed one, the last lines of its logs and where they are."""
    cluster = emr.describe_cluster(ClusterId=cluster_id)["Cluster"]
    log_uri = (cluster.get("LogUri") or "").replace("s3n://", "s3://").rstrip("/")
    steps = unsuccessful_steps(emr, cluster_id) if steps is None else steps
    lines = []
    for step in reversed(steps):  # list_steps gives the newest first
        state = step["Status"]["State"]
        lines.append(f"step {step['Name']} ({step['Id']}): {state}: {step_reason(step)}")
        if state != "FAILED":
            continue
        if not log_uri:
            lines.append("  the cluster has no LogUri: its step logs were not kept")
            continue
        folder = f"{log_uri}/{cluster_id}/steps/{step['Id']}/"
        lines.extend(log_tails(s3, folder, wait_seconds))
        lines.append(f"  full logs: {folder}")
    return "\n".join(lines) if lines else f"no failed or cancelled step on {cluster_id}"


def log_tails(s3: S3Hook, folder: str, wait_seconds: float) -> list[str]:
    bucket, prefix = S3Hook.parse_s3_url(folder)
    deadline = time.monotonic() + wait_seconds
    while True:
        present = [name for name in LOG_FILES if s3.check_for_key(prefix + name, bucket)]
        if present or time.monotonic() >= deadline:
            break
        time.sleep(LOG_POLL_SECONDS)
    if not present:
        return [f"  its logs are not in {folder} yet (EMR copies them a few minutes late)"]
    lines = []
    for name in present:
        data = s3.get_key(prefix + name, bucket).get()["Body"].read()
        lines.append(f"  last lines of {name}:")
        lines.extend(f"    {line}" for line in tail(data))
    return lines


class ExplainedStepSensor(EmrStepSensor):
    """The provider's EmrStepSensor; a failed or cancelled step fails the task, without
    retries, with the failed step's reason and the end of its own log, in the task log and
    the error."""

    def poke(self, context: Context) -> bool:
        try:
            return super().poke(context)
        except AirflowException as error:
            self.fail_explained(error)

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> None:
        try:
            super().execute_complete(context, event)
        except AirflowException as error:
            self.fail_explained(error)

    def fail_explained(self, error: AirflowException) -> NoReturn:
        """A step that failed fails the task for good: watching it again cannot change it.
        Anything else (the trigger's own error, say) stays an error the task retries."""
        emr = EmrHook(aws_conn_id=self.aws_conn_id, region_name=self.region_name).conn
        s3 = S3Hook(aws_conn_id=self.aws_conn_id, region_name=self.region_name)
        steps = unsuccessful_steps(emr, self.job_flow_id)
        explanation = explain(emr, s3, self.job_flow_id, LOG_WAIT_SECONDS, steps)
        self.log.error("the EMR steps failed:\n%s", explanation)
        failure = AirflowFailException if steps else AirflowException
        raise failure(f"{error}\n{explanation}") from error
