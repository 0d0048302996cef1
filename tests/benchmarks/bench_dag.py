"""The whole DAG at scale: 20,000 generated images through the real DAG on the local AWS.

    make bench-dag     (python -m tests.benchmarks.bench_dag [--images 20000])

Uploads the images (and a few broken and empty files) to the local AWS, runs
`airflow dags test fruit_features` as `make demo` does, then prints each task's time, each
EMR step's time and throughput, the peak memory of a Spark Python worker, and checks that
every uploaded file is accounted for: featurized + rejected = uploaded.
"""

from __future__ import annotations

import argparse
import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from localaws.airflow_runs import airflow, airflow_environment, run_dag, task_lines
from localaws.client import REGION, client, read_latest, read_parquet
from localaws.process import LocalAws
from scripts.fruits_sample import CLASS_NAMES, generate
from scripts.seed_local import seed
from tests.benchmarks.memory import WorkerMemoryWatch
from tests.spark_jobs.photos import broken_files, write

ROOT = Path(__file__).resolve().parents[2]
WORKDIR = ROOT / "bench-output" / "dag"
BUCKET = "fruits-bench"
MODEL = "mobilenet_v2"


def sample(count: int) -> Path:
    """count Fruits-like images in 12 classes, plus broken files and an empty one."""
    folder = WORKDIR / f"images-{count}"
    if not folder.exists():
        generate(folder, classes=len(CLASS_NAMES), per_class=count // len(CLASS_NAMES))
        for name, (data, _) in broken_files().items():
            write(folder / "Broken" / name, data)
    return folder


def step_lines(emr, cluster_id: str, images: int, rows: int) -> list[str]:
    lines = []
    for step in reversed(emr.list_steps(ClusterId=cluster_id)["Steps"]):
        timeline = step["Status"]["Timeline"]
        seconds = (timeline["EndDateTime"] - timeline["StartDateTime"]).total_seconds()
        count, unit = (images, "images") if step["Name"] == "featurize" else (rows, "rows")
        lines.append(
            f"  {step['Name']:<10} {step['Status']['State']:<10} {seconds:7.1f}s "
            f"{count / seconds:8.1f} {unit}/s"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=20_000)
    args = parser.parse_args()
    images = sample(args.images)
    run_folder = WORKDIR / "run"
    shutil.rmtree(run_folder, ignore_errors=True)
    run_folder.mkdir(parents=True)
    log = run_folder / "airflow.log"

    with LocalAws(run_folder / "localaws.log") as aws:
        s3, emr = client("s3", aws.endpoint), client("emr", aws.endpoint)
        started = time.perf_counter()
        _, uploaded = seed(s3, BUCKET, REGION, images)
        upload_seconds = time.perf_counter() - started
        print(f"uploaded {uploaded} files in {upload_seconds:.0f}s", flush=True)

        environment = airflow_environment(aws.endpoint, run_folder / "airflow-home", BUCKET)
        environment["FRUITS_POKE_SECONDS"] = "10"
        airflow(environment, "db", "migrate", log=log)
        run_date = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%d")
        watch = WorkerMemoryWatch()
        watch.start()
        started = time.perf_counter()
        state, tasks = run_dag(environment, run_date, log)
        dag_seconds = time.perf_counter() - started
        worker_peak = watch.stop()

        features = read_parquet(s3, BUCKET, f"features/model={MODEL}/")
        rejected = read_parquet(s3, BUCKET, f"features/_rejected/model={MODEL}/")
        pca = read_latest(s3, BUCKET, f"pca/model={MODEL}/")
        (cluster,) = emr.list_clusters()["Clusters"]
        print(f"\n=== fruit_features on the local AWS, {uploaded} files: run {state} ===")
        print(f"dags test:        {dag_seconds:.0f}s")
        print("tasks:", *task_lines(tasks), sep="\n")
        print("EMR steps:", *step_lines(emr, cluster["Id"], uploaded, len(features)), sep="\n")
        exact = len(features) + len(rejected) == uploaded
        print(
            f"featurized {len(features)} + rejected {len(rejected)} = {uploaded} uploaded: ", end=""
        )
        print("exact" if exact else "MISMATCH")
        print(f"PCA rows:         {len(pca)} (k = {len(pca['pca'].iloc[0])})")
        print(f"peak Python worker: {worker_peak:.0f} MB")
        if state != "success" or not exact:
            raise SystemExit(1)


if __name__ == "__main__":
    main()
