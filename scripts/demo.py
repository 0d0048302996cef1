"""make demo: the real fruit_features DAG, offline, on a local AWS whose EMR runs the steps.

    python -m scripts.demo [--images DIR] [--classes 6] [--per-class 40] [--output demo-output]

1. generate a Fruits-like sample (or use --images, e.g. Fruits-360's Test/ folder);
2. start the local AWS (python -m localaws), deploy the artifacts, upload the images;
3. run `airflow dags test fruit_features` against it, through the real DAG and operators;
4. print a summary and save the PCA report's figures under --output;
5. stop what it started.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd

from scripts.fruits_sample import generate
from scripts.seed_local import CREDENTIALS, REGION, local_client, seed

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
BUCKET = "fruits-demo"


def say(message: str) -> None:
    print(f"[demo {datetime.now():%H:%M:%S}] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LocalAws:
    """python -m localaws as a child process; its step events are echoed to the console."""

    def __init__(self, port: int, log_file: Path) -> None:
        self.endpoint = f"http://127.0.0.1:{port}"
        self.log_file = log_file
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "localaws",
                "--port",
                str(port),
                "--workdir",
                str(log_file.parent / "localaws-work"),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.ready = threading.Event()
        threading.Thread(target=self._echo, daemon=True).start()
        if not self.ready.wait(60):
            self.stop()
            raise RuntimeError(f"the local AWS did not start: see {log_file}")

    def _echo(self) -> None:
        with self.log_file.open("w") as log:
            for line in self.process.stdout:
                log.write(line)
                log.flush()
                if " ready on " in line:
                    self.ready.set()
                if "localaws.emr" in line:
                    say("EMR: " + line.split("localaws.emr: ", 1)[-1].strip())

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


def airflow_environment(endpoint: str, home: Path) -> dict[str, str]:
    connection = {
        "conn_type": "aws",
        "login": CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "password": CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        "extra": {"region_name": REGION, "endpoint_url": endpoint},
    }
    return {
        **os.environ,
        **CREDENTIALS,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW_CONN_AWS_DEFAULT": json.dumps(connection),
        "FRUITS_REGION": REGION,
        "FRUITS_DATA_BUCKET": BUCKET,
        "FRUITS_ARTIFACTS_URI": f"s3://{BUCKET}/artifacts/",
        "FRUITS_LOGS_URI": f"s3://{BUCKET}/emr-logs/",
        "FRUITS_WEIGHTS": "random",
        "FRUITS_SENSOR_TIMEOUT_SECONDS": "60",
        "FRUITS_SENSOR_POKE_SECONDS": "5",
        "FRUITS_STEP_POKE_SECONDS": "3",
    }


def airflow(environment: dict[str, str], *arguments: str, log: Path) -> str:
    """Run the airflow CLI; its output is appended to log, its stdout returned."""
    with log.open("a") as output:
        done = subprocess.run(
            [str(BIN / "airflow"), *arguments],
            env=environment,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=output,
            text=True,
            check=False,
        )
        output.write(done.stdout)
    if done.returncode != 0:
        raise RuntimeError(f"`airflow {' '.join(arguments)}` failed: see {log}")
    return done.stdout


def json_output(stdout: str):
    """The JSON an `airflow ... -o json` command printed last (warnings may come first)."""
    return json.loads(stdout.strip().splitlines()[-1])


def run_dag(environment: dict[str, str], run_date: str, log: Path) -> tuple[str, list[dict]]:
    """`airflow dags test fruit_features run_date`: the run's state and its task instances."""
    with contextlib.suppress(RuntimeError):  # a failed run is reported by its state
        airflow(environment, "dags", "test", "fruit_features", run_date, log=log)
    runs = airflow(environment, "dags", "list-runs", "fruit_features", "-o", "json", log=log)
    run = max(
        (run for run in json_output(runs) if run["logical_date"].startswith(run_date)),
        key=lambda run: run["run_after"],
    )
    states = ["tasks", "states-for-dag-run", "fruit_features", run["run_id"], "-o", "json"]
    return run["state"], json_output(airflow(environment, *states, log=log))


