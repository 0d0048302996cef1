"""Whole DAG runs (dag.test) against moto, in-process.

moto serves S3 and EMR from a thread of this process, so both the provider's boto3 calls and
its deferrable triggers' aiobotocore calls reach it. moto never moves an EMR step past
PENDING/RUNNING: a helper thread plays EMR's part and sets each step's final state.
"""

from __future__ import annotations

import copy
import json
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from unittest import mock

import boto3
import botocore.client
import botocore.exceptions
import pendulum
import pytest
from moto.emr.models import emr_backends
from moto.server import ThreadedMotoServer

from fruit_pipeline.assets import pca_fingerprint
from fruits_contract.erasure import COUNTED_PLACES
from fruits_contract.landing import OUTSIDE, FolderSeen, LandingState
from fruits_contract.layout import landing_state_key
from localaws.moto_patches import CREDENTIAL_SCOPE
from localaws.process import free_port
from tests.airflow_env import ROOT
from tests.moto_buckets import put_node_env_manifest

pytestmark = pytest.mark.slow
REGION = "eu-west-1"
BUCKET = "fruits-test"
# The run of today's date processes [today, tomorrow): the images this test uploads now.
TODAY = pendulum.today("UTC")


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(scope="module")
def environment(moto_endpoint) -> Iterator[None]:
    connection = {
        "conn_type": "aws",
        "login": "testing",
        "password": "testing",  # pragma: allowlist secret (moto's)
        "extra": {"region_name": REGION, "endpoint_url": moto_endpoint},
    }
    variables = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",  # pragma: allowlist secret (moto's)
        "AWS_DEFAULT_REGION": REGION,
        "AIRFLOW_CONN_AWS_DEFAULT": json.dumps(connection),
        "FRUITS_DATA_BUCKET": BUCKET,
        "FRUITS_ARTIFACTS_URI": f"s3://{BUCKET}/artifacts/",
        "FRUITS_LOGS_URI": f"s3://{BUCKET}/logs/",
        "FRUITS_SENSOR_TIMEOUT_SECONDS": "0",
        "FRUITS_POKE_SECONDS": "1",
    }
    with mock.patch.dict("os.environ", variables):
        yield


@pytest.fixture(scope="module")
def airflow_db(environment) -> None:
    from airflow.utils.db import resetdb

    resetdb()


@pytest.fixture(scope="module")
def run_dag(airflow_db, moto_endpoint):
    """Parse dags/ with the test configuration, then run fruit_features once per call."""
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(ROOT / "dags")).dags["fruit_features"]
    for task in dag.tasks:  # Airflow's default_task_retry_delay, read when the SDK was imported
        task.retry_delay = timedelta(seconds=1)

    # A run's conf sets the value of the Param objects the DAG and its tasks share (the task
    # SDK's process_params): in one process, the next run would inherit it.
    defaults = {task.task_id: copy.deepcopy(task.params) for task in dag.tasks}
    dag_defaults = copy.deepcopy(dag.params)

    def run(logical_date=TODAY, conf=None, **options):
        dag.params = copy.deepcopy(dag_defaults)
        for task in dag.tasks:
            task.params = copy.deepcopy(defaults[task.task_id])
        return dag.test(logical_date=logical_date, run_conf=conf, **options)

    return run


@pytest.fixture(scope="module")
def s3(moto_endpoint, environment):
    client = boto3.client("s3", endpoint_url=moto_endpoint, region_name=REGION)
    client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    for key in ("images/Banana/0_100.jpg", "images/Kiwi/r_1.JPG", "images/readme.txt"):
        client.put_object(Bucket=BUCKET, Key=key, Body=b"image bytes")
    put_node_env_manifest(client, BUCKET)
    return client


def clusters() -> list:
    return [
        cluster
        for regions in emr_backends.values()
        for backend in regions.values()
        for cluster in backend.clusters.values()
    ]


STEP_SECONDS = 2.5  # longer than the sensor's first poke: the deferred trigger must see it


