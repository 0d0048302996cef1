"""Both command-line contracts, run as a person would: `python spark_jobs/<script> ARGS`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from fruits_contract.jobs import JOBS
from fruits_contract.layout import published_folders
from fruitspark.models import identity
from scripts.fruits_sample import generate
from scripts.keras_export import Weights, export_onnx
from tests.spark_jobs.photos import write
from tests.spark_jobs.synthetic import write_synthetic_features

pytestmark = pytest.mark.slow
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


ENVIRONMENT = {key: value for key, value in os.environ.items() if key != "PYSPARK_PYTHON"}
# Loaded by every Python process of a job (driver and workers): as on an EMR node, where
# requirements-emr.txt installs no TensorFlow, importing it fails.
WITHOUT_TENSORFLOW = """
import sys


class NotOnTheCluster:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("tensorflow", "keras", "tf2onnx"):
            raise ImportError(f"{name} is not installed on the cluster")


sys.meta_path.insert(0, NotOnTheCluster())
"""


def job(name: str, *args: str, environment: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, f"spark_jobs/{JOBS[name].script}", *args],
        cwd=ROOT,
        env=environment or ENVIRONMENT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def published_report(output: Path) -> dict:
    version = json.loads((output / "_LATEST").read_text())["version"]
    return json.loads((output / version / "_report" / "report.json").read_text())


def test_featurize_then_pca_from_the_command_line_as_on_the_cluster(tmp_path):
    """With the deployed ONNX file, as the DAG runs them: no TensorFlow anywhere."""
    images, features, reduced = tmp_path / "images", tmp_path / "features", tmp_path / "pca"
    generate(images, classes=3, per_class=3)
    write(images / "Banana" / "broken.jpg", b"\xff\xd8 not really a jpeg")
    model_file = export_onnx("mobilenet_v2", Weights("random"))
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "sitecustomize.py").write_text(WITHOUT_TENSORFLOW)
    cluster = {**ENVIRONMENT, "PYTHONPATH": str(tmp_path / "site")}

    done = job(
        "featurize",
        "--input",
        f"file://{images}",
        "--output",
        str(features),
        "--ingest-date",
        "2026-11-20",
        "--model-file",
        str(model_file),
        environment=cluster,
    )
    assert done.returncode == 0, done.stderr
    assert "featurized 9, rejected 1 of 10 image(s)" in done.stderr
    assert identity(str(model_file)) in done.stderr
    cached = job(  # --weights random was exported above, and is cached: no TensorFlow either
        "featurize",
        "--input",
        str(images),
        "--output",
        str(tmp_path / "again"),
        environment=cluster,
    )
    assert cached.returncode == 0, cached.stderr
    assert f"cached ONNX model {model_file}" in cached.stderr
    uncached = job(
        "featurize",
        *("--input", str(images), "--output", str(tmp_path / "vgg"), "--model", "vgg16"),
        environment={**cluster, "FRUITSPARK_MODEL_CACHE": str(tmp_path / "empty-cache")},
    )
    assert uncached.returncode == 1
    assert "exporting vgg16 to ONNX needs TensorFlow" in uncached.stderr
    assert "Traceback" not in uncached.stderr

    done = job(
        "pca",
        "--input",
        str(features),
        "--output",
        str(reduced),
        "--variance",
        "0.8",
        environment=cluster,
    )
    assert done.returncode == 0, done.stderr
    report = published_report(reduced)
    assert (report["rows"], report["classes"]) == (9, 3)
    assert report["cumulative_variance"][-1] >= 0.8

    refused = job("pca", "--input", str(features), "--output", str(reduced), "--k", "5000")
    assert refused.returncode == 1
    assert "--k 5000 is larger than the feature size 1280" in refused.stderr
    assert published_report(reduced) == report


def wait_for(condition, process: subprocess.Popen, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, "the run ended before the moment to kill it"
        assert time.monotonic() < deadline, "the moment to kill never came"
        time.sleep(0.02)


def pca_killed_once_written(arguments: list[str], output: Path, marker: str) -> Path:
    """Run the PCA job and kill -9 it once a new version folder of output holds marker; that
    folder."""
    before = set(output.glob("v=*"))
    running = subprocess.Popen(
        [sys.executable, f"spark_jobs/{JOBS['pca'].script}", *arguments],
        cwd=ROOT,
        env=ENVIRONMENT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its JVM too
    )

    def new_version() -> Path | None:
        started = set(output.glob("v=*")) - before
        return next((path for path in started if any(path.glob(marker))), None)

    try:
        wait_for(new_version, running)
    finally:
        os.killpg(running.pid, signal.SIGKILL)
        running.wait()
    return new_version()


def test_a_pca_run_killed_while_writing_leaves_the_published_version(tmp_path):
    """kill -9 once a refit's rows are being written; then another refit, once its model is.
    Spark's committer stages the rows under _temporary; the model comes after them."""
    features, reduced = tmp_path / "features", tmp_path / "pca"
    write_synthetic_features(features, rows=2000, size=64)
    arguments = ["--input", str(features), "--output", str(reduced), "--k", "3", "--mode", "full"]
    assert job("pca", *arguments).returncode == 0
    latest = (reduced / "_LATEST").read_bytes()
    version = reduced / json.loads(latest)["version"]
    files_before = {path: path.stat().st_mtime_ns for path in version.rglob("*")}

    for marker in ("rows-*/_temporary", "_model"):
        killed = pca_killed_once_written(arguments, reduced, marker)
        assert not (killed / "_report" / "report.json").exists(), "killed before the end"
        assert (reduced / "_LATEST").read_bytes() == latest
        assert {path: path.stat().st_mtime_ns for path in version.rglob("*")} == files_before
        folders = published_folders(json.loads(latest))
        assert sum(pq.read_table(reduced / folder).num_rows for folder in folders) == 2000

    assert job("pca", *arguments).returncode == 0, "the next run publishes"
    assert json.loads((reduced / "_LATEST").read_text())["version"] > killed.name
