"""Discovery at scale: a day's S3 requests with 0 and with 100,000 older images stored.

    make bench-discovery     (python -m tests.benchmarks.bench_discovery [--older 100000])

For each case, on a fresh local AWS: the older images (tiny objects: only the listing matters)
in earlier days' folders, closed as a deployment that ran every day leaves them (its landing
state, fruits_contract.landing), then three rounds of 200 new images in today's folder, each
taken by a run of `airflow dags test fruit_features` with moto's recorder on. Prints the
medians of the ListObjects requests and all S3 requests a run made, the sensor's time, featurize's
listing time (from its step log) and the whole run's; and, side by side, the requests of a
full listing of the images prefix, what every poke and featurize made before the layout.
"""

from __future__ import annotations

import argparse
import gzip
import os
import re
import shutil
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fruits_contract.landing import LandingState
from fruits_contract.layout import landing_state_key
from fruitspark.listing import filesystem_of, list_files
from localaws.airflow_runs import airflow, airflow_environment, run_dag, task_seconds
from localaws.client import CREDENTIALS, REGION, client, upload_folder
from localaws.process import LocalAws
from localaws.recorder import recorded_requests
from scripts.fruits_sample import generate
from scripts.seed_local import seed
from tests.spark_jobs.photos import write

ROOT = Path(__file__).resolve().parents[2]
WORKDIR = ROOT / "bench-output" / "discovery"
BUCKET = "fruits-bench"
NEW_IMAGES = 200
ROUNDS = 3  # runs of each case; the medians are printed
PER_OLDER_DAY = 1000
RUN_DATE = datetime.now(UTC).date() + timedelta(days=1)  # its interval is today
LISTED = re.compile(r"listed (\d+) object\(s\) under \S+ in ([\d.]+)s")


def older_objects(s3, count: int) -> None:
    """count tiny objects, PER_OLDER_DAY in each earlier day's folder."""
    folder = WORKDIR / "older-day"
    if not folder.exists():
        for number in range(PER_OLDER_DAY):
            write(folder / "Pear" / f"{number}.jpg", b"x")
    for day in range(count // PER_OLDER_DAY):
        upload_folder(s3, folder, BUCKET, "images/", datetime.now(UTC) - timedelta(days=day + 2))


def featurize_listing(s3) -> tuple[int, float]:
    """(objects, seconds) of the last featurize's listing, from its step's stdout."""
    logs = [
        item
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix="emr-logs/")
        for item in page.get("Contents", [])
        if item["Key"].endswith("/stdout.gz")
    ]
    for item in sorted(logs, key=lambda item: item["LastModified"], reverse=True):
        text = gzip.decompress(s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read())
        if found := LISTED.search(text.decode()):
            return int(found[1]), float(found[2])
    raise SystemExit("featurize's step log has no listing line")


def closed_as_daily_runs_leave_them(s3) -> None:
    """The landing state of a deployment whose daily runs took everything before today's
    and yesterday's folders."""
    closed = (datetime.now(UTC).date() - timedelta(days=2)).isoformat()
    key = f"features/{landing_state_key('mobilenet_v2')}"
    s3.put_object(Bucket=BUCKET, Key=key, Body=LandingState(closed).to_json().encode())


def full_listing_requests(endpoint: str) -> int:
    """What a full listing of images/ costs: the sensor's and featurize's before the layout."""
    os.environ.update({**CREDENTIALS, "AWS_ENDPOINT_URL": endpoint, "AWS_REGION": REGION})
    filesystem_of.cache_clear()  # each case has its own local AWS, on its own port
    with recorded_requests(endpoint) as served:
        sum(1 for _ in list_files(f"s3://{BUCKET}/images/"))
    return sum(request.is_list_objects for request in served)


def new_batch(number: int) -> Path:
    folder = WORKDIR / f"new-{number}"
    if not folder.exists():
        generate(folder, classes=4, per_class=NEW_IMAGES // 4, start=1000 * number)
    return folder


def one_case(older: int) -> dict:
    folder = WORKDIR / f"older-{older}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    with LocalAws(folder / "localaws.log") as aws:
        s3 = client("s3", aws.endpoint)
        started = time.perf_counter()
        seed(s3, BUCKET, REGION, new_batch(0))  # the artifacts, and the first round's images
        older_objects(s3, older)
        closed_as_daily_runs_leave_them(s3)
        print(f"{older} older objects stored in {time.perf_counter() - started:.0f}s", flush=True)
        environment = airflow_environment(aws.endpoint, folder / "airflow-home", BUCKET)
        environment["FRUITS_POKE_SECONDS"] = "10"
        log = folder / "airflow.log"
        airflow(environment, "db", "migrate", log=log)
        rounds = []
        for number in range(ROUNDS):
            if number:  # another 200 under new names: what the round's run takes
                upload_folder(s3, new_batch(number), BUCKET, "images/")
            rounds.append(one_run(aws.endpoint, s3, environment, log))
        median = {key: statistics.median(run[key] for run in rounds) for key in rounds[0]}
        case = {"older": older, **median, "full_listing": full_listing_requests(aws.endpoint)}
        print(case, flush=True)
        return case


def one_run(endpoint: str, s3, environment: dict[str, str], log: Path) -> dict:
    with recorded_requests(endpoint) as served:
        started = time.perf_counter()
        state, tasks = run_dag(environment, RUN_DATE.isoformat(), log)
        run_seconds = time.perf_counter() - started
    if state != "success":
        raise SystemExit(f"the run ended {state}: see {log}")
    listed, listing_seconds = featurize_listing(s3)
    sensor = next(task for task in tasks if task["task_id"] == "wait_for_new_images")
    return {
        "list_objects": sum(request.is_list_objects for request in served),
        "s3_requests": sum(request.is_s3 for request in served),
        "sensor_seconds": task_seconds(sensor),
        "listed": listed,
        "listing_seconds": listing_seconds,
        "run_seconds": run_seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--older", type=int, default=100_000)
    args = parser.parse_args()
    cases = [one_case(0), one_case(args.older)]
    print(f"\n=== a daily run with {NEW_IMAGES} new images, on the local AWS ===")
    print(
        f"{'older images':>12} {'ListObjects':>11} {'S3 requests':>11} {'sensor':>7} "
        f"{'listed':>7} {'listing':>8} {'run':>6} {'full listing':>12}"
    )
    for case in cases:
        print(
            f"{case['older']:>12,} {case['list_objects']:>11} {case['s3_requests']:>11} "
            f"{case['sensor_seconds']:>6.1f}s {case['listed']:>7} {case['listing_seconds']:>7.2f}s "
            f"{case['run_seconds']:>5.0f}s {case['full_listing']:>12}"
        )
    empty, full = cases
    extra = full["list_objects"] - empty["list_objects"]
    ratio = full["run_seconds"] / empty["run_seconds"]
    print(f"ListObjects: {extra:+d} with {args.older:,} older images (goal: at most +3)")
    print(f"run time: {ratio:.2f}x (goal: within 1.2x)")
    if extra > 3 or ratio > 1.2:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
