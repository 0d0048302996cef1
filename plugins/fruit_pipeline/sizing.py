"""How big a run's cluster is, from what it will do: the images featurize reads, with which
CNN, and the rows a PCA refit re-projects. One rule, used by create_emr_cluster and by the
cost model (tests/benchmarks/cost_model.py).

- A single node (the primary alone; EMR then runs the executors on it) when it does the work
  within the target time: a day's start-up is paid for one instance, not three.
- Otherwise the primary and the fewest core nodes that do it within the target, up to a
  maximum; the primary then runs only the driver.
- An explicit core count (0: a single node) or core type wins; the estimate is still made.

Work is vCPU-seconds: featurize's images at the CNN's measured rate per vCPU, and PCA (its
flat daily append, plus the re-projection when a refit is known to be due).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from fruit_pipeline.prices import (
    FEATURIZE_IMAGES_PER_VCPU_SECOND,
    GRAVITON_FAMILIES,
    INSTANCES,
    PCA_APPEND_SECONDS,
    PCA_REFIT_VCPU_SECONDS_PER_ROW,
    START_MINUTES,
)
from fruit_pipeline.tuning import (
    AUTOMATIC_MAX_CORE_NODES,
    CORE_INSTANCE_TYPE,
    PRIMARY_INSTANCE_TYPE,
    TARGET_FEATURIZE_MINUTES,
)


@dataclass(frozen=True)
class Workload:
    images: int  # the images featurize will read
    image_bytes: int  # their size: logged and recorded; the rates are per image
    cnn: str
    refit_rows: int = 0  # rows a PCA refit re-projects, when one is known to be due


@dataclass(frozen=True)
class Sizing:
    """What the rule may choose from, and how fast the work should go. A target shorter
    than a node's start-up is refused: a core node added to meet it would take longer to
    start than the time it saves."""

    primary_type: str
    core_type: str
    target_minutes: float
    max_core_nodes: int

    def __post_init__(self) -> None:
        if self.target_minutes < START_MINUTES:
            raise ValueError(
                f"a target of {self.target_minutes:g} min is shorter than a node's start-up "
                f"({START_MINUTES:g} min): adding a core node cannot meet it"
            )
        if self.max_core_nodes < 1:
            raise ValueError("the sizing must allow at least one core node")


AUTOMATIC = Sizing(
    PRIMARY_INSTANCE_TYPE, CORE_INSTANCE_TYPE, TARGET_FEATURIZE_MINUTES, AUTOMATIC_MAX_CORE_NODES
)


@dataclass(frozen=True)
class ClusterShape:
    primary_type: str
    core_type: str
    core_nodes: int  # 0: a single-node cluster
    work_minutes: float  # featurize and PCA, on this shape's executors
    reason: str

    @property
    def single_node(self) -> bool:
        return self.core_nodes == 0

    @property
    def minutes(self) -> float:
        return START_MINUTES + self.work_minutes

    def usd(self, spot: bool = False) -> float:
        """The estimated cost: every instance for the whole run, core nodes at spot's price
        when spot."""
        primary = INSTANCES[self.primary_type].on_demand_usd_per_hour
        core = INSTANCES[self.core_type]
        core_rate = core.spot_usd_per_hour if spot else core.on_demand_usd_per_hour
        return self.minutes / 60 * (primary + self.core_nodes * core_rate)

    def describe(self, spot: bool = False) -> str:
        nodes = (
            f"a single {self.primary_type} node"
            if self.single_node
            else f"{self.primary_type} + {self.core_nodes} x {self.core_type}"
        )
        return (
            f"{nodes}: {self.reason}; about {self.work_minutes:.1f} min of work, "
            f"{self.minutes:.0f} min in all, ${self.usd(spot):.2f}"
            f"{' (spot estimate)' if spot else ' on-demand'}"
        )


def is_graviton(instance_type: str) -> bool:
    return instance_type.split(".", 1)[0] in GRAVITON_FAMILIES


def interchangeable(instance_type: str) -> list[str]:
    """instance_type first, then the priced types of its size and architecture in the other
    general-purpose families: a spot fleet draws from several pools, and so falls back less
    often."""
    size = instance_type.split(".", 1)[1]
    return [instance_type] + [
        name
        for name in INSTANCES
        if name.split(".", 1)[1] == size
        and name != instance_type
        and is_graviton(name) == is_graviton(instance_type)
    ]


def work_vcpu_seconds(workload: Workload) -> float:
    rate = FEATURIZE_IMAGES_PER_VCPU_SECOND[workload.cnn]
    return workload.images / rate + workload.refit_rows * PCA_REFIT_VCPU_SECONDS_PER_ROW


def work_minutes(workload: Workload, vcpus: int) -> float:
    """Featurize and the refit spread over vcpus; PCA's append as measured (mostly the
    driver's, so not spread: a conservative figure)."""
    return (work_vcpu_seconds(workload) / vcpus + PCA_APPEND_SECONDS) / 60


def choose(
    workload: Workload,
    sizing: Sizing = AUTOMATIC,
    core_nodes: int | None = None,
    core_type: str | None = None,
) -> ClusterShape:
    """The cluster for workload: explicit core_nodes or core_type win, None is automatic."""
    core_type = core_type or sizing.core_type
    primary_vcpus = INSTANCES[sizing.primary_type].vcpus
    core_vcpus = INSTANCES[core_type].vcpus

    def shape(nodes: int, reason: str) -> ClusterShape:
        vcpus = primary_vcpus if nodes == 0 else nodes * core_vcpus
        return ClusterShape(
            sizing.primary_type, core_type, nodes, work_minutes(workload, vcpus), reason
        )

    if core_nodes is not None:
        return shape(core_nodes, f"core_instance_count={core_nodes} asked for")
    target = sizing.target_minutes
    alone = shape(0, f"the primary alone does it within {target:g} min")
    if alone.work_minutes <= target:
        return alone
    spread = target * 60 - PCA_APPEND_SECONDS  # positive: Sizing refuses a shorter target
    needed = math.ceil(work_vcpu_seconds(workload) / (spread * core_vcpus))
    if needed > sizing.max_core_nodes:
        return shape(
            sizing.max_core_nodes,
            f"{needed} core nodes would do it within {target:g} min; "
            f"capped at {sizing.max_core_nodes}",
        )
    return shape(needed, f"the fewest core nodes that do it within {target:g} min")