@contextmanager
def emr_plays_steps(
    failing_step: str | None = None, writes: dict[str, Callable[[], None]] | None = None
) -> Iterator[None]:
    """Finish steps one at a time, in order; a failure cancels the steps after it. A step
    named in writes calls its function, as the job writes its outputs, before it completes."""
    stop = threading.Event()
    writes = writes or {}

    def play() -> None:
        while not stop.wait(STEP_SECONDS):
            for cluster in clusters():
                active = [step for step in cluster.steps if step.state in ("PENDING", "RUNNING")]
                if not active:
                    continue
                step = active[0]
                if step.name in writes and step.name != failing_step:
                    writes.pop(step.name)()
                step.state = "FAILED" if step.name == failing_step else "COMPLETED"
                if step.state == "FAILED":
                    for later in active[1:]:
                        later.state = "CANCELLED"

    player = threading.Thread(target=play, daemon=True)
    player.start()
    try:
        yield
    finally:
        stop.set()
        player.join()


def states(dag_run) -> dict[str, str]:
    return {ti.task_id: ti.state for ti in dag_run.get_task_instances()}


def asset_events(dag_run) -> dict[str, dict]:
    """asset name -> extra of each asset event the run recorded."""
    from airflow.models.asset import AssetEvent
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        events = session.scalars(
            select(AssetEvent).where(AssetEvent.source_run_id == dag_run.run_id)
        ).all()
        names = [event.asset.name for event in events]
        assert len(names) == len(set(names)), f"one event per asset: {names}"
        return {event.asset.name: event.extra for event in events}


@pytest.fixture(autouse=True)
def no_wait_for_step_logs():
    """Nothing here writes step logs: a failed step's explanation would wait a minute."""
    with mock.patch("fruit_pipeline.step_failures.LOG_WAIT_SECONDS", 0):
        yield


@pytest.fixture(autouse=True)
def forget_clusters():
    for regions in emr_backends.values():
        for backend in regions.values():
            backend.clusters.clear()


def test_steps_complete_run_succeeds_terminates_and_records_the_asset_events(run_dag, s3):
    """The extras come from what the jobs wrote: here, the files they write, put in place."""
    ingest_date = TODAY.to_date_string()
    summary = {"found": 3, "featurized": 2, "rejected": 1, "model": "mobilenet_v2"}
    summary |= {"model_id": "sha256:ab", "ingest_date": ingest_date}
    summary |= {"created_at": "2026-11-22T00:00"}
    manifest = {"version": "v=20261121T000000000000Z", "rows": 40, "k": 7, "variance": 0.951}
    manifest |= {"model": "mobilenet_v2", "model_id": "sha256:ab", "refit": False}
    manifest |= {"refit_reason": "the published components keep 95.30% of the variance"}
    manifest |= {"kept_variance": 0.953, "drift": -0.002, "updated_at": "2026-11-22T00:00:00"}
    written = {
        f"features/_summary/model=mobilenet_v2/ingest_date={ingest_date}.json": summary,
        "pca/model=mobilenet_v2/_LATEST": manifest,
    }

    def write(key: str) -> Callable[[], None]:
        return lambda: s3.put_object(Bucket=BUCKET, Key=key, Body=json.dumps(written[key]))

    summary_key, manifest_key = written
    with emr_plays_steps(writes={"featurize": write(summary_key), "pca": write(manifest_key)}):
        dag_run = run_dag()
    assert dag_run.state == "success", states(dag_run)
    assert set(states(dag_run).values()) == {"success"}
    (cluster,) = clusters()
    assert cluster.state == "TERMINATED"
    assert [step.name for step in cluster.steps] == ["featurize", "pca"]
    assert {step.state for step in cluster.steps} == {"COMPLETED"}
    summary_uri = f"s3://{BUCKET}/{next(iter(written))}"
    assert asset_events(dag_run) == {
        "fruit_features.features": {
            "ingest_date": ingest_date,
            "model": "mobilenet_v2",
            "model_id": "sha256:ab",
            "python_env": f"x86_64={'8' * 64}",  # put_node_env_manifest's
            "images_featurized": 2,
            "images_rejected": 1,
            "summary": summary_uri,
            "summary_created_at": "2026-11-22T00:00",
            "erasure": dict.fromkeys(("requests", "refused", *COUNTED_PLACES), 0),
        },
        "fruit_features.pca": {
            "model": "mobilenet_v2",
            "model_id": "sha256:ab",
            "version": manifest["version"],
            "version_uri": f"s3://{BUCKET}/pca/model=mobilenet_v2/{manifest['version']}/",
            "k": 7,
            "variance": 0.951,
            "rows": 40,
            "refit": False,
            "refit_reason": manifest["refit_reason"],
            "kept_variance": 0.953,
            "drift": -0.002,
            "updated_at": "2026-11-22T00:00:00",
            "fingerprint": pca_fingerprint(manifest),
        },
    }
    # The same date again: featurize takes nothing, PCA leaves its version as it was.
    written[summary_key] |= {"found": 0, "featurized": 0, "rejected": 0, "created_at": "later"}
    try:
        with emr_plays_steps(writes={"featurize": write(summary_key), "pca": write(manifest_key)}):
            rerun = run_dag(conf={"mode": "reconcile"})
    finally:
        s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": key} for key in written]})
    assert rerun.state == "success", states(rerun)
    assert states(rerun)["publish_outputs"] == "success"
    assert asset_events(rerun) == {}, "a rerun that changed nothing announces nothing"


