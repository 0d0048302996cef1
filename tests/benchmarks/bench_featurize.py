"""Featurize throughput against the bare-TensorFlow ceiling and the notebooks' pattern.

    make bench            (python -m tests.benchmarks.bench_featurize [--sizes 2048 8192])

Everything is measured in one run on the same generated images, side by side, and reported
as ratios: this machine is noisy, absolute figures are not comparable across runs.
- ceiling: MobileNetV2 on already-decoded batches, all cores, model loaded, in this process;
- job: featurize.run on local[2], from listing the files to the output written (the JVM is
  up, the Python workers start cold: TensorFlow's import is part of the job's cost);
- whole process: `python spark_jobs/featurize.py` against the notebooks' pattern, wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "spark_jobs"))

import featurize  # noqa: E402

from fruitspark import models  # noqa: E402
from fruitspark.images import image_to_array  # noqa: E402
from fruitspark.session import ship_package  # noqa: E402
from scripts.fruits_sample import generate  # noqa: E402
from tests.benchmarks.memory import python_worker_peak_mb  # noqa: E402

WORKDIR = ROOT / "bench-output"
CEILING_IMAGES = 1024
BATCH = 32


def sample(size: int) -> Path:
    folder = WORKDIR / f"images-{size}"
    if not folder.exists():
        generate(folder, classes=8, per_class=size // 8, seed=size)
    return folder


def ceiling(images: Path) -> float:
    """Images/s of the bare model on decoded batches, as in the notebooks' best case."""
    featurizer = models.build_featurizer("mobilenet_v2", models.Weights("random"))
    files = sorted(images.rglob("*.jpg"))[:BATCH]
    batch = np.stack([image_to_array(path.read_bytes()) for path in files])
    featurizer(batch)  # the first call traces the graph
    started = time.perf_counter()
    for _ in range(CEILING_IMAGES // BATCH):
        featurizer(batch)
    return CEILING_IMAGES / (time.perf_counter() - started)


def job_throughput(spark, images: Path, count: int) -> tuple[float, float]:
    output = WORKDIR / f"features-{count}"
    shutil.rmtree(output, ignore_errors=True)
    args = featurize.parse_args(["--input", str(images), "--output", str(output)])
    started = time.perf_counter()
    summary = featurize.run(spark, args)
    elapsed = time.perf_counter() - started
    assert summary["featurized"] == count, summary
    return count / elapsed, python_worker_peak_mb()


def fresh_spark():
    from pyspark.sql import SparkSession

    os.environ["PYSPARK_PYTHON"] = sys.executable
    spark = SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
    spark = spark.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    ship_package(spark)
    return spark


def wall_time(*command: str) -> float:
    environment = {**os.environ, "PYSPARK_PYTHON": sys.executable}
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=environment, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2048, 8192])
    parser.add_argument("--whole-process-size", type=int, default=2048)
    args = parser.parse_args()
    WORKDIR.mkdir(exist_ok=True)
    results: dict[str, dict] = {}

    for size in args.sizes:
        images = sample(size)
        spark = fresh_spark()  # new Python workers: each size pays the model load once
        roof = ceiling(images)
        rate, peak = job_throughput(spark, images, size)
        spark.stop()
        results[f"job_{size}"] = {
            "ceiling_images_per_s": round(roof, 1),
            "job_images_per_s": round(rate, 1),
            "ratio_to_ceiling": round(rate / roof, 3),
            "peak_python_worker_mb": round(peak),
        }
        print(
            f"{size} images: ceiling {roof:.1f}/s, job {rate:.1f}/s, "
            f"ratio {rate / roof:.2f}, peak Python worker {peak:.0f} MB",
            flush=True,
        )

    images = sample(args.whole_process_size)
    notebook = wall_time(
        sys.executable,
        "-m",
        "tests.benchmarks.notebook_pattern",
        str(images),
        str(WORKDIR / "notebook-features"),
    )
    ours = wall_time(
        sys.executable,
        "spark_jobs/featurize.py",
        "--input",
        str(images),
        "--output",
        str(WORKDIR / "cli-features"),
    )
    results["whole_process"] = {
        "images": args.whole_process_size,
        "notebook_pattern_s": round(notebook, 1),
        "featurize_s": round(ours, 1),
        "speedup": round(notebook / ours, 2),
    }
    print(
        f"whole process, {args.whole_process_size} images: notebooks' pattern {notebook:.1f}s, "
        f"featurize {ours:.1f}s, speed-up {notebook / ours:.2f}x",
        flush=True,
    )
    (WORKDIR / "results.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
