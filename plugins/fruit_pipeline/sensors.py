"""Wait, deferred, for new images under the images prefix, or for pending erasure requests:
each poke lists only the interval's day folders of the landing layout
(fruits_contract.landing), not every image ever stored, and one page of the requests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor
from airflow.providers.standard.triggers.temporal import DateTimeTrigger
from airflow.sdk.exceptions import AirflowFailException, AirflowSensorTimeout, AirflowSkipException
from airflow.triggers.base import TriggerEvent

from fruits_contract.erasure import REQUESTS, is_request_key
from fruits_contract.image_files import is_apple_double, is_image
from fruits_contract.landing import days_to_list, is_day_folder

ERASURE_REQUESTS_XCOM = "erasure_requests"
NEW_IMAGES_XCOM = "new_images"  # {"images": count, "bytes": total}: the cluster's size


def new_images(
    files: list[dict[str, Any]],
    data_interval_start: datetime,
    data_interval_end: datetime,
    params: dict[str, Any],
    **_: Any,
) -> list[dict[str, Any]]:
    """The images of files modified inside the data interval (every image in full mode).
    AppleDouble files have an image's name but nothing to featurize: no cluster for them."""
    images = [file for file in files if is_image(file["Key"]) and not is_apple_double(file["Key"])]
    if params.get("mode") == "full":
        return images
    return [
        file for file in images if data_interval_start <= file["LastModified"] < data_interval_end
    ]


def has_new_images(files: list[dict[str, Any]], **context: Any) -> bool:
    """The check_fn of the provider's sensor: any new image."""
    return bool(new_images(files, **context))


def refuse_unknown_params(context: Any) -> None:
    """Airflow checks each param's value against its schema but accepts any other key in a
    run's conf: a misspelt one ({"K": 5}) would be ignored, and the run would do something
    else than asked. Fail the run instead, before any AWS call, naming the key."""
    declared = set(context["dag"].params)  # context["params"] has the conf's keys merged in
    unknown = sorted(set(context["dag_run"].conf or {}) - declared)
    if unknown:
        raise AirflowFailException(
            f"unknown trigger param(s): {', '.join(unknown)}; "
            f"this DAG takes {', '.join(sorted(declared))}"
        )


class NextLookTrigger(DateTimeTrigger):
    """Fires at `moment`, like DateTimeTrigger, with the sensor's deadline as its event.

    The deadline travels in the event, not in the deferral's kwargs: `airflow dags test`
    (dag.test() in task SDK 1.3.2) resumes a task with {"event": ...} in place of the kwargs
    it deferred with, which apache/airflow#69942 fixes upstream. The scheduler's triggerer
    passes the event too, so both paths resume alike.
    """

    def __init__(self, moment: datetime, *, deadline: str) -> None:
        super().__init__(moment)
        self.deadline = deadline

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{__name__}.{type(self).__name__}",
            {"moment": self.moment, "deadline": self.deadline},
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        async for _ in super().run():
            yield TriggerEvent({"deadline": self.deadline})