def test_failed_featurize_fails_the_run_and_still_terminates(run_dag, s3):
    with emr_plays_steps(failing_step="featurize"):
        dag_run = run_dag()
    assert dag_run.state == "failed"
    task_states = states(dag_run)
    assert task_states["watch_spark_steps"] == "failed"
    assert task_states["terminate_emr_cluster"] == "success"
    (cluster,) = clusters()
    assert cluster.state == "TERMINATED"
    assert [step.state for step in cluster.steps] == ["FAILED", "CANCELLED"]
    assert asset_events(dag_run) == {}


def test_watch_marked_success_while_steps_run_publishes_nothing_and_says_so(run_dag, s3, caplog):
    """As the UI's "mark success" on watch_spark_steps: the teardown ends the cluster, its
    steps are cancelled, and publish_outputs checks the steps before it claims anything."""
    dag_run = run_dag(
        logical_date=TODAY.add(days=7),  # a date of its own: dag.test() reuses a date's run
        conf={"mode": "reconcile"},
        mark_success_pattern="watch_spark_steps",
    )
    task_states = states(dag_run)
    assert task_states["watch_spark_steps"] == "success"
    assert task_states["publish_outputs"] == "skipped"
    assert task_states["terminate_emr_cluster"] == "success"
    (cluster,) = clusters()
    assert cluster.state == "TERMINATED"
    # moto leaves a terminated cluster's steps as they were; the local AWS cancels them.
    assert "COMPLETED" not in {step.state for step in cluster.steps}
    assert asset_events(dag_run) == {}
    assert "the steps did not all complete (featurize (" in caplog.text
    assert "the next run takes the images no step featurized" in caplog.text


def step_arguments(cluster, name: str) -> dict[str, str]:
    (step,) = [step for step in cluster.steps if step.name == name]
    return dict(arg.removeprefix("--").split("=", 1) for arg in step.args if "=" in arg)


@pytest.mark.parametrize(
    "logical_date", [None, TODAY.subtract(days=10)], ids=["without a date", "for a past date"]
)
def test_a_trigger_with_or_without_a_date_runs_the_day_it_means(run_dag, s3, logical_date):
    """Without a date (the CLI without -l, the REST API, the UI's form left empty): the run
    of the last complete day when it was triggered (a midnight may pass during the test),
    which takes what landed and no run took, as every run does. For a date: that date's day,
    as its scheduled run, whatever interval Airflow inferred."""
    with emr_plays_steps():
        dag_run = run_dag(logical_date=logical_date)
    assert dag_run.state == "success", states(dag_run)
    triggered_on = pendulum.instance(dag_run.run_after).start_of("day")
    day = logical_date or triggered_on.subtract(days=1)
    (cluster,) = clusters()
    interval = f"{day.isoformat()}/{day.add(days=1).isoformat()}"
    assert {tag["Key"]: tag["Value"] for tag in cluster.tags}["data_interval"] == interval
    featurize = step_arguments(cluster, "featurize")
    assert featurize["ingest-date"] == day.to_date_string()
    assert featurize["as-of"] == day.add(days=1).isoformat()
    assert featurize["take"] == "new", "what no run took, whatever the day"


