"""The sizing rule at its edges: a single node, the fewest core nodes, the cap, explicit
choices, and the refits it foresees."""

from __future__ import annotations

import math

import pytest

from fruit_pipeline.prices import (
    FEATURIZE_IMAGES_PER_VCPU_SECOND,
    INSTANCES,
    PCA_APPEND_SECONDS,
    START_MINUTES,
)
from fruit_pipeline.sizing import (
    AUTOMATIC,
    Sizing,
    Workload,
    choose,
    interchangeable,
    work_minutes,
)

SIZING = Sizing("m5.xlarge", "m5.2xlarge", target_minutes=20, max_core_nodes=10)
PRIMARY_VCPUS = INSTANCES["m5.xlarge"].vcpus


def images_the_primary_does_in(minutes: float, cnn: str) -> int:
    seconds = minutes * 60 - PCA_APPEND_SECONDS
    return math.floor(seconds * FEATURIZE_IMAGES_PER_VCPU_SECOND[cnn] * PRIMARY_VCPUS)


@pytest.mark.parametrize("images", [0, 1, 2_000, 100_000])
def test_a_mobilenet_day_up_to_100k_images_runs_on_a_single_node(images):
    shape = choose(Workload(images, images * 5_000, "mobilenet_v2"), SIZING)
    assert shape.single_node
    assert shape.work_minutes <= SIZING.target_minutes


@pytest.mark.parametrize("cnn", sorted(FEATURIZE_IMAGES_PER_VCPU_SECOND))
def test_the_single_node_threshold_is_the_target_time(cnn):
    at_threshold = images_the_primary_does_in(SIZING.target_minutes, cnn)
    assert choose(Workload(at_threshold, 0, cnn), SIZING).single_node
    just_over = choose(Workload(at_threshold + 1, 0, cnn), SIZING)
    assert just_over.core_nodes == 1
    assert just_over.work_minutes <= SIZING.target_minutes


@pytest.mark.parametrize("images", [300_000, 500_000, 1_000_000])
def test_the_fewest_core_nodes_that_meet_the_target(images):
    workload = Workload(images, 0, "resnet50")
    shape = choose(workload, SIZING)
    assert 1 <= shape.core_nodes < SIZING.max_core_nodes
    assert shape.work_minutes <= SIZING.target_minutes
    vcpus = (shape.core_nodes - 1) * INSTANCES["m5.2xlarge"].vcpus
    assert shape.core_nodes == 1 or work_minutes(workload, vcpus) > SIZING.target_minutes


def test_beyond_the_maximum_the_cluster_is_capped_and_says_so():
    shape = choose(Workload(10_000_000, 0, "vgg16"), SIZING)
    assert shape.core_nodes == SIZING.max_core_nodes
    assert shape.work_minutes > SIZING.target_minutes
    assert "capped at 10" in shape.reason


def test_the_automatic_sizing_is_the_tuned_one():
    assert AUTOMATIC == SIZING


@pytest.mark.parametrize("target", [0.1, START_MINUTES - 0.5])
def test_a_target_shorter_than_a_nodes_start_up_is_refused(target):
    """A tiny target used to add a core node at once, the log saying it met the target."""
    with pytest.raises(ValueError, match="shorter than a node's start-up"):
        Sizing("m5.xlarge", "m5.2xlarge", target_minutes=target, max_core_nodes=10)


@pytest.mark.parametrize("target", [START_MINUTES, 20, 60, 720])
def test_at_any_accepted_target_the_reason_is_true(target):
    sizing = Sizing("m5.xlarge", "m5.2xlarge", target_minutes=target, max_core_nodes=10)
    for images in (10, 20_000, 200_000, 10_000_000):
        shape = choose(Workload(images, 0, "resnet50"), sizing)
        if "capped" in shape.reason:
            assert shape.work_minutes > target
        else:
            assert shape.work_minutes <= target, shape.reason


def test_a_known_refit_is_work_too():
    day = Workload(2_000, 0, "mobilenet_v2")
    refit_of_a_year = Workload(2_000, 0, "mobilenet_v2", refit_rows=36_000_000)
    assert choose(day, SIZING).single_node
    assert not choose(refit_of_a_year, SIZING).single_node


def test_an_explicit_count_or_type_wins_and_is_still_estimated():
    small = Workload(2_000, 0, "mobilenet_v2")
    asked = choose(small, SIZING, core_nodes=3, core_type="m5.4xlarge")
    assert (asked.core_nodes, asked.core_type) == (3, "m5.4xlarge")
    assert "core_instance_count=3" in asked.reason
    assert asked.usd() > choose(small, SIZING).usd()
    huge = Workload(10_000_000, 0, "vgg16")
    assert choose(huge, SIZING, core_nodes=0).single_node


def test_the_estimate_prices_every_node_and_spot_only_on_core_nodes():
    shape = choose(Workload(1_000_000, 0, "resnet50"), SIZING)
    hours = shape.minutes / 60
    primary, core = INSTANCES["m5.xlarge"], INSTANCES["m5.2xlarge"]
    on_demand = hours * (
        primary.on_demand_usd_per_hour + shape.core_nodes * core.on_demand_usd_per_hour
    )
    assert shape.usd() == pytest.approx(on_demand)
    spot = hours * (primary.on_demand_usd_per_hour + shape.core_nodes * core.spot_usd_per_hour)
    assert shape.usd(spot=True) == pytest.approx(spot)
    assert "m5.xlarge + " in shape.describe()


@pytest.mark.parametrize("core_type", ["m5.2xlarge", "m6i.4xlarge", "m7g.xlarge", "m6g.2xlarge"])
def test_a_spot_fleet_draws_from_three_interchangeable_types(core_type):
    types = interchangeable(core_type)
    assert types[0] == core_type
    assert len(set(types)) >= 3
    assert {name.split(".")[1] for name in types} == {core_type.split(".")[1]}
    graviton = core_type.startswith(("m6g", "m7g"))
    assert all(name.startswith(("m6g", "m7g")) == graviton for name in types)
    assert {INSTANCES[name].vcpus for name in types} == {INSTANCES[core_type].vcpus}
