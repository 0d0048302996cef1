"""PCA's scale curve: seconds, rows/s and peak memory at 10,000, 50,000 and 100,000 rows.

    make bench        (python -m tests.benchmarks.bench_pca [--rows 10000 50000 100000]
                       [--sizes 1280 2048])

Each point is `python spark_jobs/fruits_pca.py --variance 0.95` as a user runs it: a fresh process,
local mode, Spark's default memory (no flags, no PYSPARK_SUBMIT_ARGS), on synthetic features
in featurize's layout. Peak memory is the resident set of the whole process tree (Python
driver and JVM), sampled every 0.2 s. Every run is then checked against numpy on a sample:
explained variance of the kept components, and the published projections of 1,000 rows.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psutil
import pyarrow.parquet as pq

from fruits_contract.jobs import PCA
from tests.spark_jobs.synthetic import write_synthetic_features

ROOT = Path(__file__).resolve().parents[2]
WORKDIR = ROOT / "bench-output" / "pca"
SAMPLE = 1000


def features(rows: int, size: int) -> tuple[Path, np.ndarray]:
    folder = WORKDIR / f"features-{rows}x{size}"
    matrix_file = folder.with_suffix(".npy")
    if not matrix_file.exists():
        matrix = write_synthetic_features(folder, rows, size, days=10)
        np.save(matrix_file, matrix)
    return folder, np.load(matrix_file)


def run_pca(features_folder: Path, output: Path) -> tuple[float, float]:
    """Wall seconds and peak resident MB of the process tree."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PYSPARK")}
    command = [sys.executable, f"spark_jobs/{PCA.script}", "--input", str(features_folder)]
    command += ["--output", str(output), "--variance", "0.95"]
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    root = psutil.Process(process.pid)
    peak = 0
    while process.poll() is None:
        try:
            tree = [root, *root.children(recursive=True)]
            peak = max(peak, sum(member.memory_info().rss for member in tree))
        except psutil.NoSuchProcess:
            pass
        time.sleep(0.2)
    elapsed = time.perf_counter() - started
    stderr = process.stderr.read().decode()
    if process.returncode != 0:
        raise RuntimeError(f"pca failed on {features_folder}:\n{stderr[-3000:]}")
    return elapsed, peak / 2**20


def check_against_numpy(matrix: np.ndarray, output: Path) -> float:
    """Largest relative error of explained variance and sampled projections (up to sign)."""
    version = output / json.loads((output / "_LATEST").read_text())["version"]
    report = json.loads((version / "_report" / "report.json").read_text())
    std = matrix.std(axis=0, ddof=1, dtype=np.float64)
    scaled = (matrix - matrix.mean(axis=0, dtype=np.float64)) / np.where(std > 0, std, 1)
    eigenvalues, eigenvectors = np.linalg.eigh(np.cov(scaled, rowvar=False))
    order = np.argsort(eigenvalues)[::-1][: report["k"]]
    explained = eigenvalues[order] / eigenvalues.sum()
    errors = [np.max(np.abs(np.array(report["explained_variance"]) - explained) / explained)]

    table = pq.read_table(version, columns=["path", "pca"]).to_pandas()
    sample = table.sample(SAMPLE, random_state=0)
    rows = [int(path.rsplit("/", 1)[1].split(".")[0]) for path in sample["path"]]
    expected = scaled[rows] @ eigenvectors[:, order]
    actual = np.stack(sample["pca"].to_numpy())
    for column in range(min(report["k"], 10)):  # the leading components are well separated
        sign = np.sign(actual[:, column] @ expected[:, column])
        scale = np.abs(expected[:, column]).max()
        errors.append(np.max(np.abs(sign * actual[:, column] - expected[:, column])) / scale)
    return float(max(errors))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 50_000, 100_000])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1280, 2048])
    args = parser.parse_args()
    print("PCA scale curve: fruits_pca.py --variance 0.95, local mode, Spark's default memory")
    print(f"{'rows':>8} {'size':>5} {'seconds':>8} {'rows/s':>8} {'peak MB':>8} {'vs numpy':>9}")
    for size in args.sizes:
        curve = []
        for rows in args.rows:
            folder, matrix = features(rows, size)
            output = WORKDIR / f"pca-{rows}x{size}"
            seconds, peak = run_pca(folder, output)
            error = check_against_numpy(matrix, output)
            curve.append((rows, seconds, peak))
            print(
                f"{rows:>8} {size:>5} {seconds:>8.1f} {rows / seconds:>8.0f} {peak:>8.0f}"
                f" {error:>9.1e}",
                flush=True,
            )
        (first_rows, first_seconds, first_peak), (last_rows, last_seconds, last_peak) = (
            curve[0],
            curve[-1],
        )
        print(
            f"  {size} features: {last_rows / first_rows:.0f}x the rows took "
            f"{last_seconds / first_seconds:.1f}x the time; peak memory "
            f"{last_peak / first_peak:.2f}x"
        )


if __name__ == "__main__":
    main()
