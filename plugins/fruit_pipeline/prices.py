"""The figures a run's size and cost come from, in one place: dated list prices, and the
throughput the benchmarks measured. fruit_pipeline.sizing, the cost records and the cost
model (tests/benchmarks/cost_model.py) all read them here.
"""

from __future__ import annotations

from dataclasses import dataclass

# AWS public on-demand list prices, Linux, eu-west-1 (Ireland), USD per hour, as published on
# aws.amazon.com/ec2/pricing/on-demand and aws.amazon.com/emr/pricing in 2025. Not fetched
# (this machine cannot reach AWS): check them before budgeting.
PRICES_NOTE = "AWS public list prices, eu-west-1, on-demand, Linux, 2025 (USD/hour)"


@dataclass(frozen=True)
class InstancePrice:
    vcpus: int
    ec2_usd_per_hour: float
    emr_usd_per_hour: float  # EMR's uplift, billed on top of EC2, spot or not

    @property
    def on_demand_usd_per_hour(self) -> float:
        return self.ec2_usd_per_hour + self.emr_usd_per_hour

    @property
    def spot_usd_per_hour(self) -> float:
        return self.ec2_usd_per_hour * (1 - SPOT_SAVING) + self.emr_usd_per_hour


INSTANCES = {
    "m5.xlarge": InstancePrice(4, 0.214, 0.048),
    "m5a.xlarge": InstancePrice(4, 0.192, 0.048),
    "m6i.xlarge": InstancePrice(4, 0.214, 0.048),
    "m5.2xlarge": InstancePrice(8, 0.428, 0.096),
    "m5a.2xlarge": InstancePrice(8, 0.384, 0.096),
    "m6i.2xlarge": InstancePrice(8, 0.428, 0.096),
    "m5.4xlarge": InstancePrice(16, 0.856, 0.192),
    "m5a.4xlarge": InstancePrice(16, 0.768, 0.192),
    "m6i.4xlarge": InstancePrice(16, 0.856, 0.192),
    # Graviton (aarch64): every EMR requirement has an aarch64 wheel (tested in
    # tests/test_lock_exports.py). Their featurize rate is assumed to be x86's: not measured.
    "m6g.xlarge": InstancePrice(4, 0.172, 0.043),
    "m6gd.xlarge": InstancePrice(4, 0.2024, 0.0506),
    "m7g.xlarge": InstancePrice(4, 0.1836, 0.0459),
    "m6g.2xlarge": InstancePrice(8, 0.344, 0.086),
    "m6gd.2xlarge": InstancePrice(8, 0.4048, 0.1012),
    "m7g.2xlarge": InstancePrice(8, 0.3672, 0.0918),
    "m6g.4xlarge": InstancePrice(16, 0.688, 0.172),
    "m6gd.4xlarge": InstancePrice(16, 0.8096, 0.2024),
    "m7g.4xlarge": InstancePrice(16, 0.7344, 0.1836),
}
GRAVITON_FAMILIES = ("m6g", "m6gd", "m7g")
# Spot prices move hourly; AWS's Spot Instance Advisor shows m5 savings of about 60-70% in
# eu-west-1. An estimate, applied to EC2's price only (the EMR uplift is fixed).
SPOT_SAVING = 0.6
# EMR bills each instance per second, with a one-minute minimum.
MINIMUM_BILLED_SECONDS = 60

# Our estimate, not an AWS figure: EMR documents no start-up time. Provisioning EC2 and
# starting Hadoop/Spark takes about 6-8 minutes for a small cluster.
PROVISION_MINUTES = 7.0
# Measured (make bench-node-env): the bootstrap, unpacking the deployed archive of the nodes'
# Python environment, took 9.5 s (median of 3) on this 2-core machine, from the local S3;
# pip from PyPI took 20.0 s. A node downloads the 180 MB from S3 in its own region.
BOOTSTRAP_MINUTES = 0.2
START_MINUTES = PROVISION_MINUTES + BOOTSTRAP_MINUTES
# Images/s per vCPU that featurize sustains with each CNN: ONNX Runtime's speed on 2 threads,
# halved, times the job's steady share of it (make bench-featurize, docs/performance.md).
# Our assumption: one EMR vCPU featurizes like one core of the machine that measured it.
FEATURIZE_IMAGES_PER_VCPU_SECOND = {"mobilenet_v2": 116.5, "resnet50": 14.0, "vgg16": 3.5}
# PCA on local[2] (make bench-pca at b2c8539): a daily run that appends, flat in history
# (19.7 s at 1,000,000 rows), and a refit, linear in the rows it re-projects (77.6 s for
# 1,000,000). A slower session of the same machine measured 27.9 s and 108.4 s (e0a05f2).
PCA_APPEND_SECONDS = 20.0
PCA_REFIT_VCPU_SECONDS_PER_ROW = 77.6 * 2 / 1_000_000