class NewImagesSensor(S3KeySensor):
    """The provider's S3KeySensor, for `bucket_key` `s3://bucket/images/*`, with the listing and
    the deferral that suit a prefix full of older images.

    A daily poke lists the prefix's top level (one request per 1,000 folders), then only the
    folders that may hold the interval's images: its days' and the day before's, and any
    folder outside the layout; and the images directly under the prefix. A full run's poke
    lists everything, as its featurize will.

    The provider's deferrable mode hands the wait to S3KeyTrigger, which fires as soon as any
    key matches, HEADs every object and re-defers with a fresh timeout: with yesterday's images
    in place it would wake at every poke and never time out. Here each poke is the sensor's
    own listing (LastModified comes with it, no HEAD), and between pokes the task defers on a
    NextLookTrigger, freeing its worker slot, until a deadline carried across deferrals in the
    trigger's event.
    """

    def __init__(self, *, erasure_requests: str, **kwargs: Any) -> None:
        self.erasure_requests = erasure_requests  # s3://bucket/erasure/requests/
        super().__init__(
            wildcard_match=True,
            check_fn=has_new_images,
            metadata_keys=["Key", "LastModified", "Size"],
            deferrable=True,
            **kwargs,
        )

    def execute(self, context: Any) -> None:
        refuse_unknown_params(context)  # the DAG's first task: nothing has called AWS yet
        self._poke_or_defer(context, datetime.now(UTC) + timedelta(seconds=self.timeout))

    def poke(self, context: Any) -> bool:
        """Every folder the interval's images may be in is listed, even once one has them:
        the cluster is sized from all of them (NEW_IMAGES_XCOM)."""
        found: dict[str, int] = {}  # key -> size of each new image listed

        def tally(files: list[dict[str, Any]], **check_context: Any) -> bool:
            images = new_images(files, **check_context)
            found.update({file["Key"]: file["Size"] for file in images})
            return bool(images)

        erasures = self.pending_erasures(context)
        self.check_fn = tally  # what the provider's _check_key calls with each listing
        try:
            images = self.poke_images(context)
        finally:
            self.check_fn = has_new_images
        if not (images or erasures):
            return False
        counted = {"images": len(found), "bytes": sum(found.values())}
        context["ti"].xcom_push(key=NEW_IMAGES_XCOM, value=counted)
        self.log.info("%d new image(s), %d bytes", counted["images"], counted["bytes"])
        return True

    def poke_images(self, context: Any) -> bool:
        if context["params"].get("mode") == "full":
            return super().poke(context)
        bucket, prefix = self.hook.parse_s3_url(self.bucket_key.removesuffix("*"))
        loose = self.hook.list_keys(
            bucket, prefix, delimiter="/", object_filter=lambda objects, *_: objects
        )
        listed = [{key: o[key] for key in self.metadata_keys} for o in loose]
        found = [self.check_fn(listed, **context)] + [
            self._check_key(f"s3://{bucket}/{prefix}{folder}/*", context)
            for folder in self.interval_folders(bucket, prefix, context)
        ]
        return any(found)

    def pending_erasures(self, context: Any) -> int:
        """How many erasure requests wait (up to a page of them), pushed as the XCom
        ERASURE_REQUESTS_XCOM: the steps then start with erase. A request is a reason to run
        on a day without images; a folder marker or another file under requests/ is not."""
        bucket, prefix = self.hook.parse_s3_url(self.erasure_requests)
        listed = self.hook.list_keys(bucket, prefix, page_size=1000, max_items=1000)
        erasure_prefix = prefix.removesuffix(REQUESTS)
        pending = sum(is_request_key(key, erasure_prefix) for key in listed)
        context["ti"].xcom_push(key=ERASURE_REQUESTS_XCOM, value=pending)
        if pending:
            self.log.info("%d erasure request(s) pending under %s", pending, self.erasure_requests)
        return pending

    def interval_folders(self, bucket: str, prefix: str, context: Any) -> list[str]:
        """The folders under prefix that a daily poke lists: the interval's day folders and
        every folder outside the dated layout."""
        folders = [
            folder.removeprefix(prefix).rstrip("/")
            for folder in self.hook.list_prefixes(bucket, prefix, delimiter="/")
        ]
        days = days_to_list(context["data_interval_start"], context["data_interval_end"])
        outside = [folder for folder in folders if not is_day_folder(folder)]
        if outside:
            self.log.warning(
                "%d folder(s) under s3://%s/%s are outside the dated layout, listed at every "
                "poke: %s",
                len(outside),
                bucket,
                prefix,
                ", ".join(outside[:5]) + (" ..." if len(outside) > 5 else ""),
            )
        return [folder for folder in folders if folder in days] + outside

    def resume(self, context: Any, event: dict[str, Any]) -> None:
        self._poke_or_defer(context, datetime.fromisoformat(event["deadline"]))

    def _poke_or_defer(self, context: Any, deadline: datetime) -> None:
        if self.poke(context):
            return
        remaining = (deadline - datetime.now(UTC)).total_seconds()
        if remaining <= 0:
            message = (
                f"no new image under {self.bucket_key} and no erasure request for the interval "
                f"[{context['data_interval_start']}, {context['data_interval_end']}) "
                f"after waiting {self.timeout:.0f}s"
            )
            self.log.warning(message)  # the task runner logs a skip without its message
            if self.soft_fail:
                raise AirflowSkipException(message)
            raise AirflowSensorTimeout(message)
        wait = min(self.poke_interval, remaining)
        self.log.info("no new image yet; next look in %.0fs (deferred)", wait)
        self.defer(
            trigger=NextLookTrigger(
                datetime.now(UTC) + timedelta(seconds=wait), deadline=deadline.isoformat()
            ),
            method_name="resume",
        )
