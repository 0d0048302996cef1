"""Where this local AWS departs from moto's EMR and S3, applied in the server process only.

- moto bootstraps a cluster the moment it is created, and starts its first step at once;
  here clusters stay STARTING and steps PENDING until the runner (emr_runner) moves them.
- moto files EMR calls that reach it through a custom endpoint under us-east-1, whatever
  the client's region; here the region comes from the request's SigV4 credential scope.
- Terminating a cluster that has already ended leaves it as it was (moto would turn
  TERMINATED_WITH_ERRORS into TERMINATED, hiding why it failed). Terminating one cancels its
  pending and running steps in the same transition. Termination waits while a
  step of the cluster writes its output back to S3 (state_lock): a cluster never ends in the
  middle of that, and its steps never write once it has ended.
- RunJobFlow keeps AutoTerminationPolicy.IdleTimeout (moto drops it), refusing a value
  outside EMR's 60 s to 7 days; the runner ends a cluster idle for that long.
  GetAutoTerminationPolicy and PutAutoTerminationPolicy (moto has neither) read and change
  it, as on EMR.
- A step's end and its cluster's next state (WAITING, or TERMINATED_WITH_ERRORS) are one
  transition: the runner makes it holding emr_state, and the EMR calls that read states
  (DescribeCluster, DescribeStep, ListSteps, ListClusters) answer holding it too, so no reader
  sees a step ended on a cluster still RUNNING, a state EMR never shows.
- RunJobFlow accepts instance fleets (moto ignores them): the cluster keeps them, says
  INSTANCE_FLEET, and ListInstanceFleets answers with each fleet provisioned at its targets,
  on the market asked: spot capacity is never short here.
- An object uploaded with the metadata `localaws-last-modified: <ISO 8601>` (the header
  x-amz-meta-localaws-last-modified) gets that LastModified, to play uploads of past days.
- A copy of a multipart object gets the checksum of its whole content, as on S3 (moto gives
  it the source's checksum of part checksums, which a whole-object GET then fails to match).
- ListObjectVersions reads no object's content. moto deep-copies every version in the bucket
  to mark which is latest, and a FakeKey's copy reads its whole content and writes it again:
  each listing cost as much as the bucket's bytes (the nodes' archive, the CNNs), whatever
  its prefix. Here the copy is the key's metadata, with the stored content left alone.
"""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime
from typing import Any

from moto.core.responses import ActionResult
from moto.emr.exceptions import ValidationException
from moto.emr.models import Cluster
from moto.emr.responses import ElasticMapReduceResponse
from moto.s3.models import FakeKey, S3Backend
from moto.s3.utils import compute_checksum

from localaws.client import LAST_MODIFIED_METADATA

CREDENTIAL_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([a-z0-9-]+)/elasticmapreduce/")


def _leave_bootstrap_to_the_runner(self: Cluster) -> None:
    """Replaces Cluster.run_bootstrap_actions: the cluster stays STARTING."""


def _queue_steps(original):
    def add_steps(self: Cluster, steps: list[dict[str, Any]]):
        state = getattr(self, "state", None)  # None while the cluster is being created
        added = original(self, steps)
        for step in added:
            step.state = "PENDING"
            step.start_date_time = None
        self.state = state
        return added

    return add_steps


def _region_from_credential_scope(original):
    def get_region_from_url(self: ElasticMapReduceResponse, request: Any, full_url: str) -> str:
        match = CREDENTIAL_SCOPE.search(request.headers.get("Authorization", ""))
        return match.group(1) if match else original(self, request, full_url)

    return get_region_from_url


ENDED = ("TERMINATED", "TERMINATED_WITH_ERRORS")
LAST_MODIFIED_HEADER = f"x-amz-meta-{LAST_MODIFIED_METADATA}"
IDLE_TIMEOUT_RANGE = (60, 7 * 24 * 3600)  # seconds, as EMR's RunJobFlow accepts
_state_locks: dict[str, threading.RLock] = {}
emr_state = threading.RLock()
STATE_READERS = ("describe_cluster", "describe_step", "list_steps", "list_clusters")


def state_lock(cluster: Cluster) -> threading.RLock:
    """Held to end the cluster, and by the runner while a step of it writes back to S3."""
    return _state_locks.setdefault(cluster.id, threading.RLock())


def _terminate_once(original):
    """Ends the cluster and, in the same transition, its steps that had not ended: EMR shows
    them CANCELLED once the cluster is TERMINATED. emr_state is taken before state_lock, as
    the runner takes them, so the two never wait on each other."""

    def terminate(self: Cluster) -> None:
        with emr_state, state_lock(self):
            if self.state in ENDED:
                return
            original(self)
            for step in self.steps:
                if step.state in ("PENDING", "RUNNING"):
                    step.state = "CANCELLED"
                    step.last_state_change_reason = f"cancelled: cluster {self.state}"
                    step.end_date_time = datetime.now(UTC)

    return terminate


def _requested_idle_timeout(self: ElasticMapReduceResponse) -> int | None:
    idle_timeout = (self._get_param("AutoTerminationPolicy") or {}).get("IdleTimeout")
    low, high = IDLE_TIMEOUT_RANGE
    if idle_timeout is not None and not low <= idle_timeout <= high:
        raise ValidationException(
            f"AutoTerminationPolicy.IdleTimeout must be {low} to {high} seconds, not {idle_timeout}"
        )
    return idle_timeout