def test_nothing_landed_since_featurize_listed_skips_the_run_with_no_cluster(run_dag, s3):
    """The landing state featurize leaves once it has listed (and taken) the two images."""
    images = [
        item
        for item in s3.list_objects_v2(Bucket=BUCKET, Prefix="images/")["Contents"]
        if not item["Key"].endswith(".txt")
    ]
    newest = max(item["LastModified"] for item in images).isoformat()
    state = LandingState(None, {OUTSIDE: FolderSeen(len(images), newest)})
    key = landing_state_key("mobilenet_v2")
    s3.put_object(Bucket=BUCKET, Key=f"features/{key}", Body=state.to_json().encode())
    try:
        dag_run = run_dag()
    finally:
        s3.delete_object(Bucket=BUCKET, Key=f"features/{key}")
    assert set(states(dag_run).values()) == {"skipped"}
    assert clusters() == []
    assert asset_events(dag_run) == {}


def test_invalid_params_are_refused_before_any_aws_call(run_dag, s3):
    from airflow.sdk.definitions.param import ParamValidationError

    with (
        mock.patch.object(
            botocore.client.BaseClient, "_make_api_call", side_effect=AssertionError("AWS called")
        ) as aws_call,
        pytest.raises(ParamValidationError, match="alexnet"),
    ):
        run_dag(conf={"model": "alexnet"})
    assert aws_call.call_count == 0
    assert clusters() == []


def test_an_unknown_param_fails_the_run_before_any_aws_call(run_dag, s3):
    with mock.patch.object(
        botocore.client.BaseClient, "_make_api_call", side_effect=AssertionError("AWS called")
    ) as aws_call:
        dag_run = run_dag(conf={"K": 5})
    assert aws_call.call_count == 0
    assert dag_run.state == "failed"
    assert states(dag_run)["wait_for_new_images"] == "failed"
    assert clusters() == []


@contextmanager
def dies_after(method: str) -> Iterator[mock.Mock]:
    """The first call of EmrHook.<method> reaches AWS, then its task dies, as a worker killed
    right after AWS accepted the call would; later calls go through."""
    from airflow.providers.amazon.aws.hooks.emr import EmrHook

    original = getattr(EmrHook, method)
    calls = []

    def call_then_die(self, *args, **kwargs):
        response = original(self, *args, **kwargs)
        calls.append(response)
        if len(calls) == 1:
            raise ConnectionError(f"the worker died after {method} reached AWS")
        return response

    with mock.patch.object(EmrHook, method, call_then_die):
        yield calls


@pytest.fixture
def immediate_retries(run_dag):
    """The DAG's own retries, without their 30-second delay."""
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(ROOT / "dags")).dags["fruit_features"]
    for task in dag.tasks:
        task.retry_delay = timedelta(0)
        task.retry_exponential_backoff = False

    def run(**kwargs):
        return dag.test(logical_date=TODAY, **kwargs)

    return run


def try_numbers(dag_run) -> dict[str, int]:
    return {ti.task_id: ti.try_number for ti in dag_run.get_task_instances()}


def test_retries_reuse_the_cluster_and_add_no_step_twice(immediate_retries, s3):
    """create_emr_cluster and add_spark_steps each die once, right after their AWS call."""
    with (
        dies_after("create_job_flow") as created,
        dies_after("add_job_flow_steps") as added,
        emr_plays_steps(),
    ):
        dag_run = immediate_retries()
    assert dag_run.state == "success", states(dag_run)
    tries = try_numbers(dag_run)
    assert (tries["create_emr_cluster"], tries["add_spark_steps"]) == (2, 2)
    assert (len(created), len(added)) == (1, 1), "each retry found what its first try made"
    (cluster,) = clusters()
    assert cluster.id == created[0]["JobFlowId"]
    assert cluster.state == "TERMINATED"
    assert [step.name for step in cluster.steps] == ["featurize", "pca"]
    assert [step.id for step in cluster.steps] == added[0]
    assert {step.state for step in cluster.steps} == {"COMPLETED"}


