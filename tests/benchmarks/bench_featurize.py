"""Featurize throughput against the bare ONNX Runtime ceiling and the notebooks' pattern.

    make bench-featurize   (python -m tests.benchmarks.bench_featurize)

Everything is measured in one run on the same generated images, side by side, and reported
as ratios: this machine is noisy, absolute figures are not comparable across runs.
- ceiling: bare ONNX Runtime, MobileNetV2, 2 threads, on already-decoded batches of 32;
- job, steady: featurize.run on local[2] for 2,048 and for 8,192 images, each on a fresh
  Spark; (8,192 - 2,048) / (the time difference) cancels what both pay once (worker start,
  model load, listing, the write's commit);
- whole process: `python spark_jobs/fruits_featurize.py --model-file ...` on 2,048 images against
  the notebooks' pattern (tests/benchmarks/notebook_pattern.py) and the ceiling, wall time,
  in 3 rounds (medians of the ratios within each round); featurize as it runs here (the
  class-data archive `make venv` builds, C1 only), and the same job in a plain JVM;
- Keras against ONNX Runtime, steady, for each CNN; a Python worker's fixed cost (import and
  model load) for each runtime; ONNX Runtime's speed at other batch sizes.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from fruits_contract.cnns import CNNS
from fruits_contract.jobs import FEATURIZE
from fruitspark import models
from fruitspark.featurize.arguments import parse_args
from fruitspark.featurize.job import run
from fruitspark.images import image_to_array
from fruitspark.session import CLASS_ARCHIVE_VARIABLE, class_archive, local_jvm_conf, ship_package
from scripts import keras_export
from scripts.fruits_sample import generate
from tests.benchmarks.memory import python_worker_peak_mb

ROOT = Path(__file__).resolve().parents[2]

WORKDIR = ROOT / "bench-output"
BATCH = 32
RANDOM = keras_export.Weights("random")
FIXED_COST = {
    "onnxruntime": (
        "import onnxruntime; onnxruntime.InferenceSession({path!r}, "
        "providers=['CPUExecutionProvider'])"
    ),
    "keras": (
        "from scripts.keras_export import build_keras, Weights; "
        "build_keras('mobilenet_v2', Weights('random'))"
    ),
}

# featurize's main() without its local JVM options (run with no class-data archive either).
PLAIN_JVM_JOB = (
    "import sys; from fruitspark.featurize import job; from fruitspark.session import run_job; "
    "sys.exit(run_job('featurize', {arguments!r}, None, job.parse_args, job.run, "
    "job.INPUT_ERRORS))"
)


def sample(size: int) -> Path:
    folder = WORKDIR / f"images-{size}"
    if not folder.exists():
        generate(folder, classes=8, per_class=size // 8, seed=size)
    return folder


def decoded_batch(images: Path, size: int = BATCH) -> np.ndarray:
    files = sorted(images.rglob("*.jpg"))[:size]
    return np.stack([image_to_array(path.read_bytes()) for path in files])


def images_per_second(run, batch: np.ndarray, seconds: float = 8.0) -> float:
    """Steady speed of run(batch): one warm-up call, then whole calls for about `seconds`."""
    run(batch)
    calls, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        run(batch)
        calls += 1
    return calls * len(batch) / (time.perf_counter() - started)


def fresh_spark():
    from pyspark.sql import SparkSession

    os.environ["PYSPARK_PYTHON"] = sys.executable
    spark = SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
    spark = spark.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    ship_package(spark)
    return spark


def job_seconds(images: Path, count: int, model_file: Path) -> tuple[float, float]:
    """featurize's run on a fresh local[2] Spark: (seconds, peak Python worker MB)."""
    spark = fresh_spark()
    output = WORKDIR / f"features-{count}"
    shutil.rmtree(output, ignore_errors=True)
    arguments = ["--input", str(images), "--output", str(output), "--model-file", str(model_file)]
    started = time.perf_counter()
    summary = run(spark, parse_args(arguments))
    elapsed = time.perf_counter() - started
    peak = python_worker_peak_mb()  # while the workers are alive
    spark.stop()
    assert summary["featurized"] == count, summary
    return elapsed, peak


def wall_time(*command: str, **variables: str) -> float:
    environment = {**os.environ, "PYSPARK_PYTHON": sys.executable, **variables}
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=environment, check=True, capture_output=True)
    return time.perf_counter() - started


def fixed_cost(runtime: str, model_file: Path) -> float:
    """Seconds a new Python process spends importing the runtime and loading the model."""
    return wall_time(sys.executable, "-c", FIXED_COST[runtime].format(path=str(model_file)))