def task_lines(tasks: list[dict]) -> list[str]:
    lines = []
    for task in tasks:
        start, end = task.get("start_date"), task.get("end_date")
        seconds = float("nan")
        if start and end:
            seconds = (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
        lines.append(f"  {task['task_id']:<24} {task['state']:<10} {seconds:6.1f}s")
    return lines


def read_parquet(s3, prefix: str, bucket: str = BUCKET) -> pd.DataFrame:
    """Every Parquet file under s3://bucket/prefix, as one DataFrame.

    As Spark reads a dataset: folders starting with _ or . (_model/, _rejected/) are not
    part of it, and Hive-style folders (model=x/ingest_date=y/) become columns.
    """
    keys = [
        item["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for item in page.get("Contents", [])
        if item["Key"].endswith(".parquet")
        and not any(part.startswith(("_", ".")) for part in item["Key"][len(prefix) :].split("/"))
    ]
    frames = [
        pd.read_parquet(io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read())).assign(
            **dict(part.split("=", 1) for part in key.split("/")[:-1] if "=" in part)
        )
        for key in keys
    ]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def summarize(s3, output: Path, uploaded: int, state: str, tasks: list[str]) -> None:
    features = read_parquet(s3, "features/model=mobilenet_v2/")
    rejected = read_parquet(s3, "features/_rejected/model=mobilenet_v2/")
    report_prefix = "pca/model=mobilenet_v2/_report/"
    report_body = s3.get_object(Bucket=BUCKET, Key=report_prefix + "report.json")["Body"]
    report = json.loads(report_body.read())
    for name in ("explained_variance.png", "pca_scatter.png"):
        s3.download_file(BUCKET, report_prefix + name, str(output / name))

    print(f"\n=== fruit_features on the local AWS: run {state} ===")
    print(f"files uploaded:      {uploaded}")
    print(f"images featurized:   {len(features)} in {features['label'].nunique()} classes")
    print(f"images rejected:     {len(rejected)}")
    for row in rejected.itertuples():
        print(f"  - {'/'.join(row.path.rsplit('/', 2)[-2:])}: {row.reason}")
    print(
        f"PCA:                 k = {report['k']} components keep "
        f"{report['cumulative_variance'][-1]:.1%} of the variance ({report['rows']} rows)"
    )
    print("tasks:", *tasks, sep="\n")
    print(f"figures:             {output / 'explained_variance.png'}")
    print(f"                     {output / 'pca_scatter.png'}")
    print(f"logs:                {output}/")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=Path, help="a folder of class folders of images")
    parser.add_argument("--classes", type=int, default=6)
    parser.add_argument("--per-class", type=int, default=40)
    parser.add_argument("--output", type=Path, default=ROOT / "demo-output")
    args = parser.parse_args()
    started = time.monotonic()
    output = args.output.resolve()
    shutil.rmtree(output, ignore_errors=True)
    output.mkdir(parents=True)
    log = output / "airflow.log"

    images = args.images
    if images is None:
        images = output / "sample-images"
        generate(images, args.classes, args.per_class)
        say(f"generated {args.classes * args.per_class} Fruits-like images in {images}")

    local_aws = LocalAws(free_port(), output / "localaws.log")
    try:
        say(f"local AWS (S3 + EMR) on {local_aws.endpoint}")
        s3 = local_client("s3", local_aws.endpoint)
        deployed, uploaded = seed(s3, BUCKET, REGION, images)
        say(f"deployed {len(deployed)} artifacts to s3://{BUCKET}/artifacts/")
        say(f"uploaded {uploaded} files to s3://{BUCKET}/images/")

        environment = airflow_environment(local_aws.endpoint, output / "airflow-home")
        airflow(environment, "db", "migrate", log=log)
        # The run of tomorrow's date covers today's uploads: its data interval is [today, tomorrow).
        run_date = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%d")
        say(f"airflow dags test fruit_features {run_date} (about a minute; log: {log})")
        state, tasks = run_dag(environment, run_date, log)
        if state != "success":
            print(f"\nthe run {state}:", *task_lines(tasks), f"see {log}", sep="\n")
            raise SystemExit(1)
        summarize(s3, output, uploaded, state, task_lines(tasks))
    finally:
        local_aws.stop()
    say(f"done in {time.monotonic() - started:.0f}s; the local AWS is stopped")


if __name__ == "__main__":
    main()