def orphan_cluster(emr, run_id: str, interval_start: pendulum.DateTime) -> str:
    """A cluster as an interrupted run of fruit_features left it: tagged, alive, busy."""
    from fruit_pipeline.emr_requests import CLUSTER_TAG

    interval = f"{interval_start.isoformat()}/{interval_start.add(days=1).isoformat()}"
    return emr.run_job_flow(
        Name=f"fruit_features {run_id}",
        ReleaseLabel="emr-7.9.0",
        Instances={"KeepJobFlowAliveWhenNoSteps": True, "InstanceCount": 1},
        JobFlowRole="EMR_EC2_DefaultRole",
        ServiceRole="EMR_DefaultRole",
        Tags=[
            CLUSTER_TAG,
            {"Key": "dag_id", "Value": "fruit_features"},
            {"Key": "run_id", "Value": run_id},
            {"Key": "data_interval", "Value": interval},
        ],
    )["JobFlowId"]


def test_a_new_run_ends_the_clusters_of_runs_no_longer_running_first(run_dag, s3, moto_endpoint):
    """Runs that Airflow no longer has (an interrupted `dags test`, whose date was run again),
    of this interval or another: orphans, whatever their age."""
    emr = boto3.client("emr", endpoint_url=moto_endpoint, region_name=REGION)
    orphan = orphan_cluster(emr, "manual__interrupted", TODAY)
    other_day = orphan_cluster(emr, "scheduled__other_day", TODAY.subtract(days=1))
    with emr_plays_steps():
        dag_run = run_dag()
    assert dag_run.state == "success", states(dag_run)
    by_id = {cluster.id: cluster for cluster in clusters()}
    assert by_id.pop(orphan).state == "TERMINATED"
    assert by_id.pop(other_day).state == "TERMINATED"
    (own,) = by_id.values()
    assert own.state == "TERMINATED"
    assert [step.name for step in own.steps] == ["featurize", "pca"]