def whole_process(images: Path, count: int, model_file: Path, batch, rounds: int) -> dict:
    """Rounds of, back to back: the notebooks' pattern, the ceiling, featurize's command line,
    and the same job in a plain JVM (neither the class-data archive nor featurize's local
    JVM options). Each ratio is taken within its round, since this machine's speed drifts
    between rounds; the medians of the rounds are reported."""
    if not local_jvm_conf():
        raise SystemExit(f"no class-data archive at {class_archive()}: run `make venv`")
    notebook_pattern = [sys.executable, "-m", "tests.benchmarks.notebook_pattern", str(images)]
    arguments = ["--input", str(images), "--model-file", str(model_file), "--output"]
    cli = [
        sys.executable,
        f"spark_jobs/{FEATURIZE.script}",
        *arguments,
        str(WORKDIR / "cli-features"),
    ]
    plain_jvm = [
        sys.executable,
        "-c",
        PLAIN_JVM_JOB.format(arguments=[*arguments, str(WORKDIR / "plain-jvm-features")]),
    ]
    measured = []
    for number in range(1, rounds + 1):
        notebook = wall_time(*notebook_pattern, str(WORKDIR / "notebook-features"))
        roof = images_per_second(models.OnnxFeaturizer(str(model_file), cores=2), batch)
        ours = wall_time(*cli)
        plain = wall_time(*plain_jvm, **{CLASS_ARCHIVE_VARIABLE: ""})
        measured.append(
            {
                "notebook_pattern_s": notebook,
                "ceiling_images_per_s": roof,
                "featurize_s": ours,
                "speedup": notebook / ours,
                "ratio_to_ceiling": count / ours / roof,
                "plain_jvm_s": plain,
                "speedup_plain_jvm": notebook / plain,
                "ratio_to_ceiling_plain_jvm": count / plain / roof,
            }
        )
        print(
            f"whole process, {count} images, round {number}: notebooks' pattern {notebook:.1f}s;"
            f" featurize {ours:.1f}s, {notebook / ours:.2f}x faster, "
            f"{count / ours / roof:.2f}x the ceiling ({roof:.0f} images/s); in a plain JVM "
            f"{plain:.1f}s, {notebook / plain:.2f}x, {count / plain / roof:.2f}x",
            flush=True,
        )
    medians = {key: round(statistics.median(m[key] for m in measured), 3) for key in measured[0]}
    print(f"whole process, medians of {rounds} rounds: {medians}", flush=True)
    rounded = [{key: round(value, 3) for key, value in m.items()} for m in measured]
    return {"images": count, "rounds": rounds, **medians, "each_round": rounded}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--small", type=int, default=2048)
    parser.add_argument("--large", type=int, default=8192)
    parser.add_argument("--rounds", type=int, default=3, help="of the whole-process comparison")
    args = parser.parse_args()
    WORKDIR.mkdir(exist_ok=True)
    results: dict[str, dict] = {}
    model_files = {cnn: keras_export.export_onnx(cnn, RANDOM) for cnn in CNNS}
    mobilenet = model_files["mobilenet_v2"]
    small, large = sample(args.small), sample(args.large)
    batch = decoded_batch(small)

    roof = images_per_second(models.OnnxFeaturizer(str(mobilenet), cores=2), batch)
    small_seconds, _ = job_seconds(small, args.small, mobilenet)
    large_seconds, peak = job_seconds(large, args.large, mobilenet)
    steady = (args.large - args.small) / (large_seconds - small_seconds)
    results["job"] = {
        "ceiling_images_per_s": round(roof, 1),
        f"job_{args.small}_s": round(small_seconds, 1),
        f"job_{args.large}_s": round(large_seconds, 1),
        f"job_{args.large}_images_per_s": round(args.large / large_seconds, 1),
        "job_steady_images_per_s": round(steady, 1),
        "steady_ratio_to_ceiling": round(steady / roof, 3),
        "peak_python_worker_mb": round(peak),
    }
    print(f"ceiling (bare ONNX Runtime, 2 threads): {roof:.1f} images/s", flush=True)
    print(
        f"job: {args.small} images in {small_seconds:.1f}s, {args.large} in "
        f"{large_seconds:.1f}s; steady {steady:.1f}/s = {steady / roof:.2f}x the ceiling",
        flush=True,
    )

    results["whole_process"] = whole_process(small, args.small, mobilenet, batch, args.rounds)

    for cnn, model_file in model_files.items():
        keras_model = keras_export.build_keras(cnn, RANDOM)
        seconds = 8.0 if cnn == "mobilenet_v2" else 20.0
        keras = images_per_second(
            lambda images, model=keras_model, cnn=cnn: keras_export.keras_features(
                cnn, model, images
            ),
            batch,
            seconds,
        )
        onnx = images_per_second(models.OnnxFeaturizer(str(model_file), 2), batch, seconds)
        results[f"keras_vs_onnx_{cnn}"] = {
            "keras_images_per_s": round(keras, 1),
            "onnxruntime_images_per_s": round(onnx, 1),
            "ratio": round(onnx / keras, 2),
        }
        print(f"{cnn}: Keras {keras:.1f}/s, ONNX Runtime {onnx:.1f}/s ({onnx / keras:.2f}x)")

    results["worker_fixed_cost_s"] = {
        runtime: round(fixed_cost(runtime, mobilenet), 2) for runtime in FIXED_COST
    }
    print(f"a Python worker's import + model load: {results['worker_fixed_cost_s']}")
    session = models.OnnxFeaturizer(str(mobilenet), cores=2)
    by_batch = {size: images_per_second(session, batch[:size], 4.0) for size in (8, 31, 32)}
    results["onnxruntime_batch_sizes"] = {str(k): round(v, 1) for k, v in by_batch.items()}
    print(f"ONNX Runtime images/s by batch size: {results['onnxruntime_batch_sizes']}")
    (WORKDIR / "results.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
