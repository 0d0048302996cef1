"""PCA's daily curve: one new day of 10,000 rows on 0, 250,000 and 1,000,000 rows of history.

    make bench-pca    (python -m tests.benchmarks.bench_pca [--history 0 250000 1000000]
                       [--day-rows 10000] [--size 1280] [--rounds 3] [--baseline-rounds 1]
                       [--baseline-timeout 3600])

History is synthetic features of one distribution in featurize's layout, 10,000 rows a day
up to the day before the new one. Its statistics are computed by the set-up: a first PCA
run over the history, which publishes the version the daily run then appends to. Then, for
each history, side by side:

- daily:      the new day arrives; the run that follows (no refit due: the same distribution);
- refit:      the same data with --mode full: every row re-projected;
- full refit: the same data with the PCA job as it was before its statistics (the commit
              BASELINE), which refitted on all history every day. It is stopped after
              --baseline-timeout seconds (default 3600): a stopped run prints as ">", and
              its ratios are lower bounds.

Each is `python spark_jobs/fruits_pca.py --variance 0.95` as a user runs it: a fresh process,
local mode, Spark's default memory. Peak memory is the resident set of the whole process
tree (Python driver, JVM, workers), sampled every 0.2 s. Each figure is the median of
--rounds rounds; the full refit before, ten minutes at 1,000,000 rows, of --baseline-rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import psutil

from fruits_contract.jobs import PCA
from fruits_contract.layout import STATS_FOLDER, partition
from tests.spark_jobs.synthetic import write_synthetic_day

ROOT = Path(__file__).resolve().parents[2]
WORKDIR = ROOT / "bench-output" / "pca"
BASELINE = "2a856b0"  # the last commit whose PCA refitted on all history every run
NEW_DAY = date(2026, 11, 28)  # late in a month: the daily run merges that month's days
MODEL = "mobilenet_v2"
SCAN = re.compile(r"scanned \d+ day\(s\) and their paths in ([0-9.]+)s")


def history_folder(rows: int, day_rows: int, size: int) -> Path:
    """Features of `rows` rows of history, written once and kept for later runs."""
    folder = WORKDIR / f"history-{rows}x{size}"
    done = folder / "_complete"
    if not done.exists():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        (folder / "_rejected").mkdir()  # as featurize leaves in every features dataset
        days = -(-rows // day_rows)
        for number in range(days):
            day = NEW_DAY - timedelta(days=days - number)
            count = min(day_rows, rows - number * day_rows)
            write_synthetic_day(folder, day.isoformat(), count, size, first=number * day_rows)
        done.touch()
    return folder


def baseline_checkout() -> Path:
    """The PCA job as it was at BASELINE, with the contract it imported."""
    folder = WORKDIR / f"baseline-{BASELINE}"
    if not folder.exists():
        folder.mkdir(parents=True)
        archive = subprocess.run(
            ["git", "archive", BASELINE, "spark_jobs", "plugins/fruits_contract"],
            cwd=ROOT,
            check=True,
            capture_output=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


class Stopped(Exception):
    """The run outlived its time limit and was killed."""


def run_pca(
    features: Path, output: Path, *extra: str, code: Path = ROOT, timeout: float | None = None
) -> tuple[float, float]:
    """Wall seconds and peak resident MB of the process tree; the job's log is kept in
    output's sibling <output>.log. Past `timeout` seconds the tree is killed: Stopped."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PYSPARK")}
    if code != ROOT:
        environment["PYTHONPATH"] = f"{code / 'spark_jobs'}:{code / 'plugins'}"
    command = [sys.executable, str(code / "spark_jobs" / PCA.script), "--input", str(features)]
    command += ["--output", str(output), "--variance", "0.95", *extra]
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    root = psutil.Process(process.pid)
    peak = 0
    stderr_chunks: list[bytes] = []
    reader = threading.Thread(target=lambda: stderr_chunks.append(process.stderr.read()))
    reader.start()  # a full stderr pipe would block the job
    while process.poll() is None:
        try:
            tree = [root, *root.children(recursive=True)]
            peak = max(peak, sum(member.memory_info().rss for member in tree))
        except psutil.NoSuchProcess:
            pass
        if timeout is not None and time.perf_counter() - started > timeout:
            for member in [*root.children(recursive=True), root]:
                member.kill()
            process.wait()
            reader.join()
            raise Stopped(f"killed after {timeout:.0f} s")
        time.sleep(0.2)
    elapsed = time.perf_counter() - started
    reader.join()
    stderr = b"".join(stderr_chunks).decode()
    output.with_suffix(".log").write_text(stderr)
    if process.returncode != 0:
        raise RuntimeError(f"pca failed on {features}:\n{stderr[-3000:]}")
    return elapsed, peak / 2**20


def manifest(output: Path) -> dict:
    return json.loads((output / "_LATEST").read_text())


