"""The Airflow side of erasure requests (fruits_contract.erasure): the erase step added when
the first task found requests, and their completion once the run's steps have succeeded."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from airflow.providers.amazon.aws.hooks.s3 import S3Hook

from fruit_pipeline.retry_safe import RetrySafeEmrAddStepsOperator
from fruits_contract.erasure import APPLIED, COUNTED_PLACES, DONE, record_key

log = logging.getLogger(__name__)


class ErasingEmrAddStepsOperator(RetrySafeEmrAddStepsOperator):
    """Adds `erase_step` before the steps when `erasure_requests` (templated: the first
    task's count of pending requests) is more than none."""

    template_fields = (
        *RetrySafeEmrAddStepsOperator.template_fields,
        "erase_step",
        "erasure_requests",
    )

    def __init__(self, *, erase_step: dict[str, Any], erasure_requests: Any, **kwargs: Any):
        super().__init__(**kwargs)
        self.erase_step = erase_step
        self.erasure_requests = erasure_requests

    def execute(self, context: Any) -> list[str]:
        if self.erasure_requests:
            self.log.info("%s erasure request(s) pending: erase runs first", self.erasure_requests)
            self.steps = [self.erase_step, *self.steps]
        return super().execute(context)


def complete_requests(s3: S3Hook, erasure_uri: str, run_id: str) -> dict[str, int]:
    """Move the applied records this run completed to done/, and delete their requests: the
    counts summed over them, for the run's asset event. Records of another run, or that the
    erase step could not complete, stay pending."""
    bucket, prefix = S3Hook.parse_s3_url(erasure_uri)
    totals = dict.fromkeys(("requests", "refused", *COUNTED_PLACES), 0)
    for key in s3.list_keys(bucket, prefix + APPLIED):
        record = json.loads(s3.read_key(key, bucket))
        if record["run_id"] != run_id or not record["complete"]:
            continue
        done = {
            "request": record["request"],
            "status": record["status"],
            "reason": record["reason"],
            "received_at": record["received_at"],
            "completed_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "run_id": run_id,
            "counts": record["counts"],
        }
        s3.load_string(
            json.dumps(done, indent=2),
            record_key(prefix, DONE, record["request"]),
            bucket,
            replace=True,
        )
        # One DeleteObject each, not the hook's delete_objects (DeleteObjects): moto
        # authorizes that batch against the bucket's ARN, not each key's, and its IAM
        # enforcement could then not check the policy (erasure/requests/*, applied/*).
        for done_with in (record["key"], key):
            s3.get_conn().delete_object(Bucket=bucket, Key=done_with)
        log.info(
            "erasure request %s %s and complete: %s",
            record["request"],
            record["status"],
            ", ".join(f"{place} {count}" for place, count in record["counts"].items()),
        )
        totals["requests"] += 1
        totals["refused"] += record["status"] == "refused"
        for place in COUNTED_PLACES:
            totals[place] += record["counts"].get(place, 0)
    return totals
