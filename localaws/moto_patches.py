"""Where this local AWS departs from moto's EMR, applied in the server process only.

- moto bootstraps a cluster the moment it is created, and starts its first step at once;
  here clusters stay STARTING and steps PENDING until the runner (emr_runner) moves them.
- moto files EMR calls that reach it through a custom endpoint under us-east-1, whatever
  the client's region; here the region comes from the request's SigV4 credential scope.
"""

from __future__ import annotations

import re
from typing import Any

from moto.emr.models import Cluster
from moto.emr.responses import ElasticMapReduceResponse

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


def apply() -> None:
    Cluster.run_bootstrap_actions = _leave_bootstrap_to_the_runner
    Cluster.add_steps = _queue_steps(Cluster.add_steps)
    ElasticMapReduceResponse.get_region_from_url = _region_from_credential_scope(
        ElasticMapReduceResponse.get_region_from_url
    )