@contextmanager
def run_in_airflow(run_id: str, state: str) -> Iterator[Callable[[str], None]]:
    """A run of fruit_features in the metadata database, as a backfill's other run; yields a
    function that sets its state."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        session.add(
            DagRun(
                dag_id="fruit_features",
                run_id=run_id,
                run_type="backfill",
                state=state,
                logical_date=TODAY.subtract(days=1),
                run_after=TODAY,
            )
        )

    def set_state(new: str) -> None:
        with create_session() as session:
            session.query(DagRun).filter(DagRun.run_id == run_id).update({"state": new})

    try:
        yield set_state
    finally:
        with create_session() as session:
            session.query(DagRun).filter(DagRun.run_id == run_id).delete()


@contextmanager
def once_waiting(finish: Callable[[], None]) -> Iterator[threading.Event]:
    """Runs finish (the other run ending) once create_emr_cluster has decided to wait for
    another run, whenever that is on a busy machine; yields an event set once it ran."""
    from fruit_pipeline.retry_safe import RetrySafeEmrCreateJobFlowOperator as Operator

    wait_for, finished = Operator.wait_for, threading.Event()

    def waiting(self, busy):
        if not finished.is_set():
            finish()
            finished.set()
        return wait_for(self, busy)

    with mock.patch.object(Operator, "wait_for", waiting):
        yield finished


def test_a_run_waits_for_the_cluster_of_a_run_still_running(run_dag, s3, moto_endpoint, capfd):
    """A backfill runs several runs at once, whatever the DAG's max_active_runs: two would
    take the same images. The cluster of a run still running is never ended; this run waits
    (deferred) until that run is done, and ends the cluster it left."""
    emr = boto3.client("emr", endpoint_url=moto_endpoint, region_name=REGION)
    busy = orphan_cluster(emr, "backfill__busy", TODAY.subtract(days=1))
    seen_while_running = []

    def finish(set_state: Callable[[str], None]) -> None:
        seen_while_running.append(emr.describe_cluster(ClusterId=busy)["Cluster"])
        seen_while_running.append(clusters())
        set_state("failed")  # it failed, and its teardown never ran: its cluster is an orphan

    with (
        run_in_airflow("backfill__busy", "running") as set_state,
        once_waiting(lambda: finish(set_state)) as finished,
        emr_plays_steps(),
    ):
        dag_run = run_dag()
    assert finished.is_set(), "the run never waited"
    assert dag_run.state == "success", states(dag_run)
    while_running, clusters_then = seen_while_running
    assert while_running["Status"]["State"] == "WAITING", "ended while its run was running"
    assert [cluster.id for cluster in clusters_then] == [busy], "no second cluster meanwhile"
    by_id = {cluster.id: cluster for cluster in clusters()}
    assert by_id.pop(busy).state == "TERMINATED"
    (own,) = by_id.values()
    assert own.state == "TERMINATED"
    assert [step.state for step in own.steps] == ["COMPLETED", "COMPLETED"]
    task_logs = capfd.readouterr().out  # the task SDK logs an operator's lines there
    assert f"waiting for cluster {busy} of run backfill__busy (WAITING), still running" in task_logs
    assert f"terminating cluster {busy} of run backfill__busy" in task_logs
    assert "that run is no longer running" in task_logs


def test_of_two_runs_creating_at_once_the_later_cluster_ends_and_waits(
    run_dag, s3, moto_endpoint, capfd
):
    """Two runs that looked at the same moment and both found no cluster: the one whose
    cluster was created second ends it and waits its turn."""
    from airflow.providers.amazon.aws.operators.emr import EmrCreateJobFlowOperator

    emr = boto3.client("emr", endpoint_url=moto_endpoint, region_name=REGION)
    create = EmrCreateJobFlowOperator.execute
    rival = []

    def another_run_created_first(self, context):
        if not rival:
            rival.append(orphan_cluster(emr, "backfill__rival", TODAY.subtract(days=2)))
        return create(self, context)

    with (
        run_in_airflow("backfill__rival", "running") as set_state,
        once_waiting(lambda: set_state("success")) as finished,
        mock.patch.object(EmrCreateJobFlowOperator, "execute", another_run_created_first),
        emr_plays_steps(),
    ):
        dag_run = run_dag()
        assert finished.is_set(), "the run never waited"
        assert dag_run.state == "success", states(dag_run)
    by_id = {cluster.id: cluster for cluster in clusters()}
    (rival_id,) = rival
    assert by_id.pop(rival_id).state == "TERMINATED"
    backed_off, own = sorted(by_id.values(), key=lambda cluster: cluster.creation_datetime)
    assert (backed_off.state, backed_off.steps) == ("TERMINATED", [])
    assert [step.state for step in own.steps] == ["COMPLETED", "COMPLETED"]
    task_logs = capfd.readouterr().out
    assert f"cluster {rival_id} of run backfill__rival started before this run's" in task_logs


IAM_BUCKET = "fruits-iam"
STACK = "fruits"


def cluster_arn(self) -> str:
    """The resource moto's IAM enforcement checks an EMR call against: the cluster's ARN, as
    AWS does (moto itself checks every EMR call against "*"), in the request's signed region
    (moto files calls to a custom endpoint under us-east-1)."""
    cluster = (
        self._get_param("ClusterId")
        or self._get_param("JobFlowId")
        or self._get_param("ResourceId")
        or (self._get_param("JobFlowIds") or [None])[0]
    )
    if not cluster:
        return "*"
    scope = CREDENTIAL_SCOPE.search(self.headers.get("Authorization", ""))
    region = scope.group(1) if scope else self.region
    return f"arn:aws:elasticmapreduce:{region}:{self.current_account}:cluster/{cluster}"


@pytest.fixture
def stack_airflow_user(moto_endpoint, airflow_db, monkeypatch):
    """infra/'s stack deployed into this moto, and the keys of a user holding only its
    Airflow policy, in the DAG's AWS connection; a fresh metadata database, since the DAG
    parsed for the stack's bucket gives the assets other URIs than the runs before."""
    from airflow.utils.db import resetdb
    from moto.emr.responses import ElasticMapReduceResponse

    resetdb()

    clients = {
        name: boto3.client(name, endpoint_url=moto_endpoint, region_name=REGION)
        for name in ("cloudformation", "ec2", "iam", "s3")
    }
    subnet = clients["ec2"].describe_subnets()["Subnets"][0]["SubnetId"]
    parameters = {"DataBucketName": IAM_BUCKET, "SubnetId": subnet}
    clients["cloudformation"].create_stack(
        StackName=STACK,
        TemplateBody=(ROOT / "infra/fruits-pipeline.yaml").read_text(),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        Capabilities=["CAPABILITY_NAMED_IAM"],
    )
    clients["iam"].create_user(UserName="airflow")
    clients["iam"].attach_user_policy(
        UserName="airflow", PolicyArn=f"arn:aws:iam::123456789012:policy/{STACK}-airflow"
    )
    key = clients["iam"].create_access_key(UserName="airflow")["AccessKey"]
    connection = {
        "conn_type": "aws",
        "login": key["AccessKeyId"],
        "password": key["SecretAccessKey"],
        "extra": {"region_name": REGION, "endpoint_url": moto_endpoint},
    }
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps(connection))
    for name in ("DATA_BUCKET", "ARTIFACTS_URI", "LOGS_URI"):
        value = os.environ[f"FRUITS_{name}"].replace(BUCKET, IAM_BUCKET)
        monkeypatch.setenv(f"FRUITS_{name}", value)
    monkeypatch.setattr(ElasticMapReduceResponse, "_determine_resource", cluster_arn, raising=False)
    return (
        clients["s3"],
        boto3.client(
            "s3",
            endpoint_url=moto_endpoint,
            region_name=REGION,
            aws_access_key_id=key["AccessKeyId"],
            aws_secret_access_key=key["SecretAccessKey"],
        ),
    )


