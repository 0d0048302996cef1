"""What parsing dags/fruit_features.py adds over importing Airflow alone, in fresh interpreters.

    python -m tests.benchmarks.bench_dag_parse [--runs 7]

Each measurement is a new Python process, alternating the two commands; medians are printed.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
AIRFLOW_ONLY = "import airflow.sdk"
WITH_DAG = (
    f"import airflow.sdk, runpy; runpy.run_path({str(ROOT / 'dags' / 'fruit_features.py')!r})"
)


def seconds(code: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    airflow_only, with_dag = [], []
    for _ in range(runs):
        airflow_only.append(seconds(AIRFLOW_ONLY))
        with_dag.append(seconds(WITH_DAG))
    base, total = statistics.median(airflow_only), statistics.median(with_dag)
    print(
        f"import airflow.sdk: {base:.2f}s; with the DAG file: {total:.2f}s; "
        f"the DAG adds {total - base:.2f}s ({total / base:.2f}x), medians of {runs} runs"
    )


if __name__ == "__main__":
    main()
