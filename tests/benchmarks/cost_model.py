"""What featurize + PCA cost on EMR: measured throughput times public list prices.

    python -m tests.benchmarks.cost_model    (make bench-featurize runs it after the benchmark)

Reads bench-output/results.json (tests/benchmarks/bench_featurize.py) and prints the tables
of docs/performance.md. Every input that is not measured here is a named constant below,
with where it comes from.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[2] / "bench-output" / "results.json"

# AWS public on-demand list prices, Linux, eu-west-1 (Ireland), USD per hour, as published on
# aws.amazon.com/ec2/pricing/on-demand and aws.amazon.com/emr/pricing in 2025. Not fetched
# by this script (this machine cannot reach AWS): check them before budgeting.
PRICES_NOTE = "AWS public list prices, eu-west-1, on-demand, Linux, 2025 (USD/hour)"
INSTANCES = {  # type: (vCPUs, EC2 $/h, EMR uplift $/h)
    "m5.xlarge": (4, 0.214, 0.048),
    "m5.2xlarge": (8, 0.428, 0.096),
    "m5.4xlarge": (16, 0.856, 0.192),
}
# Spot prices move hourly; AWS's Spot Instance Advisor shows m5 savings of about 60-70% in
# eu-west-1. An estimate, applied to the core nodes' EC2 price only (the EMR uplift is fixed).
SPOT_SAVING = 0.6
# Our estimate, not an AWS figure: EMR documents no start-up time. Provisioning EC2 and
# starting Hadoop/Spark takes about 6-8 minutes for a small cluster, and the bootstrap
# installs requirements-emr.txt (434 MB, no TensorFlow): about 1 minute more.
START_MINUTES = 8.0
# PCA on local[2], a refit of 100,000 x 1280 rows: 86.5 s (measured at 2a856b0, before the
# daily statistics; a refit is now faster and a daily run flat: docs/performance.md).
PCA_SECONDS_PER_100K = 86.5
# Our assumption: one EMR vCPU featurizes like one core of the machine that ran the benchmark.
DEFAULT_CLUSTER = ("m5.xlarge", "m5.2xlarge", 2)
DAILY_IMAGES = 2_000  # an assumed typical day of uploads


@dataclass(frozen=True)
class Estimate:
    minutes: float
    on_demand: float
    spot: float


def estimate(images: int, per_vcpu: float, primary: str, core: str, count: int) -> Estimate:
    """Minutes and dollars of one run: start, featurize on every core vCPU, PCA."""
    vcpus, core_ec2, core_emr = INSTANCES[core]
    _, primary_ec2, primary_emr = INSTANCES[primary]
    featurize = images / (per_vcpu * vcpus * count)
    pca = PCA_SECONDS_PER_100K * images / 100_000
    hours = (START_MINUTES * 60 + featurize + pca) / 3600
    primary_rate = primary_ec2 + primary_emr
    on_demand = hours * (primary_rate + count * (core_ec2 + core_emr))
    spot = hours * (primary_rate + count * (core_ec2 * (1 - SPOT_SAVING) + core_emr))
    return Estimate(hours * 60, on_demand, spot)


def per_vcpu_throughput(results: dict) -> dict[str, float]:
    """Images/s per vCPU of each CNN: ONNX Runtime's speed on 2 threads, halved, times the
    share of it the job keeps (its measured steady ratio to the ceiling)."""
    efficiency = min(results["job"]["steady_ratio_to_ceiling"], 1.0)
    return {
        key.removeprefix("keras_vs_onnx_"): value["onnxruntime_images_per_s"] / 2 * efficiency
        for key, value in results.items()
        if key.startswith("keras_vs_onnx_")
    }


def main() -> None:
    results = json.loads(RESULTS.read_text())
    throughput = per_vcpu_throughput(results)
    primary, core, count = DEFAULT_CLUSTER
    print(f"Prices: {PRICES_NOTE}. Start-up: {START_MINUTES:.0f} min (estimate).\n")
    print(f"Default cluster: {primary} + {count} x {core}.\n")
    day = f"a day ({DAILY_IMAGES:,} images)"
    columns = ["CNN", "images/s per vCPU", "100,000 images", "on-demand", "spot", day]
    print("| " + " | ".join([*columns, "on-demand", "spot"]) + " |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for cnn, rate in throughput.items():
        full = estimate(100_000, rate, primary, core, count)
        day = estimate(DAILY_IMAGES, rate, primary, core, count)
        print(
            f"| {cnn} | {rate:.1f} | {full.minutes:.0f} min | ${full.on_demand:.2f} | "
            f"${full.spot:.2f} | {day.minutes:.0f} min | ${day.on_demand:.2f} | ${day.spot:.2f} |"
        )
    start = estimate(0, 1.0, primary, core, count)
    print(f"\nOf which the start-up alone: {start.minutes:.0f} min, ${start.on_demand:.2f}.\n")
    print("100,000 images by cluster shape (on-demand):\n")
    print("| core nodes | " + " | ".join(f"{cnn}" for cnn in throughput) + " |")
    print("|---|" + "---:|" * len(throughput))
    for shape in (("m5.2xlarge", 1), ("m5.2xlarge", 2), ("m5.2xlarge", 4), ("m5.4xlarge", 4)):
        cells = []
        for rate in throughput.values():
            run = estimate(100_000, rate, primary, *shape)
            cells.append(f"{math.ceil(run.minutes)} min, ${run.on_demand:.2f}")
        print(f"| {shape[1]} x {shape[0]} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
