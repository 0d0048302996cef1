"""Both command-line contracts, run as a person would: `python spark_jobs/<job>.py ARGS`."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from scripts.fruits_sample import generate
from tests.spark_jobs.photos import write

pytestmark = pytest.mark.slow
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def job(name: str, *args: str) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if key != "PYSPARK_PYTHON"}
    return subprocess.run(
        [sys.executable, f"spark_jobs/{name}.py", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_featurize_then_pca_from_the_command_line(tmp_path):
    images, features, reduced = tmp_path / "images", tmp_path / "features", tmp_path / "pca"
    generate(images, classes=3, per_class=3)
    write(images / "Banana" / "broken.jpg", b"\xff\xd8 not really a jpeg")

    done = job(
        "featurize",
        "--input",
        f"file://{images}",
        "--output",
        str(features),
        "--ingest-date",
        "2026-11-20",
    )
    assert done.returncode == 0, done.stderr
    assert "featurized 9, rejected 1 of 10 image(s)" in done.stderr

    done = job("pca", "--input", str(features), "--output", str(reduced), "--variance", "0.8")
    assert done.returncode == 0, done.stderr
    report = json.loads((reduced / "_report" / "report.json").read_text())
    assert (report["rows"], report["classes"]) == (9, 3)
    assert report["cumulative_variance"][-1] >= 0.8

    refused = job("pca", "--input", str(features), "--output", str(reduced), "--k", "5000")
    assert refused.returncode == 1
    assert "--k 5000 is larger than the feature size 1280" in refused.stderr
    assert json.loads((reduced / "_report" / "report.json").read_text()) == report
