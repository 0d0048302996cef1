"""A run's cost from its ended cluster: the timeline, the groups or fleets, the prices."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fruit_pipeline.costs import cost_record, record_key
from fruit_pipeline.prices import INSTANCES

CREATED = datetime(2026, 11, 21, 0, 0, tzinfo=UTC)


def cluster(minutes_to_ready: float, minutes_to_end: float, collection="INSTANCE_GROUP") -> dict:
    return {
        "Id": "j-1ABC",
        "Status": {
            "State": "TERMINATED",
            "Timeline": {
                "CreationDateTime": CREATED,
                "ReadyDateTime": CREATED + timedelta(minutes=minutes_to_ready),
                "EndDateTime": CREATED + timedelta(minutes=minutes_to_end),
            },
        },
        "InstanceCollectionType": collection,
        "NormalizedInstanceHours": 24,
        "Tags": [
            {"Key": "run_id", "Value": "scheduled__2026-11-21T00:00:00+00:00"},
            {
                "Key": "data_interval",
                "Value": "2026-11-20T00:00:00+00:00/2026-11-21T00:00:00+00:00",
            },
        ],
    }


def step(name: str, start: float, end: float) -> dict:
    timeline = {
        "StartDateTime": CREATED + timedelta(minutes=start),
        "EndDateTime": CREATED + timedelta(minutes=end),
    }
    return {"Name": name, "Status": {"State": "COMPLETED", "Timeline": timeline}}


def group(role: str, instance_type: str, count: int, market: str = "ON_DEMAND") -> dict:
    return {
        "InstanceGroupType": role,
        "InstanceType": instance_type,
        "Market": market,
        "RequestedInstanceCount": count,
        "RunningInstanceCount": 0,  # ended
    }


def test_a_single_node_run_costs_its_minutes_at_the_primarys_price():
    record = cost_record(
        cluster(7.5, 10),
        [step("featurize", 8, 9), step("pca", 9, 9.5)],
        groups=[group("MASTER", "m5.xlarge", 1)],
        planned={"images": 2000, "bytes": 10_000_000},
        params={"model": "mobilenet_v2"},
    )
    assert record["startup_minutes"] == 7.5
    assert record["step_minutes"] == 1.5
    assert record["total_minutes"] == 10
    assert record["usd"] == pytest.approx(
        10 / 60 * INSTANCES["m5.xlarge"].on_demand_usd_per_hour, abs=1e-6
    )
    assert record["nodes"] == [
        {"role": "MASTER", "instance_type": "m5.xlarge", "market": "ON_DEMAND", "count": 1}
    ]
    assert (record["run_id"], record["model"], record["images"]) == (
        "scheduled__2026-11-21T00:00:00+00:00",
        "mobilenet_v2",
        2000,
    )
    assert record["normalized_instance_hours"] == 24  # kept beside, not used
    assert not record["spot_estimated"]


def test_core_groups_and_the_one_minute_minimum():
    record = cost_record(
        cluster(0.1, 0.2),
        [],
        groups=[group("MASTER", "m5.xlarge", 1), group("CORE", "m5.2xlarge", 2)],
    )
    hourly = INSTANCES["m5.xlarge"].on_demand_usd_per_hour
    hourly += 2 * INSTANCES["m5.2xlarge"].on_demand_usd_per_hour
    assert record["usd"] == pytest.approx(hourly / 60, abs=1e-6)  # billed a minute, not 12 s


def test_a_spot_fleet_is_priced_at_its_dearest_type_and_the_spot_estimate():
    fleets = [
        {
            "InstanceFleetType": "MASTER",
            "TargetOnDemandCapacity": 1,
            "ProvisionedOnDemandCapacity": 0,  # an ended fleet may report none: the target
            "InstanceTypeSpecifications": [{"InstanceType": "m5.xlarge"}],
        },
        {
            "InstanceFleetType": "CORE",
            "TargetSpotCapacity": 3,
            "ProvisionedSpotCapacity": 1,
            "ProvisionedOnDemandCapacity": 2,  # switched to on-demand after the timeout
            "InstanceTypeSpecifications": [
                {"InstanceType": name} for name in ("m5a.2xlarge", "m5.2xlarge", "m6i.2xlarge")
            ],
        },
    ]
    record = cost_record(cluster(8, 60, "INSTANCE_FLEET"), [], fleets=fleets)
    core = INSTANCES["m5.2xlarge"]  # as dear as m6i.2xlarge, dearer than m5a
    hourly = INSTANCES["m5.xlarge"].on_demand_usd_per_hour
    hourly += 2 * core.on_demand_usd_per_hour + core.spot_usd_per_hour
    assert record["usd"] == pytest.approx(hourly, abs=1e-6)
    assert [(node["role"], node["market"], node["count"]) for node in record["nodes"]] == [
        ("MASTER", "ON_DEMAND", 1),
        ("CORE", "ON_DEMAND", 2),
        ("CORE", "SPOT", 1),
    ]
    assert record["spot_estimated"]


def test_records_are_filed_by_the_intervals_day_and_cluster():
    tags = {"data_interval": "2026-11-20T00:00:00+00:00/2026-11-21T00:00:00+00:00"}
    assert record_key(tags, "j-1ABC") == "ingest_date=2026-11-20/j-1ABC.json"