def test_under_iam_enforcement_the_stacks_airflow_policy_lets_a_run_succeed(stack_airflow_user):
    """Every call the tasks make (the sensor's listing, the sizing's read of _LATEST, EMR's
    create, tag, add steps, describe, list, list instance groups and terminate, the asset
    events' reads, the cost record's write) is checked by moto against the stack's Airflow
    policy: its actions and resources; moto does not evaluate conditions."""
    from airflow.dag_processing.dagbag import DagBag
    from moto.core.authorization import enable_iam_authentication

    admin_s3, airflow_s3 = stack_airflow_user
    ingest_date = TODAY.to_date_string()
    for key, body in {
        "images/Banana/0_100.jpg": b"image bytes",
        f"features/_summary/model=mobilenet_v2/ingest_date={ingest_date}.json": json.dumps(
            {"found": 1, "featurized": 1, "rejected": 0, "model": "mobilenet_v2"}
            | {"model_id": "sha256:ab", "ingest_date": ingest_date, "created_at": "now"}
        ),
        "pca/model=mobilenet_v2/_LATEST": json.dumps(
            {"version": "v=1", "rows": 1, "k": 1, "variance": 1.0}
            | {"model": "mobilenet_v2", "model_id": "sha256:ab"}
        ),
    }.items():
        admin_s3.put_object(Bucket=IAM_BUCKET, Key=key, Body=body)
    put_node_env_manifest(admin_s3, IAM_BUCKET)
    dag = DagBag(dag_folder=str(ROOT / "dags")).dags["fruit_features"]

    with enable_iam_authentication():
        with emr_plays_steps():
            dag_run = dag.test(logical_date=TODAY)
        assert dag_run.state == "success", states(dag_run)
        assert asset_events(dag_run)["fruit_features.features"]["images_featurized"] == 1
        for refused in (
            lambda: airflow_s3.get_object(Bucket=IAM_BUCKET, Key="images/Banana/0_100.jpg"),
            lambda: airflow_s3.put_object(Bucket=IAM_BUCKET, Key="features/x", Body=b""),
            lambda: airflow_s3.delete_object(Bucket=IAM_BUCKET, Key="images/Banana/0_100.jpg"),
        ):
            with pytest.raises(botocore.exceptions.ClientError, match="AccessDenied"):
                refused()
    (cluster,) = clusters()
    assert cluster.state == "TERMINATED"
    # Written best effort (a denial would only be a warning): its presence is the proof.
    record = admin_s3.get_object(
        Bucket=IAM_BUCKET, Key=f"costs/ingest_date={ingest_date}/{cluster.id}.json"
    )
    assert json.loads(record["Body"].read())["cluster_id"] == cluster.id
