"""A node's bootstrap: pip from the package index against the deployed archive.

    make bench-node-env     (python -m tests.benchmarks.bench_node_env [--rounds 3])

Alternated, in each round, on this machine:
- index: what the bootstrap did before, a Python 3.11 venv and `pip install --require-hashes
  --no-deps -r requirements-emr.txt` from PyPI, no pip cache, then the steps' imports;
- archive: the bootstrap script itself (spark_jobs/bootstrap/install-python-env.sh) on a
  fresh local EMR node (localaws.node) with no unpacked environment kept: download from the
  local S3, SHA-256 check, venv, unpack, the steps' imports.
Prints the medians of the rounds, their ratio, each archive's size and what it unpacks to.
A real node downloads from S3 in its region, and from PyPI through its subnet's route: the
ratio here is this machine's network and disk, not EMR's.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from fruits_contract.artifacts import ARCHITECTURES, BOOTSTRAP_SCRIPT, node_env_archive
from localaws.client import REGION, client
from localaws.node import Node
from localaws.process import LocalAws
from scripts.deploy import deploy_node_envs
from scripts.node_env import REQUIREMENTS, packed_env

ROOT = Path(__file__).resolve().parents[2]
WORKDIR = ROOT / "bench-output" / "node-env"
BUCKET = "fruits-bench"
IMPORTS = "import onnxruntime, PIL, pillow_heif, pyarrow, pandas, matplotlib"


def timed(command: list[str], **options) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, **options)
    return time.perf_counter() - start


def from_the_index(folder: Path) -> float:
    """Seconds of the former bootstrap's venv, pip install and import check."""
    env = folder / "env"
    seconds = timed(["python3.11", "-m", "venv", str(env)])
    pip = [str(env / "bin" / "pip"), "install", "--quiet", "--no-cache-dir", "--require-hashes"]
    seconds += timed([*pip, "--no-deps", "-r", str(REQUIREMENTS)])
    return seconds + timed([str(env / "bin" / "python"), "-I", "-c", IMPORTS])


def from_the_archive(folder: Path, endpoint: str, archive_uri: str) -> float:
    """Seconds of the bootstrap script on a fresh node that has no environment unpacked."""
    node = Node(folder / "node", envs=folder / "envs")
    node.prepare()
    script = ROOT / "spark_jobs" / BOOTSTRAP_SCRIPT
    return timed(["bash", str(script), archive_uri], env=node.environment(endpoint))


def unpacked_megabytes(folder: Path) -> float:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file()) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    rounds = parser.parse_args().rounds
    WORKDIR.mkdir(parents=True, exist_ok=True)
    sizes = {name: packed_env(name).bytes / 1e6 for name in ARCHITECTURES}
    with LocalAws(WORKDIR / "localaws.log") as local_aws:
        s3 = client("s3", local_aws.endpoint)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        deploy_node_envs(s3, BUCKET, "", ["x86_64"])
        archive_uri = f"s3://{BUCKET}/{node_env_archive('x86_64', packed_env('x86_64').sha256)}"
        measured: dict[str, list[float]] = {"index": [], "archive": []}
        for number in range(rounds):
            with (
                tempfile.TemporaryDirectory(dir=WORKDIR) as index,
                tempfile.TemporaryDirectory(dir=WORKDIR) as archive,
            ):
                measured["index"].append(from_the_index(Path(index)))
                measured["archive"].append(
                    from_the_archive(Path(archive), local_aws.endpoint, archive_uri)
                )
                unpacked = unpacked_megabytes(Path(archive) / "envs")
            print(f"round {number + 1}: {measured}", flush=True)
    medians = {name: round(statistics.median(times), 1) for name, times in measured.items()}
    report = {
        "rounds": rounds,
        "median_seconds": medians,
        "index_over_archive": round(medians["index"] / medians["archive"], 2),
        "archive_megabytes": {name: round(size, 1) for name, size in sizes.items()},
        "x86_64_unpacked_megabytes": round(unpacked, 1),
        "each_round": measured,
    }
    print(json.dumps(report, indent=2))
    (WORKDIR / "report.json").write_text(json.dumps(report, indent=2))
    shutil.rmtree(WORKDIR / "localaws-work", ignore_errors=True)


if __name__ == "__main__":
    main()