def remove_new_day(features: Path) -> None:
    """The new day's features and statistics: the next round computes them again."""
    day = NEW_DAY.isoformat()
    shutil.rmtree(
        features / partition("model", MODEL) / partition("ingest_date", day), ignore_errors=True
    )
    for stale in (features / STATS_FOLDER / partition("model", MODEL)).glob(f"day={day}.*"):
        stale.unlink()


def median_of(rounds: int, measure) -> tuple[float, float]:
    results = [measure() for _ in range(rounds)]
    return statistics.median(r[0] for r in results), statistics.median(r[1] for r in results)


def measure_history(rows: int, args: argparse.Namespace, baseline: Path) -> dict:
    if rows:
        features = history_folder(rows, args.day_rows, args.size)
    else:
        features = WORKDIR / "history-0"
        shutil.rmtree(features, ignore_errors=True)
        (features / "_rejected").mkdir(parents=True)
    output = WORKDIR / f"pca-{rows}"
    shutil.rmtree(output, ignore_errors=True)
    remove_new_day(features)
    started = time.perf_counter()
    if rows:  # the set-up: history's statistics, and the version the daily run appends to
        run_pca(features, output)
        print(f"{rows:>9,} {'set-up':>10} {time.perf_counter() - started:>8.1f}", flush=True)
    published_before = (output / "_LATEST").read_bytes() if rows else None
    scans: list[float] = []  # the daily runs' scans of the path column

    def daily() -> tuple[float, float]:
        remove_new_day(features)
        if published_before is None:
            shutil.rmtree(output, ignore_errors=True)
        else:
            (output / "_LATEST").write_bytes(published_before)
        write_synthetic_day(features, NEW_DAY.isoformat(), args.day_rows, args.size, first=rows)
        measured = run_pca(features, output)
        scans.append(float(SCAN.search(output.with_suffix(".log").read_text()).group(1)))
        published = manifest(output)
        if published["refit"] != (rows == 0) or published["rows"] != rows + args.day_rows:
            raise RuntimeError(f"not the expected daily run on {rows:,} rows: {published}")
        return measured

    result = {"rows": rows, "daily": median_of(args.rounds, daily)}
    result["scan"] = statistics.median(scans)
    result["refit"] = median_of(args.rounds, lambda: run_pca(features, output, "--mode", "full"))
    if not manifest(output)["refit"]:
        raise RuntimeError("--mode full did not refit")
    if rows:
        baseline_output = WORKDIR / f"baseline-pca-{rows}"
        try:
            result["full refit"] = median_of(
                args.baseline_rounds,
                lambda: run_pca(
                    features, baseline_output, code=baseline, timeout=args.baseline_timeout
                ),
            )
        except Stopped:
            result["full refit"] = (args.baseline_timeout, float("nan"))
            result["stopped"] = True
    remove_new_day(features)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--history", type=int, nargs="+", default=[0, 250_000, 1_000_000])
    parser.add_argument("--day-rows", type=int, default=10_000)
    parser.add_argument("--size", type=int, default=1280)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline-rounds", type=int, default=1)
    parser.add_argument("--baseline-timeout", type=float, default=3600)
    args = parser.parse_args()
    baseline = baseline_checkout()
    print(
        f"PCA's daily curve: a new day of {args.day_rows:,} rows x {args.size} features, "
        f"--variance 0.95, local mode, Spark's default memory, median of {args.rounds} round(s) "
        f"({args.baseline_rounds} of the full refit before)"
    )
    print(f"{'history':>9} {'run':>10} {'seconds':>8} {'peak MB':>8}  (daily: path scan s)")
    results = []
    for rows in args.history:
        result = measure_history(rows, args, baseline)
        results.append(result)
        for run in ("daily", "refit", "full refit"):
            if run in result:
                seconds, peak = result[run]
                scan = f"  {result['scan']:.1f}" if run == "daily" else ""
                over = ">" if run == "full refit" and result.get("stopped") else " "
                print(f"{rows:>9,} {run:>10} {over}{seconds:>7.1f} {peak:>8.0f}{scan}", flush=True)
    flat, last = results[0], results[-1]
    print(
        f"daily run at {last['rows']:,} rows of history: "
        f"{last['daily'][0] / flat['daily'][0]:.2f}x the run with {flat['rows']:,} "
        f"(goal: at most 1.3x)"
    )
    for result in results:
        if "full refit" in result:
            over = "more than " if result.get("stopped") else ""
            print(
                f"at {result['rows']:,} rows: the daily run is {over}"
                f"{result['full refit'][0] / result['daily'][0]:.1f}x faster than the full "
                f"refit before the statistics (goal: at least 10x), the refit {over}"
                f"{result['full refit'][0] / result['refit'][0]:.1f}x"
            )


if __name__ == "__main__":
    main()