def _get_auto_termination_policy(self: ElasticMapReduceResponse) -> ActionResult:
    cluster = self.backend.describe_cluster(self._get_param("ClusterId"))
    idle_timeout = getattr(cluster, "idle_timeout", None)
    return ActionResult(
        {"AutoTerminationPolicy": {"IdleTimeout": idle_timeout}} if idle_timeout else {}
    )


def _put_auto_termination_policy(self: ElasticMapReduceResponse) -> ActionResult:
    cluster = self.backend.describe_cluster(self._get_param("ClusterId"))
    cluster.idle_timeout = _requested_idle_timeout(self)
    return ActionResult({})


def _keep_idle_timeout(original):
    def run_job_flow(self: ElasticMapReduceResponse):
        idle_timeout = _requested_idle_timeout(self)
        result = original(self)
        cluster = self.backend.clusters[result.result["JobFlowId"]]
        cluster.idle_timeout = idle_timeout
        cluster.instance_fleets = [
            provisioned_fleet(cluster.id, number, fleet)
            for number, fleet in enumerate(self._get_param("Instances.InstanceFleets", []))
        ]
        cluster.instance_collection_type = (
            "INSTANCE_FLEET" if cluster.instance_fleets else "INSTANCE_GROUP"
        )
        return result

    return run_job_flow


def provisioned_fleet(cluster_id: str, number: int, fleet: dict[str, Any]) -> dict[str, Any]:
    """ListInstanceFleets' view of a requested fleet, every target met."""
    return {
        "Id": f"if-{cluster_id.removeprefix('j-')}{number}",
        "Name": fleet.get("Name"),
        "Status": {"State": "RUNNING"},
        "InstanceFleetType": fleet["InstanceFleetType"],
        "TargetOnDemandCapacity": fleet.get("TargetOnDemandCapacity", 0),
        "TargetSpotCapacity": fleet.get("TargetSpotCapacity", 0),
        "ProvisionedOnDemandCapacity": fleet.get("TargetOnDemandCapacity", 0),
        "ProvisionedSpotCapacity": fleet.get("TargetSpotCapacity", 0),
        "InstanceTypeSpecifications": [
            {
                "InstanceType": config["InstanceType"],
                "WeightedCapacity": config.get("WeightedCapacity", 1),
            }
            for config in fleet["InstanceTypeConfigs"]
        ],
        "LaunchSpecifications": fleet.get("LaunchSpecifications", {}),
    }


def _list_instance_fleets(self: ElasticMapReduceResponse) -> ActionResult:
    cluster = self.backend.describe_cluster(self._get_param("ClusterId"))
    return ActionResult({"InstanceFleets": getattr(cluster, "instance_fleets", [])})


def _under_emr_state(original):
    def read(self: ElasticMapReduceResponse):
        with emr_state:
            return original(self)

    return read


def _backdate_on_request(original):
    def set_metadata(self: FakeKey, metadata: Any, replace: bool = False) -> None:
        original(self, metadata, replace)
        moment = self.metadata.get(LAST_MODIFIED_HEADER)
        if moment:
            # moto keeps naive UTC times
            utc = datetime.fromisoformat(moment).astimezone(UTC)
            self.last_modified = utc.replace(tzinfo=None)

    return set_metadata


def _checksum_of_the_copy(original):
    def copy_object(
        self: S3Backend, src_key: FakeKey, dest_bucket_name: str, dest_key_name: str, **kwargs
    ) -> None:
        original(self, src_key, dest_bucket_name, dest_key_name, **kwargs)
        if src_key.checksum_type != "COMPOSITE":
            return
        copy = self.get_object(dest_bucket_name, dest_key_name)
        if copy and copy.checksum_algorithm:
            copy.checksum_value = compute_checksum(copy.value, copy.checksum_algorithm).decode()

    return copy_object


class ListedVersion(FakeKey):
    """A stored version as ListObjectVersions shows it: its metadata, and its own is_latest.
    Its content is the stored key's, never read, copied nor closed here."""

    def __del__(self) -> None:
        """FakeKey's closes the content's buffer, which is the stored key's here."""


def _listed_version(self: FakeKey, memo: dict) -> ListedVersion:
    """FakeKey.__deepcopy__, which moto calls only to list versions. Made without FakeKey's
    __init__, which would store a content of its own, and without moto's BaseModel.__new__,
    which keeps every instance until a reset (a server never resets): moto's own copies, each
    holding a copy of the content, were never freed."""
    listed = object.__new__(ListedVersion)
    listed.__dict__.update(self.__dict__)
    return listed


def apply() -> None:
    FakeKey.__deepcopy__ = _listed_version
    Cluster.terminate = _terminate_once(Cluster.terminate)
    FakeKey.set_metadata = _backdate_on_request(FakeKey.set_metadata)
    S3Backend.copy_object = _checksum_of_the_copy(S3Backend.copy_object)
    Cluster.run_bootstrap_actions = _leave_bootstrap_to_the_runner
    Cluster.add_steps = _queue_steps(Cluster.add_steps)
    ElasticMapReduceResponse.run_job_flow = _keep_idle_timeout(
        ElasticMapReduceResponse.run_job_flow
    )
    for name in STATE_READERS:
        setattr(
            ElasticMapReduceResponse,
            name,
            _under_emr_state(getattr(ElasticMapReduceResponse, name)),
        )
    ElasticMapReduceResponse.list_instance_fleets = _list_instance_fleets
    ElasticMapReduceResponse.get_auto_termination_policy = _get_auto_termination_policy
    ElasticMapReduceResponse.put_auto_termination_policy = _put_auto_termination_policy
    ElasticMapReduceResponse.get_region_from_url = _region_from_credential_scope(
        ElasticMapReduceResponse.get_region_from_url
    )
