"""Moves moto's EMR clusters and steps through their lifecycle, running spark-submit steps.

Clusters: STARTING -> BOOTSTRAPPING -> WAITING (RUNNING while a step runs) -> TERMINATED,
or TERMINATED_WITH_ERRORS when a bootstrap action fails: each one's script runs for real on
the cluster's one node, a sandbox folder (localaws.node), and the steps run with the Python
the cluster's spark-env names there. A cluster with AutoTerminationPolicy.IdleTimeout ends once
it has had no step running or pending for that long, as on EMR. Steps run one at a time, in
order: PENDING -> RUNNING -> COMPLETED | FAILED | CANCELLED, honouring ActionOnFailure. A step
that is not a command-runner.jar spark-submit FAILS with its reason: nothing is ever made up
COMPLETED. A step's output reaches S3 only if its cluster is still active once the step has
succeeded; ending the cluster kills its running step, and nothing of it is written back.
"""

from __future__ import annotations

import gzip
import logging
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyspark
from moto.emr.models import emr_backends

from fruits_contract.jobs import job_of_script
from fruitspark.session import local_jvm_conf
from localaws.moto_patches import emr_state, state_lock
from localaws.node import BootstrapFailure, BootstrapRun, Node
from localaws.staging import Stager, split_uri

log = logging.getLogger("localaws.emr")
TICK_SECONDS = 0.5
ACTIVE_CLUSTER_STATES = ("STARTING", "BOOTSTRAPPING", "WAITING", "RUNNING")
SPARK_SUBMIT = Path(sys.executable).with_name("spark-submit")
# The node's Spark, as EMR's /usr/lib/spark: spark-submit finds it there, not by importing
# pyspark with the node's Python (which, as on EMR, has no pyspark package).
SPARK_HOME = str(Path(str(pyspark.__file__)).parent)


def all_clusters() -> list[Any]:
    return [
        cluster
        for regions in list(emr_backends.values())
        for backend in list(regions.values())
        for cluster in list(backend.clusters.values())
    ]


def now() -> datetime:
    return datetime.now(UTC)


def direct_reads(arguments: list[str]) -> set[int]:
    """Positions of the spark-submit arguments left unstaged: the values of the options the
    job reads itself with pyarrow.fs, as on EMR (fruits_contract.jobs), given as `--input=URI`
    or as `--input URI` after the job's script. They stay s3://, and the job's Python workers
    reach this S3 at its endpoint."""
    for start, argument in enumerate(arguments):
        if job := job_of_script(argument):
            return {
                position
                for position in range(start + 1, len(arguments))
                for option in job.direct_reads
                if arguments[position].startswith(f"{option}=") or arguments[position - 1] == option
            }
    return set()


class StepFailure(Exception):
    """A step that cannot run or did not succeed; the message becomes its state reason."""


