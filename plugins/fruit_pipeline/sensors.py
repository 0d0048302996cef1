"""Wait, deferred, for new images under the images prefix, or for pending erasure requests:
each poke lists only the open day folders of the landing layout (fruits_contract.landing),
not every image ever stored, and one page of the requests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor
from airflow.providers.standard.triggers.temporal import DateTimeTrigger
from airflow.sdk import Context
from airflow.sdk.exceptions import AirflowFailException, AirflowSensorTimeout, AirflowSkipException
from airflow.triggers.base import TriggerEvent

from fruits_contract.erasure import REQUESTS, is_request_key
from fruits_contract.image_files import is_apple_double, is_image
from fruits_contract.landing import OUTSIDE, LandingState, is_day_folder


def counted(item: dict[str, Any]) -> bool:
    """An image featurize can take: the job's own definition (fruits_contract.image_files).
    AppleDouble files have an image's name but nothing to featurize: no cluster for them."""
    return is_image(item["Key"]) and not is_apple_double(item["Key"])


def refuse_unknown_params(context: Context) -> None:
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

    A poke lists the prefix's top level (one request per 1,000 folders), then the open landing
    folders (fruits_contract.landing: two or three a day in steady state, every one since the
    last run after an outage), what is outside the layout, and the images directly under the
    prefix. An image is new when it landed since featurize last listed its folder
    (`landing_state`, templated: the model's LandingState). A full or reconcile run's poke
    lists everything, as its featurize will. Only the hook's public methods are used, and
    folder names are read literally (brackets, ? and # included).

    The provider's deferrable mode hands the wait to S3KeyTrigger, which fires as soon as any
    key matches, HEADs every object and re-defers with a fresh timeout: with yesterday's images
    in place it would wake at every poke and never time out. Here each poke is the sensor's
    own listing (LastModified comes with it, no HEAD), and between pokes the task defers on a
    NextLookTrigger, freeing its worker slot, until a deadline carried across deferrals in the
    trigger's event.
    """

    template_fields = (*S3KeySensor.template_fields, "landing_state")

    def __init__(self, *, erasure_requests: str, landing_state: str, **kwargs: Any) -> None:
        self.erasure_requests = erasure_requests  # s3://bucket/erasure/requests/
        self.landing_state = landing_state  # s3://bucket/features/_landing/model=<cnn>.json
        super().__init__(deferrable=True, **kwargs)

    # The provider's returns nothing: this one's return value is the task's XCom.
    def execute(self, context: Context) -> dict[str, int]:  # type: ignore[override]
        """What was found, as the task's XCom: {"images", "bytes", "erasure_requests"}."""
        refuse_unknown_params(context)  # the DAG's first task: nothing has called AWS yet
        return self.look_or_defer(context, datetime.now(UTC) + timedelta(seconds=self.timeout))

    def poke(self, context: Context) -> bool:
        """Every open folder is listed, even once one has new images: the cluster is sized
        from all of them (self.found, the task's XCom)."""
        erasures = self.pending_erasures()
        new = self.new_images(context)  # key -> size of each new image
        self.found = {
            "images": len(new),
            "bytes": sum(new.values()),
            "erasure_requests": erasures,
        }
        if not (new or erasures):
            return False
        self.log.info("%d new image(s), %d bytes", self.found["images"], self.found["bytes"])
        return True

    def new_images(self, context: Context) -> dict[str, int]:
        if not isinstance(self.bucket_key, str):
            raise TypeError(f"the sensor watches one prefix, not {self.bucket_key!r}")
        bucket, prefix = self.hook.parse_s3_url(self.bucket_key.removesuffix("*"))
        if context["params"].get("mode") in ("full", "reconcile"):
            return {
                item["Key"]: item["Size"] for item in self.objects(bucket, prefix) if counted(item)
            }
        state = self.read_state()
        new = {}
        for folder, objects in self.open_folders(bucket, prefix, state).items():
            images = [item for item in objects if counted(item)]
            keys = set(
                state.new_in(folder, [(item["Key"], item["LastModified"]) for item in images])
            )
            new.update({item["Key"]: item["Size"] for item in images if item["Key"] in keys})
        return new

    def objects(self, bucket: str, prefix: str, delimiter: str = "") -> list[dict[str, Any]]:
        """Every object under prefix (of its top level only, with delimiter), with its
        LastModified and Size: the hook's listing, unfiltered."""
        return self.hook.list_keys(
            bucket, prefix, delimiter=delimiter, object_filter=lambda objects, *_: objects
        )

    def read_state(self) -> LandingState:
        bucket, key = self.hook.parse_s3_url(self.landing_state)
        if not self.hook.check_for_key(key, bucket):
            return LandingState()  # no run took anything yet: every folder is open
        return LandingState.from_json(self.hook.read_key(key, bucket))

    def open_folders(self, bucket: str, prefix: str, state: LandingState) -> dict[str, list]:
        """folder -> its objects, for the open day folders and OUTSIDE (every folder outside
        the layout, and the prefix's own top level)."""
        folders = [
            folder.removeprefix(prefix).rstrip("/")
            for folder in self.hook.list_prefixes(bucket, prefix, delimiter="/")
        ]
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
        listed = {OUTSIDE: self.objects(bucket, prefix, delimiter="/")}
        for folder in outside:
            listed[OUTSIDE] += self.objects(bucket, f"{prefix}{folder}/")
        for folder in folders:
            if is_day_folder(folder) and state.is_open(folder):
                listed[folder] = self.objects(bucket, f"{prefix}{folder}/")
        return listed

    def pending_erasures(self) -> int:
        """How many erasure requests wait (up to a page of them): the steps then start with
        erase. A request is a reason to run on a day without images; a folder marker or
        another file under requests/ is not."""
        bucket, prefix = self.hook.parse_s3_url(self.erasure_requests)
        listed = self.hook.list_keys(bucket, prefix, page_size=1000, max_items=1000)
        erasure_prefix = prefix.removesuffix(REQUESTS)
        pending = sum(is_request_key(key, erasure_prefix) for key in listed)
        if pending:
            self.log.info("%d erasure request(s) pending under %s", pending, self.erasure_requests)
        return pending

    def resume(self, context: Context, event: dict[str, Any]) -> dict[str, int]:
        return self.look_or_defer(context, datetime.fromisoformat(event["deadline"]))

    def look_or_defer(self, context: Context, deadline: datetime) -> dict[str, int]:
        if self.poke(context):
            return self.found
        remaining = (deadline - datetime.now(UTC)).total_seconds()
        if remaining <= 0:
            message = (
                f"no new image under {self.bucket_key} (none landed since featurize last "
                f"listed its folder) and no erasure request after waiting {self.timeout:.0f}s"
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
