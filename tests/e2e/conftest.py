"""A running local AWS, deployed artifacts and an Airflow home: the `make demo` path."""

from __future__ import annotations

import contextlib
import io
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from platform import machine

import pyarrow.parquet as pq
import pytest

from localaws.airflow_runs import airflow, airflow_environment, database, run_dag
from localaws.client import REGION, client
from localaws.process import LocalAws
from scripts.deploy import deploy
from scripts.keras_export import Weights
from tests.airflow_env import unmeasured

BUCKET = "fruits-e2e"


@dataclass
class Stack:
    endpoint: str
    s3: object
    emr: object
    environment: dict[str, str]
    log: Path

    def run(
        self, run_date: str, conf: dict | None = None, **overrides: str
    ) -> tuple[str, dict[str, str], dict]:
        """Run the DAG for run_date: its state, task states, and the cluster it created."""
        before = {cluster["Id"] for cluster in self.emr.list_clusters()["Clusters"]}
        state, tasks = run_dag({**self.environment, **overrides}, run_date, self.log, conf)
        created = [c for c in self.emr.list_clusters()["Clusters"] if c["Id"] not in before]
        cluster = (
            self.emr.describe_cluster(ClusterId=created[0]["Id"])["Cluster"] if created else {}
        )
        return state, {task["task_id"]: task["state"] for task in tasks}, cluster

    def has_deferred(self, task_id: str, run_date: str) -> bool:
        """Whether task_id of the run dated run_date has deferred once (it then has a
        next_method), read from the Airflow home's database while the run goes on."""
        query = (
            "SELECT task_instance.next_method FROM task_instance JOIN dag_run"
            " ON task_instance.dag_id = dag_run.dag_id AND task_instance.run_id = dag_run.run_id"
            " WHERE task_instance.task_id = ? AND dag_run.logical_date LIKE ?"
        )
        with contextlib.closing(sqlite3.connect(database(self.environment), timeout=30)) as db:
            rows = db.execute(query, (task_id, f"{run_date}%")).fetchall()
        return any(next_method for (next_method,) in rows)

    def keys(self, prefix: str) -> dict[str, str]:
        """key -> ETag of every object under prefix."""
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
        return {item["Key"]: item["ETag"] for page in pages for item in page.get("Contents", [])}


def parquet_paths(stack: Stack, prefix: str) -> set[str]:
    """The path column of every Parquet file of rows under prefix, every kept version and
    whatever a manifest names: not the fitted models' own files (_model/)."""
    paths = set()
    for key in stack.keys(prefix):
        if key.endswith(".parquet") and "/_model/" not in key:
            body = stack.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
            paths |= set(pq.read_table(io.BytesIO(body), columns=["path"])["path"].to_pylist())
    return paths


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    folder = tmp_path_factory.mktemp("e2e")
    local_aws = LocalAws(folder / "localaws.log")
    try:
        s3 = client("s3", local_aws.endpoint)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        # As infra/fruits-pipeline.yaml makes it: an erasure must delete every version.
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        # What the runs read, not all the demo's deploy has: the default CNN and VGG16 (the
        # model of a run's conf), not ResNet50; the nodes' environments of the m5 instances
        # the runs plan (x86_64) and of the local node (this machine).
        cnns = ("mobilenet_v2", "vgg16")
        architectures = sorted({"x86_64", machine()})
        deploy(f"s3://{BUCKET}/artifacts/", s3, Weights("random"), cnns, architectures)
        home = folder / "airflow-home"
        environment = unmeasured(airflow_environment(local_aws.endpoint, home, BUCKET))
        environment["FRUITS_SENSOR_TIMEOUT_SECONDS"] = "0"
        log = folder / "airflow.log"
        airflow(environment, "db", "migrate", log=log)
        yield Stack(local_aws.endpoint, s3, client("emr", local_aws.endpoint), environment, log)
    finally:
        local_aws.stop()