class EmrRunner(threading.Thread):
    def __init__(self, s3: Any, workdir: Path, spark_master: str = "local[2]") -> None:
        super().__init__(name="emr-runner", daemon=True)
        self.s3 = s3
        self.workdir = workdir
        self.spark_master = spark_master
        self.stopping = threading.Event()
        # cluster id -> the process of its step or bootstrap action
        self.running: dict[str, subprocess.Popen | None] = {}

    def stop(self) -> None:
        self.stopping.set()
        for process in list(self.running.values()):
            if process is not None:  # None: reserved, its process not started yet
                process.kill()

    def run(self) -> None:
        while not self.stopping.wait(TICK_SECONDS):
            for cluster in all_clusters():
                try:
                    with emr_state:  # each move is seen whole by DescribeCluster and the rest
                        self.advance(cluster)
                except Exception:
                    log.exception("cluster %s: runner error", cluster.id)

    def advance(self, cluster: Any) -> None:
        if getattr(cluster, "state", None) is None:  # still being created
            return
        if cluster.state == "STARTING":
            cluster.state = "BOOTSTRAPPING"
        elif cluster.state == "BOOTSTRAPPING" and cluster.id not in self.running:
            self.running[cluster.id] = None  # reserved until its first script starts
            threading.Thread(target=self.bootstrap, args=(cluster,), daemon=True).start()
        elif cluster.state in ("WAITING", "RUNNING") and cluster.id not in self.running:
            self.start_next_step(cluster)
            self.end_if_idle_too_long(cluster)
        elif cluster.state not in ACTIVE_CLUSTER_STATES:
            self.cancel_pending(cluster, f"cluster {cluster.state}")
            process = self.running.get(cluster.id)
            if process and process.poll() is None:
                log.info("cluster %s %s: stopping its running step", cluster.id, cluster.state)
                process.kill()

    def node(self, cluster: Any) -> Node:
        return Node(self.workdir / cluster.id / "node")

    def bootstrap(self, cluster: Any) -> None:
        """Each bootstrap action's script, in order, on the cluster's node; then WAITING, or
        TERMINATED_WITH_ERRORS with the failed action's last error line."""
        log.info("cluster %s: BOOTSTRAPPING", cluster.id)
        failure = None
        try:
            node = self.node(cluster)
            node.prepare()
            for number, action in enumerate(cluster.bootstrap_actions, start=1):
                run = BootstrapRun(node, number, action, self.s3)
                process = run.start()
                self.running[cluster.id] = process
                code = process.wait()
                self.upload_logs(cluster, run.log_files())
                run.check(code)
        except BootstrapFailure as error:
            failure = f"Bootstrap failure: {error}"
        except Exception as error:
            log.exception("cluster %s: bootstrap crashed the runner", cluster.id)
            failure = f"local runner error: {error}"
        with emr_state:
            self.running.pop(cluster.id, None)
            if cluster.state != "BOOTSTRAPPING":  # terminated meanwhile
                return
            if failure:
                self.fail_cluster(cluster, failure)
                return
            cluster.ready_datetime = cluster.idle_since = now()
            cluster.state = "WAITING"
        log.info("cluster %s: bootstrapped, WAITING", cluster.id)

    def fail_cluster(self, cluster: Any, reason: str) -> None:
        log.warning("cluster %s: %s", cluster.id, reason)
        cluster.last_state_change_reason = reason
        cluster.end_datetime = now()
        cluster.state = "TERMINATED_WITH_ERRORS"
        self.cancel_pending(cluster, reason)

    def cancel_pending(self, cluster: Any, reason: str) -> None:
        for step in cluster.steps:
            if step.state == "PENDING":
                step.state = "CANCELLED"
                step.last_state_change_reason = f"cancelled: {reason}"
                step.end_date_time = now()

    def start_next_step(self, cluster: Any) -> None:
        pending = [step for step in cluster.steps if step.state == "PENDING"]
        if not pending:
            self.idle(cluster)
            return
        step = pending[0]
        step.state = "RUNNING"
        step.start_date_time = now()
        cluster.state = "RUNNING"
        self.running[cluster.id] = None  # reserved until its process starts
        threading.Thread(target=self.run_step, args=(cluster, step), daemon=True).start()

    def idle(self, cluster: Any) -> None:
        """No step to run: WAITING, or the end when the cluster is not kept alive."""
        if cluster.state not in ("WAITING", "RUNNING"):
            return
        if cluster.state == "RUNNING":
            cluster.idle_since = now()
        cluster.state = "WAITING"
        if not cluster.keep_job_flow_alive_when_no_steps and cluster.steps:
            cluster.terminate()

    def end_if_idle_too_long(self, cluster: Any) -> None:
        """AutoTerminationPolicy: idle means WAITING, with no step running or pending."""
        timeout = getattr(cluster, "idle_timeout", None)
        if not timeout or cluster.state != "WAITING" or cluster.id in self.running:
            return
        idle_seconds = (now() - cluster.idle_since).total_seconds()
        if idle_seconds >= timeout:
            with state_lock(cluster):
                if cluster.state != "WAITING":
                    return
                cluster.last_state_change_reason = (
                    f"Auto-termination: the cluster was idle for {idle_seconds:.0f} seconds, "
                    f"its AutoTerminationPolicy's IdleTimeout is {timeout}"
                )
                cluster.terminate()
            log.info("cluster %s: idle for %.0fs, TERMINATED", cluster.id, idle_seconds)

    def run_step(self, cluster: Any, step: Any) -> None:
        log.info("cluster %s step %s (%s): RUNNING", cluster.id, step.id, step.name)
        folder = self.workdir / cluster.id / step.id
        stdout, stderr = folder / "stdout", folder / "stderr"
        folder.mkdir(parents=True, exist_ok=True)
        failure = None
        try:
            self.spark_submit(cluster, step, folder, stdout, stderr)
        except StepFailure as error:
            failure = str(error)
        except Exception as error:
            log.exception("step %s crashed the runner", step.id)
            failure = f"local runner error: {error}"
        try:  # before a reader sees it ended
            self.upload_logs(
                cluster,
                [(path, f"steps/{step.id}/{path.name}.gz") for path in (stdout, stderr)],
            )
        finally:
            with emr_state:  # the step's end and its cluster's next state, seen together
                self.end_step(cluster, step, failure)

    def end_step(self, cluster: Any, step: Any, failure: str | None) -> None:
        """A step still RUNNING ends now; one its cluster's end already CANCELLED stays so."""
        if step.state == "RUNNING":
            step.end_date_time = now()
            if failure is None:
                step.state = "COMPLETED"
            else:
                self.on_failure(cluster, step, failure)
            if not any(later.state == "PENDING" for later in cluster.steps):
                self.idle(cluster)
        self.running.pop(cluster.id, None)
        log.info("cluster %s step %s (%s): %s", cluster.id, step.id, step.name, step.state)

    def spark_submit(self, cluster, step, folder: Path, stdout: Path, stderr: Path) -> None:
        if step.jar != "command-runner.jar" or not step.args or step.args[0] != "spark-submit":
            stderr.write_text(f"unsupported step: Jar={step.jar!r} Args={step.args!r}\n")
            raise StepFailure(
                "localaws runs only command-runner.jar steps whose arguments are a spark-submit"
            )
        stager = Stager(self.s3, folder / "s3")
        arguments = list(step.args[1:])
        arguments = stager.stage_arguments(arguments, direct_reads(arguments))
        local_jvm = [arg for item in local_jvm_conf().items() for arg in ("--conf", "=".join(item))]
        command = [str(SPARK_SUBMIT), "--master", self.spark_master, *local_jvm, *arguments]
        environment = self.step_environment(cluster)
        with stdout.open("w") as out, stderr.open("w") as err:
            process = subprocess.Popen(command, stdout=out, stderr=err, env=environment)
            self.running[cluster.id] = process
            code = process.wait()
        # Held through the write-back: a termination waits for it, or comes before it.
        with state_lock(cluster):
            if cluster.state not in ACTIVE_CLUSTER_STATES:
                raise StepFailure(
                    f"the cluster was {cluster.state} while the step ran: nothing written back"
                )
            if code != 0:
                raise StepFailure(f"spark-submit exited with code {code}; see the step's stderr")
            synced = stager.sync_back()
        log.info("step %s: synced back %s", step.id, synced)

    def step_environment(self, cluster: Any) -> dict[str, str]:
        """The node's, with the Pythons its spark-env exports (the bootstrap made them), or
        this process's Python when the cluster names none."""
        node = self.node(cluster)
        exports = spark_env_exports(cluster)
        python = {
            name: node.path(exports[name]) if name in exports else sys.executable
            for name in ("PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON")
        }
        return {**node.environment(self.s3.meta.endpoint_url), "SPARK_HOME": SPARK_HOME, **python}

    def on_failure(self, cluster: Any, step: Any, reason: str) -> None:
        cancelled = cluster.state not in ACTIVE_CLUSTER_STATES
        step.state = "CANCELLED" if cancelled else "FAILED"
        step.last_state_change_reason = reason
        if cancelled or step.action_on_failure == "CONTINUE":
            return
        self.cancel_pending(cluster, f"step {step.name} failed")
        if step.action_on_failure in ("TERMINATE_CLUSTER", "TERMINATE_JOB_FLOW"):
            cluster.last_state_change_reason = f"Step failure: {step.name}"
            cluster.end_datetime = now()
            cluster.state = "TERMINATED_WITH_ERRORS"

    def upload_logs(self, cluster: Any, files: list[tuple[Path, str]]) -> None:
        """Under EMR's layout: <LogUri>/<cluster id>/<key>, gzipped (steps/<step id>/stderr.gz,
        node/<instance>/bootstrap-actions/<number>/stderr.gz)."""
        if not cluster.log_uri:
            return
        bucket, prefix = split_uri(cluster.log_uri.replace("s3n://", "s3://"))
        prefix = f"{prefix.rstrip('/')}/" if prefix else ""
        for path, key in files:
            if path.exists():
                body = gzip.compress(path.read_bytes())
                self.s3.put_object(Bucket=bucket, Key=f"{prefix}{cluster.id}/{key}", Body=body)


def as_requested(configuration: Any) -> dict[str, Any]:
    """moto keeps a request's Configurations with snake-cased keys, the originals aside."""
    if hasattr(configuration, "original_dict"):
        return configuration.original_dict()
    return configuration


def spark_env_exports(cluster: Any) -> dict[str, str]:
    """The environment variables the cluster's spark-env classification exports."""
    configurations = [as_requested(item) for item in cluster.configurations]
    return {
        name: value
        for classification in configurations
        if classification.get("Classification") == "spark-env"
        for nested in classification.get("Configurations", [])
        if nested.get("Classification") == "export"
        for name, value in nested.get("Properties", {}).items()
    }
