"""What a run's cluster cost, from the cluster itself once it has ended: DescribeCluster's
timeline (created, ready, ended), its instance groups or fleets (types, markets, counts) and
its steps' timelines, priced with fruit_pipeline.prices.

Every instance is billed from the cluster's creation to its end, per second with EMR's
one-minute minimum: an upper bound within a minute or two, since EMR provisions the core
nodes alongside the primary. Spot capacity is priced at the estimated spot saving (spot
prices move hourly and no API here gives the price paid). A fleet is priced at its dearest
type: the bound of whatever EMR chose. EMR's NormalizedInstanceHours is only a rough index
of usage, not a cost: it is recorded beside the figure, not used for it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fruit_pipeline.emr_requests import INTERVAL_TAG, PYTHON_ENV_TAG
from fruit_pipeline.prices import INSTANCES, MINIMUM_BILLED_SECONDS, PRICES_NOTE


def minutes_between(start: datetime | None, end: datetime | None) -> float:
    if start is None or end is None:
        return 0.0
    return max((end - start).total_seconds(), 0.0) / 60


def nodes_of_groups(groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "role": group["InstanceGroupType"],
            "instance_type": group["InstanceType"],
            "market": group["Market"],
            "count": group["RequestedInstanceCount"],
        }
        for group in groups
    ]


def nodes_of_fleets(fleets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each fleet's on-demand and spot units (as provisioned, else as targeted: an ended
    fleet may report none), at its dearest type."""
    nodes = []
    for fleet in fleets:
        types = [spec["InstanceType"] for spec in fleet["InstanceTypeSpecifications"]]
        dearest = max(types, key=lambda name: INSTANCES[name].on_demand_usd_per_hour)
        for market in ("OnDemand", "Spot"):
            count = fleet.get(f"Provisioned{market}Capacity") or fleet.get(
                f"Target{market}Capacity", 0
            )
            if count:
                nodes.append(
                    {
                        "role": fleet["InstanceFleetType"],
                        "instance_type": dearest,
                        "market": "SPOT" if market == "Spot" else "ON_DEMAND",
                        "count": count,
                        "fleet_types": types,
                    }
                )
    return nodes


def usd(nodes: list[dict[str, Any]], billed_seconds: float) -> float:
    hours = max(billed_seconds, MINIMUM_BILLED_SECONDS) / 3600
    total = 0.0
    for node in nodes:
        price = INSTANCES[node["instance_type"]]
        rate = price.spot_usd_per_hour if node["market"] == "SPOT" else price.on_demand_usd_per_hour
        total += node["count"] * rate * hours
    return total


def cost_record(
    cluster: dict[str, Any],
    steps: list[dict[str, Any]],
    *,
    groups: list[dict[str, Any]] | None = None,
    fleets: list[dict[str, Any]] | None = None,
    planned: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The cost record of an ended cluster (DescribeCluster's Cluster, ListSteps' Steps,
    ListInstanceGroups' groups or ListInstanceFleets' fleets)."""
    timeline = cluster["Status"]["Timeline"]
    created, ready, ended = (
        timeline.get("CreationDateTime"),
        timeline.get("ReadyDateTime"),
        timeline.get("EndDateTime"),
    )
    nodes = nodes_of_fleets(fleets) if fleets is not None else nodes_of_groups(groups or [])
    total = minutes_between(created, ended)
    tags = {tag["Key"]: tag["Value"] for tag in cluster.get("Tags", [])}
    planned = planned or {}
    return {
        "run_id": tags.get("run_id"),
        "data_interval": tags.get(INTERVAL_TAG),
        "python_env": tags.get(PYTHON_ENV_TAG),
        "cluster_id": cluster["Id"],
        "state": cluster["Status"]["State"],
        "model": (params or {}).get("model"),
        "images": planned.get("images"),
        "image_bytes": planned.get("bytes"),
        "nodes": nodes,
        "created_at": created.isoformat() if created else None,
        "ready_at": ready.isoformat() if ready else None,
        "ended_at": ended.isoformat() if ended else None,
        "startup_minutes": round(minutes_between(created, ready or ended), 3),
        "step_minutes": round(
            sum(
                minutes_between(
                    step["Status"]["Timeline"].get("StartDateTime"),
                    step["Status"]["Timeline"].get("EndDateTime"),
                )
                for step in steps
            ),
            3,
        ),
        "total_minutes": round(total, 3),
        "usd": round(usd(nodes, total * 60), 6),
        "spot_estimated": any(node["market"] == "SPOT" for node in nodes),
        "prices": PRICES_NOTE,
        "estimate": planned,
        "normalized_instance_hours": cluster.get("NormalizedInstanceHours"),
    }


def record_key(tags: dict[str, str], cluster_id: str) -> str:
    """ingest_date=<the interval's first day>/<cluster id>.json: one record a cluster, and a
    date's reruns side by side."""
    day = tags.get(INTERVAL_TAG, "unknown")[:10]
    return f"ingest_date={day}/{cluster_id}.json"
