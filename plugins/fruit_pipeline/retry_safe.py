"""The provider's EMR create and add-steps operators, safe to retry and to rerun.

A task can die after AWS accepted its call (a killed worker, a lost network reply). The
provider's operators would then start a second cluster, or add the steps twice, on retry.
Here, before calling AWS, each looks at what the run already has:

- create: a cluster of this run (tagged with its run_id), still active, is reused. A cluster
  of another run of the DAG that is still running (queued or running, by the run's state in
  Airflow, not by timing) is waited for: one run at a time, whatever started them. A cluster
  of a run no longer running (failed, killed, deleted) is an orphan: it is terminated, and
  waited for, before this run's cluster starts, so two clusters never write at once.
- add steps: steps the cluster already has, by name, are not added again.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn

from airflow.providers.amazon.aws.operators.emr import (
    EmrAddStepsOperator,
    EmrCreateJobFlowOperator,
)
from airflow.providers.standard.triggers.temporal import DateTimeTrigger
from airflow.sdk import Context
from airflow.sdk.exceptions import AirflowFailException
from botocore.waiter import WaiterModel, create_waiter_with_client

from fruit_pipeline.emr_requests import DAG_TAG, RUN_TAG

# The XCom of add-steps that the step sensor watches: the last step, which ends after the
# others (ActionOnFailure CANCEL_AND_WAIT cancels it when one before it fails).
LAST_STEP_XCOM = "last_step_id"
# And the cluster they run on (the provider's own key): a step id means nothing without it.
CLUSTER_XCOM = "job_flow_id"
RUNNING_RUN_STATES = ["queued", "running"]
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


def rendered(request: str | dict[str, Any]) -> dict[str, Any]:
    """A templated request, once Airflow rendered it: the provider also accepts a string."""
    if not isinstance(request, dict):
        raise TypeError(f"expected the rendered request, a dict: {request!r}")
    return request


def created(cluster: dict[str, Any]) -> tuple:
    """The order in which clusters were created, ties broken by id."""
    return (cluster["Status"]["Timeline"]["CreationDateTime"], cluster["Id"])


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
    """EmrCreateJobFlowOperator that reuses its run's cluster, waits for the clusters of the
    DAG's other running runs, and ends the orphans of runs no longer running.

    `job_flow_overrides` must carry the run_id and dag_id tags, and a Name starting with the
    dag_id.
    """

    def __init__(self, *, poll_seconds: int = 30, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.poll_seconds = poll_seconds

    def execute(self, context: Context) -> str | None:
        emr = self.hook.conn
        own, busy, orphans = self.survey(emr, context)
        if own:
            self.log.warning(
                "reusing cluster %s (%s): an earlier try of this run created it",
                own["Id"],
                own["Status"]["State"],
            )
            return own["Id"]
        if busy:
            self.wait_for(busy)
        if orphans:
            self.end_orphans(emr, orphans)
        cluster_id = super().execute(context)
        # Two runs may have looked at the same moment: the cluster created first goes on.
        mine, busy, _ = self.survey(emr, context)
        mine = mine or emr.describe_cluster(ClusterId=cluster_id)["Cluster"]
        first = [cluster for cluster in busy if created(cluster) < created(mine)]
        if not first:
            return cluster_id
        self.log.warning(
            "cluster %s of run %s started before this run's %s: ending it, and waiting",
            first[0]["Id"],
            tags_of(first[0]).get(RUN_TAG),
            cluster_id,
        )
        emr.terminate_job_flows(JobFlowIds=[cluster_id])
        self.wait_for(first)

    def survey(self, emr: Any, context: Context) -> tuple[dict | None, list[dict], list[dict]]:
        """The DAG's active clusters: this run's (None when it has none), those of its other
        runs still running (queued or running in Airflow), and the orphans of runs no longer
        running."""
        tags = tags_of(rendered(self.job_flow_overrides))
        dag_id, run_id = tags[DAG_TAG], tags[RUN_TAG]
        own: dict[str, Any] | None = None
        busy: list[dict[str, Any]] = []
        orphans: list[dict[str, Any]] = []
        for cluster in active_clusters_tagged(emr, dag_id, **{DAG_TAG: dag_id}):
            owner = tags_of(cluster).get(RUN_TAG)
            if owner == run_id and cluster["Status"]["State"] != "TERMINATING":
                own = own or cluster
                continue
            running = (
                owner is not None
                and owner != run_id
                and context["ti"].get_dr_count(
                    dag_id=dag_id, run_ids=[owner], states=RUNNING_RUN_STATES
                )
            )
            (busy if running else orphans).append(cluster)
        return own, busy, orphans

    def wait_for(self, busy: list[dict[str, Any]]) -> NoReturn:
        """Runs of the DAG take what no run took yet: two at once would take the same images.
        Whatever started them (a backfill runs several at once), wait, deferred, until the
        other runs are done, then look again."""
        for cluster in busy:
            self.log.warning(
                "waiting for cluster %s of run %s (%s), still running: one run of %s at a "
                "time; next look in %ds",
                cluster["Id"],
                tags_of(cluster).get(RUN_TAG),
                cluster["Status"]["State"],
                tags_of(cluster).get(DAG_TAG),
                self.poll_seconds,
            )
        self.defer(
            trigger=DateTimeTrigger(datetime.now(UTC) + timedelta(seconds=self.poll_seconds)),
            method_name="look_again",
        )

    def look_again(self, context: Context, event: Any = None) -> str | None:
        return self.execute(context)

    def end_orphans(self, emr: Any, orphans: list[dict[str, Any]]) -> None:
        """A cluster of a run that is no longer running (failed, killed, marked, deleted): its
        teardown did not end it. It is terminated, and waited for, before this run's cluster
        starts: nothing of it writes once this run's steps run."""
        ids = [cluster["Id"] for cluster in orphans]
        for cluster in orphans:
            self.log.warning(
                "terminating cluster %s of run %s (%s): that run is no longer running",
                cluster["Id"],
                tags_of(cluster).get(RUN_TAG),
                cluster["Status"]["State"],
            )
        emr.terminate_job_flows(JobFlowIds=ids)
        waiter = create_waiter_with_client("ClusterEnded", CLUSTER_ENDED, emr)
        for cluster_id in ids:
            waiter.wait(ClusterId=cluster_id, WaiterConfig={"Delay": self.poll_seconds})
            self.log.info("cluster %s has ended", cluster_id)


