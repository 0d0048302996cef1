"""What a run costs on EMR: the DAG's own sizing rule and prices, with the throughput the
benchmark measured.

    python -m tests.benchmarks.cost_model    (make bench-featurize runs it after the benchmark)

Reads bench-output/results.json (tests/benchmarks/bench_featurize.py) and prints the tables
of docs/performance.md. The cluster comes from fruit_pipeline.sizing.choose, as
plan_cluster chooses it; the prices, start-up and rates from fruit_pipeline.prices.
The fixed cluster every run had before the sizing (one m5.xlarge primary, two m5.2xlarge
core nodes) is priced beside it, as an explicit core count, by the same rule.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from fruit_pipeline.prices import (
    BOOTSTRAP_MINUTES,
    FEATURIZE_IMAGES_PER_VCPU_SECOND,
    PRICES_NOTE,
    PROVISION_MINUTES,
    START_MINUTES,
)
from fruit_pipeline.sizing import AUTOMATIC, ClusterShape, Workload, choose

RESULTS = Path(__file__).resolve().parents[2] / "bench-output" / "results.json"
FIXED_CORE_TYPE, FIXED_CORE_NODES = "m5.2xlarge", 2  # every run's, before the sizing
DAILY_IMAGES = 2_000  # an assumed typical day of uploads
FIXED_SIZED = ("fixed", "sized")
DRIFT_WARNING = 0.15  # a measured rate this far from prices.py's: update it


def measured_throughput(results: dict) -> dict[str, float]:
    """Images/s per vCPU of each CNN: ONNX Runtime's speed on 2 threads, halved, times the
    share of it the job keeps (its measured steady ratio to the ceiling)."""
    efficiency = min(results["job"]["steady_ratio_to_ceiling"], 1.0)
    return {
        key.removeprefix("keras_vs_onnx_"): value["onnxruntime_images_per_s"] / 2 * efficiency
        for key, value in results.items()
        if key.startswith("keras_vs_onnx_")
    }


def cell(shape: ClusterShape) -> str:
    nodes = "1 node" if shape.single_node else f"1 + {shape.core_nodes}"
    return f"{nodes}, {math.ceil(shape.minutes)} min, ${shape.usd():.2f} (${shape.usd(True):.2f})"


def main() -> None:
    measured = measured_throughput(json.loads(RESULTS.read_text())) if RESULTS.exists() else {}
    rule = AUTOMATIC  # fruit_pipeline.tuning's
    print(
        f"Prices: {PRICES_NOTE}. Start-up: {START_MINUTES:.1f} min ({PROVISION_MINUTES:g} min "
        f"provisioning, estimated; {BOOTSTRAP_MINUTES:g} min bootstrap, measured)."
    )
    print(
        f"Sizing: target {rule.target_minutes:g} min of work, at most {rule.max_core_nodes} x "
        f"{rule.core_type}, primary {rule.primary_type}.\n"
    )
    for cnn, rate in FEATURIZE_IMAGES_PER_VCPU_SECOND.items():
        if cnn in measured and abs(measured[cnn] / rate - 1) > DRIFT_WARNING:
            print(
                f"WARNING: {cnn} measured {measured[cnn]:.1f} images/s per vCPU, "
                f"fruit_pipeline/prices.py says {rate}: update it\n"
            )
    print(
        "Each cell: nodes (primary + core), minutes, on-demand USD (spot core nodes). "
        f"Fixed: {rule.primary_type} + {FIXED_CORE_NODES} x {FIXED_CORE_TYPE}, every run.\n"
    )
    columns = [
        f"{images:,} images, {how}" for images in (DAILY_IMAGES, 100_000) for how in FIXED_SIZED
    ]
    print("| CNN | images/s per vCPU | " + " | ".join(columns) + " |")
    print("|---|---:|---:|---:|---:|---:|")
    for cnn, rate in FEATURIZE_IMAGES_PER_VCPU_SECOND.items():
        cells = []
        for images in (DAILY_IMAGES, 100_000):
            workload = Workload(images, images * 5_000, cnn)
            before = choose(workload, rule, core_nodes=FIXED_CORE_NODES, core_type=FIXED_CORE_TYPE)
            cells += [cell(before), cell(choose(workload, rule))]
        print(f"| {cnn} | {measured.get(cnn, rate):.1f} | " + " | ".join(cells) + " |")
    print("\nLarger days, sized (the first run's or a due refit's PCA rows included):\n")
    print("| images | " + " | ".join(FEATURIZE_IMAGES_PER_VCPU_SECOND) + " |")
    print("|---:|" + "---:|" * len(FEATURIZE_IMAGES_PER_VCPU_SECOND))
    for images in (500_000, 1_000_000, 5_000_000):
        shapes = [
            choose(Workload(images, images * 5_000, cnn, refit_rows=images), rule)
            for cnn in FEATURIZE_IMAGES_PER_VCPU_SECOND
        ]
        print(f"| {images:,} | " + " | ".join(cell(shape) for shape in shapes) + " |")


if __name__ == "__main__":
    main()
