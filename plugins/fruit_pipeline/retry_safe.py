"""The provider's EMR create and add-steps operators, safe to retry and to rerun.

A task can die after AWS accepted its call (a killed worker, a lost network reply). The
provider's operators would then start a second cluster, or add the steps twice, on retry.
Here, before calling AWS, each looks at what the run already has:

- create: a cluster of this run (tagged with its run_id), still active, is reused. A cluster
  of another run of the same DAG and data interval, still active, is an orphan of an
  interrupted run: it is terminated, and waited for, before this run's cluster starts, so
  two clusters never write one interval's outputs.
- add steps: steps the cluster already has, by name, are not added again.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.amazon.aws.operators.emr import (
    EmrAddStepsOperator,
    EmrCreateJobFlowOperator,
)
from botocore.waiter import WaiterModel, create_waiter_with_client

from fruit_pipeline.emr_requests import DAG_TAG, INTERVAL_TAG, RUN_TAG

# The XCom of add-steps that the step sensor watches: the last step, which ends after the
# others (ActionOnFailure CANCEL_AND_WAIT cancels it when one before it fails).
LAST_STEP_XCOM = "last_step_id"
ACTIVE_STATES = ["STARTING", "BOOTSTRAPPING", "RUNNING", "WAITING", "TERMINATING"]
# botocore's own ClusterTerminated waiter fails on TERMINATED_WITH_ERRORS, which is an end too.
CLUSTER_ENDED = WaiterModel(
    {
        "version": 2,
        "waiters": {
            "ClusterEnded": {
                "operation": "DescribeCluster",
                "delay": 30,
                "maxAttempts": 60,
                "acceptors": [
                    {
                        "matcher": "path",
                        "argument": "Cluster.Status.State",
                        "expected": state,
                        "state": "success",
                    }
                    for state in ("TERMINATED", "TERMINATED_WITH_ERRORS")
                ],
            }
        },
    }
)


def tags_of(resource: dict[str, Any]) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in resource.get("Tags", [])}


def active_clusters_tagged(emr: Any, name_prefix: str, **tags: str) -> list[dict[str, Any]]:
    """The active clusters whose name starts with name_prefix and which carry every tag, as
    describe_cluster gives them, newest first. list_clusters has no tags: the name narrows
    the clusters to describe."""
    found = []
    for page in emr.get_paginator("list_clusters").paginate(ClusterStates=ACTIVE_STATES):
        for summary in page["Clusters"]:
            if not summary["Name"].startswith(name_prefix):
                continue
            cluster = emr.describe_cluster(ClusterId=summary["Id"])["Cluster"]
            if tags.items() <= tags_of(cluster).items():
                found.append(cluster)
    return found


class RetrySafeEmrCreateJobFlowOperator(EmrCreateJobFlowOperator):
    """EmrCreateJobFlowOperator that reuses its run's cluster and ends its interval's orphans.

    `job_flow_overrides` must carry the run_id, dag_id and data_interval tags, and a Name
    starting with the dag_id.
    """

    def __init__(self, *, orphan_poll_seconds: int = 30, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.orphan_poll_seconds = orphan_poll_seconds

    def execute(self, context: Any) -> str | None:
        tags = tags_of(self.job_flow_overrides)
        emr = self.hook.conn
        same_interval = active_clusters_tagged(
            emr, tags[DAG_TAG], **{DAG_TAG: tags[DAG_TAG], INTERVAL_TAG: tags[INTERVAL_TAG]}
        )
        of_this_run = [
            cluster
            for cluster in same_interval
            if tags_of(cluster).get(RUN_TAG) == tags[RUN_TAG]
            and cluster["Status"]["State"] != "TERMINATING"
        ]
        if of_this_run:
            cluster = of_this_run[0]
            self.log.warning(
                "reusing cluster %s (%s): an earlier try of this run created it",
                cluster["Id"],
                cluster["Status"]["State"],
            )
            return cluster["Id"]
        if same_interval:
            self.end_orphans(emr, same_interval)
        return super().execute(context)

    def end_orphans(self, emr: Any, orphans: list[dict[str, Any]]) -> None:
        ids = [cluster["Id"] for cluster in orphans]
        for cluster in orphans:
            self.log.warning(
                "terminating cluster %s of run %s (%s): an interrupted run of the same data "
                "interval left it; two clusters would write the same outputs",
                cluster["Id"],
                tags_of(cluster).get(RUN_TAG),
                cluster["Status"]["State"],
            )
        emr.terminate_job_flows(JobFlowIds=ids)
        waiter = create_waiter_with_client("ClusterEnded", CLUSTER_ENDED, emr)
        for cluster_id in ids:
            waiter.wait(ClusterId=cluster_id, WaiterConfig={"Delay": self.orphan_poll_seconds})
            self.log.info("cluster %s has ended", cluster_id)


class RetrySafeEmrAddStepsOperator(EmrAddStepsOperator):
    """EmrAddStepsOperator that adds only the steps, by name, the cluster does not have yet,
    and returns the ids of all of them, in the order of `steps`; the last one's id is the
    XCom LAST_STEP_XCOM too."""

    def execute(self, context: Any) -> list[str]:
        existing: dict[str, str] = {}
        for page in self.hook.conn.get_paginator("list_steps").paginate(ClusterId=self.job_flow_id):
            for step in page["Steps"]:
                existing.setdefault(step["Name"], step["Id"])  # the newest first
        wanted = [step["Name"] for step in self.steps]
        present = [name for name in wanted if name in existing]
        if present:
            self.log.warning(
                "cluster %s already has step(s) %s: an earlier try added them; not adding "
                "them again",
                self.job_flow_id,
                ", ".join(f"{name} ({existing[name]})" for name in present),
            )
        self.steps = [step for step in self.steps if step["Name"] not in existing]
        added = iter(super().execute(context) if self.steps else [])
        ids = [existing[name] if name in existing else next(added) for name in wanted]
        context["ti"].xcom_push(key=LAST_STEP_XCOM, value=ids[-1])
        return ids