class RetrySafeEmrAddStepsOperator(EmrAddStepsOperator):
    """EmrAddStepsOperator that adds only the steps, by name, the cluster does not have yet,
    and returns the ids of all of them, in the order of `steps`; the last one's id is the
    XCom LAST_STEP_XCOM too, and their cluster's CLUSTER_XCOM."""

    def execute(self, context: Context) -> list[str]:
        state = self.hook.conn.describe_cluster(ClusterId=self.job_flow_id)["Cluster"]["Status"]
        if state["State"] not in ACTIVE_STATES[:-1]:
            # Only add_spark_steps was cleared, after its cluster ended: the steps need a new
            # cluster, which only create_emr_cluster starts; retrying cannot change that.
            raise AirflowFailException(
                f"cluster {self.job_flow_id} has ended ({state['State']}): clear "
                "create_emr_cluster with its downstream tasks to run the steps on a new cluster"
            )
        existing: dict[str, str] = {}
        for page in self.hook.conn.get_paginator("list_steps").paginate(ClusterId=self.job_flow_id):
            for step in page["Steps"]:
                existing.setdefault(step["Name"], step["Id"])  # the newest first
        steps = [rendered(step) for step in self.steps]
        wanted = [step["Name"] for step in steps]
        present = [name for name in wanted if name in existing]
        if present:
            self.log.warning(
                "cluster %s already has step(s) %s: an earlier try added them; not adding "
                "them again",
                self.job_flow_id,
                ", ".join(f"{name} ({existing[name]})" for name in present),
            )
        self.steps = [step for step in steps if step["Name"] not in existing]
        added = iter(super().execute(context) if self.steps else [])
        ids = [existing[name] if name in existing else next(added) for name in wanted]
        context["ti"].xcom_push(key=LAST_STEP_XCOM, value=ids[-1])
        context["ti"].xcom_push(key=CLUSTER_XCOM, value=self.job_flow_id)
        return ids
