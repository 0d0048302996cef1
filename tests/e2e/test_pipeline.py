"""The whole DAG on the local AWS: real operators, real Spark steps, real outputs."""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pytest
from airflow.providers.amazon.aws.hooks.emr import EmrHook
from airflow.providers.amazon.aws.sensors.emr import EmrJobFlowSensor, EmrStepSensor
from airflow.sdk.exceptions import AirflowException
from botocore.exceptions import WaiterError

from fruits_contract.artifacts import model_file
from fruits_contract.landing import landing_key
from localaws.airflow_runs import airflow, asset_events, json_output
from localaws.client import (
    LAST_MODIFIED_METADATA,
    latest_version,
    read_latest,
    read_parquet,
    upload_folder,
)
from scripts.fruits_sample import generate
from tests.e2e.conftest import BUCKET, parquet_paths
from tests.e2e.sns_inbox import alerts_inbox, received_alerts
from tests.spark_jobs.photos import broken_files, fruit_jpeg, write

pytestmark = pytest.mark.slow
# Daily runs: the run dated D+1 reads the images modified on day D.
DAY_ONE, DAY_TWO = datetime(2026, 11, 18, 9, tzinfo=UTC), datetime(2026, 11, 19, 15, tzinfo=UTC)
RUN_ONE, RUN_TWO, RUN_THREE = "2026-11-18", "2026-11-19", "2026-11-20"
LATE_KEY = landing_key("images/", DAY_ONE, "Banana/late.jpg")
BROKEN = {name: broken_files()[name] for name in ("cut-short.jpg", "notes-renamed.png")}
# A CNN whose ONNX file a test withdraws from the artifacts (withdrawn_model): a run asking
# for it fails at featurize, as one after an incomplete deploy would.
UNDEPLOYED_CNN = "vgg16"
# Put on the PYTHONPATH of a run's `airflow dags test`: the first create_job_flow and the
# first add_job_flow_steps reach AWS, then their task dies, as a worker killed at that moment.
DIE_ONCE_AFTER_AWS_CALL = """
from airflow.providers.amazon.aws.hooks.emr import EmrHook


def die_once_after(original):
    calls = []

    def call(*args, **kwargs):
        response = original(*args, **kwargs)
        calls.append(response)
        if len(calls) == 1:
            raise ConnectionError(f"injected: the task died after {original.__name__}")
        return response

    return call


for method in ("create_job_flow", "add_job_flow_steps"):
    setattr(EmrHook, method, die_once_after(getattr(EmrHook, method)))
"""


def features(stack):
    return read_parquet(stack.s3, BUCKET, "features/model=mobilenet_v2/")


def pca_rows(stack):
    return read_latest(stack.s3, BUCKET, "pca/model=mobilenet_v2/")


def pca_report_prefix(stack) -> str:
    return latest_version(stack.s3, BUCKET, "pca/model=mobilenet_v2/") + "_report/"


def uploaded(folder: Path, paths, moment: datetime) -> set[str]:
    """The whole s3:// URIs the jobs must record for files uploaded from folder to images/ at
    moment: in that day's folder."""
    return {
        f"s3://{BUCKET}/{landing_key('images/', moment, path.relative_to(folder).as_posix())}"
        for path in paths
    }


@pytest.fixture(scope="module")
def day_one(stack, tmp_path_factory):
    """12 Fruits-like images in 3 classes and 2 broken files, uploaded on day one."""
    folder = tmp_path_factory.mktemp("day-one")
    good = generate(folder, classes=3, per_class=4, seed=1)
    for name, (data, _) in BROKEN.items():
        write(folder / "Broken" / name, data)
    upload_folder(stack.s3, folder, BUCKET, "images/", DAY_ONE)
    state, tasks, cluster = stack.run(RUN_ONE)
    return {
        "good": uploaded(folder, good, DAY_ONE),
        "state": state,
        "tasks": tasks,
        "cluster": cluster,
    }


def upload_once_deferred(stack, run_date: str, upload, timeout: float = 120) -> None:
    """upload() as soon as the run's sensor has looked, found nothing and deferred; at the
    deadline anyway, and the log then shows the sensor never waited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not stack.has_deferred("wait_for_new_images", run_date):
        time.sleep(0.5)
    upload()


def upload_day_two(stack, folder: Path, reuploaded: str) -> None:
    """Day two's images in their day's folder, and two in day one's folder, whose run has
    succeeded, modified on day two: a late one, as an upload that straddled midnight, and a
    re-upload of one of day one's images."""
    upload_folder(stack.s3, folder, BUCKET, "images/", DAY_TWO)
    for key in (LATE_KEY, reuploaded.removeprefix(f"s3://{BUCKET}/")):
        stack.s3.put_object(
            Bucket=BUCKET,
            Key=key,
            Body=fruit_jpeg(),
            Metadata={LAST_MODIFIED_METADATA: DAY_TWO.isoformat()},
        )


@pytest.fixture(scope="module")
def day_two(stack, day_one, tmp_path_factory):
    """8 more images, a new class among them, a late one and a re-upload of one of day one's,
    uploaded on day two once `airflow dags test`'s sensor has found nothing and deferred;
    the run's create and add-steps tasks each die once right after their AWS call, and are
    retried."""
    folder = tmp_path_factory.mktemp("day-two")
    reuploaded = sorted(day_one["good"])[0]
    good = generate(folder, classes=4, per_class=2, seed=2, start=100)
    faults = tmp_path_factory.mktemp("faults")
    (faults / "sitecustomize.py").write_text(DIE_ONCE_AFTER_AWS_CALL)
    log_before = stack.log.read_text()
    uploader = threading.Thread(
        target=upload_once_deferred,
        args=(stack, RUN_TWO, lambda: upload_day_two(stack, folder, reuploaded)),
    )
    uploader.start()
    state, tasks, cluster = stack.run(
        RUN_TWO,
        PYTHONPATH=str(faults),
        AIRFLOW__CORE__DEFAULT_TASK_RETRY_DELAY="1",
        FRUITS_SENSOR_TIMEOUT_SECONDS="300",
        FRUITS_POKE_SECONDS="3",
    )
    uploader.join()
    return {
        "log": stack.log.read_text()[len(log_before) :],
        "good": uploaded(folder, good, DAY_TWO),
        "late": {f"s3://{BUCKET}/{LATE_KEY}"},
        "reuploaded": reuploaded,
        "state": state,
        "tasks": tasks,
        "cluster": cluster,
        "features_before": features(stack),
    }


def test_first_run_featurizes_every_uploaded_image(stack, day_one):
    assert day_one["state"] == "success", day_one["tasks"]
    table = features(stack)
    assert set(table["path"]) == day_one["good"]
    assert set(table["label"]) == {"Apple Braeburn", "Banana", "Cherry Rainier"}
    assert {len(vector) for vector in table["features"]} == {1280}
    assert day_one["cluster"]["Status"]["State"] == "TERMINATED"


def test_a_small_day_runs_on_a_single_node_and_records_what_it_cost(stack, day_one):
    """14 files: the primary alone does the work, and once it has ended the teardown writes
    the cluster's cost, from the cluster's own timeline."""
    cluster = day_one["cluster"]
    groups = stack.emr.list_instance_groups(ClusterId=cluster["Id"])["InstanceGroups"]
    assert [(g["InstanceGroupType"], g["RequestedInstanceCount"]) for g in groups] == [
        ("MASTER", 1)
    ]
    assert "a single m5.xlarge node" in stack.log.read_text()
    key = f"costs/ingest_date=2026-11-18/{cluster['Id']}.json"
    record = json.loads(stack.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
    ended = stack.emr.describe_cluster(ClusterId=cluster["Id"])["Cluster"]
    timeline = ended["Status"]["Timeline"]
    total = (timeline["EndDateTime"] - timeline["CreationDateTime"]).total_seconds() / 60
    assert record["cluster_id"] == cluster["Id"]
    assert record["nodes"] == [
        {"role": "MASTER", "instance_type": "m5.xlarge", "market": "ON_DEMAND", "count": 1}
    ]
    assert record["total_minutes"] == pytest.approx(total, abs=1e-3)
    startup = (timeline["ReadyDateTime"] - timeline["CreationDateTime"]).total_seconds() / 60
    assert record["startup_minutes"] == pytest.approx(startup, abs=1e-3)
    assert 0 < record["step_minutes"] < record["total_minutes"]
    hourly = 0.214 + 0.048  # m5.xlarge, on-demand with EMR's uplift
    assert record["usd"] == pytest.approx(max(total, 1) / 60 * hourly, abs=1e-5)
    assert (record["images"], record["model"]) == (14, "mobilenet_v2")
    assert record["estimate"]["core_nodes"] == 0
    assert record["python_env"] == deployed_python_env(stack)


def deployed_python_env(stack) -> str:
    """What the deploy's manifest says the x86_64 nodes unpack."""
    key = "artifacts/node-env/manifest.json"
    manifest = json.loads(stack.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
    return f"x86_64={manifest['archives']['x86_64']['sha256']}"


def test_the_nodes_ran_the_real_bootstrap_from_the_deployed_archive(stack, day_one):
    """The cluster's tag names the environment, and the bootstrap's own log (EMR's layout)
    says it unpacked and checked that archive."""
    cluster = day_one["cluster"]
    tags = {tag["Key"]: tag["Value"] for tag in cluster["Tags"]}
    assert tags["python_env"] == deployed_python_env(stack)
    key = f"emr-logs/{cluster['Id']}/node/i-localnode/bootstrap-actions/1/stdout.gz"
    stdout = gzip.decompress(stack.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
    digest = tags["python_env"].split("=", 1)[1]
    assert f"fruits bootstrap: environment {digest} ok" in stdout.decode()


def test_broken_uploads_are_rejected_with_reasons_and_the_run_succeeds(stack, day_one):
    rejected = read_parquet(stack.s3, BUCKET, "features/_rejected/model=mobilenet_v2/")
    reasons = {
        path: reason.split(":")[0]
        for path, reason in zip(rejected["path"], rejected["reason"], strict=True)
    }
    assert reasons == {
        f"s3://{BUCKET}/{landing_key('images/', DAY_ONE, f'Broken/{name}')}": code
        for name, (_, code) in BROKEN.items()
    }
    assert day_one["state"] == "success"


def test_first_run_writes_the_pca_report_and_step_logs(stack, day_one):
    report_prefix = pca_report_prefix(stack)
    report_body = stack.s3.get_object(Bucket=BUCKET, Key=f"{report_prefix}report.json")["Body"]
    report = json.loads(report_body.read())
    assert (report["rows"], report["classes"]) == (12, 3)
    assert report["cumulative_variance"][-1] >= 0.95
    report_files = stack.keys(report_prefix)
    assert {key.rsplit("/", 1)[-1] for key in report_files} >= {
        "explained_variance.png",
        "pca_scatter.png",
    }
    cluster_id = day_one["cluster"]["Id"]
    logs = {
        key: gzip.decompress(stack.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()).decode()
        for key in stack.keys(f"emr-logs/{cluster_id}/steps/")
    }
    names = sorted(key.rsplit("/", 1)[-1] for key in logs)
    assert names == ["stderr.gz", "stderr.gz", "stdout.gz", "stdout.gz"], "EMR's step-log layout"
    # spark-submit merges the Python driver's stderr, where the jobs log, into stdout.
    stdout = [text for key, text in logs.items() if key.endswith("/stdout.gz")]
    assert any("featurized 12, rejected 2 of 14 image(s)" in text for text in stdout)
    version = report_prefix.split("/")[-3]
    assert any(f"published {version}: k={report['k']} components" in text for text in stdout)


def test_a_successful_run_records_asset_events_with_its_real_counts(stack, day_one):
    run_id = {tag["Key"]: tag["Value"] for tag in day_one["cluster"]["Tags"]}["run_id"]
    events = asset_events(stack.environment, run_id)
    manifest_key = "pca/model=mobilenet_v2/_LATEST"
    manifest = json.loads(stack.s3.get_object(Bucket=BUCKET, Key=manifest_key)["Body"].read())
    assert set(events) == {"fruit_features.features", "fruit_features.pca"}
    features_event, pca_event = events["fruit_features.features"], events["fruit_features.pca"]
    assert features_event["ingest_date"] == "2026-11-18"
    assert features_event["python_env"] == deployed_python_env(stack)
    assert (features_event["images_featurized"], features_event["images_rejected"]) == (12, 2)
    assert pca_event["version"] == manifest["version"]
    assert (pca_event["k"], pca_event["rows"]) == (manifest["k"], 12)
    assert pca_event["variance"] >= 0.95
    assert (
        pca_event["version_uri"] == f"s3://{BUCKET}/pca/model=mobilenet_v2/{manifest['version']}/"
    )


def test_a_day_without_images_waits_deferred_then_is_skipped_with_no_asset_event(stack, day_one):
    """`airflow dags test` for a date with no upload: the sensor looks, defers, resumes and
    looks again until its timeout, then skips the run."""
    log_before = stack.log.read_text()
    # Six pokes' time: a loaded machine has taken over 5 s from the first look to the second.
    state, tasks, _ = stack.run(
        "2026-11-09", FRUITS_SENSOR_TIMEOUT_SECONDS="12", FRUITS_POKE_SECONDS="2"
    )
    assert set(tasks.values()) == {"skipped"}, (state, tasks)
    log = stack.log.read_text()[len(log_before) :]
    assert log.count("no new image yet") >= 2, "deferred, resumed and deferred again"
    assert "after waiting 12s" in log
    assert "TypeError" not in log
    runs = json_output(
        airflow(
            stack.environment, "dags", "list-runs", "fruit_features", "-o", "json", log=stack.log
        )
    )
    (skipped,) = [run for run in runs if run["logical_date"].startswith("2026-11-09")]
    assert asset_events(stack.environment, skipped["run_id"]) == {}


def test_second_day_featurizes_only_new_images_and_pca_covers_all(stack, day_one, day_two):
    assert day_two["state"] == "success", day_two["tasks"]
    assert "no new image yet" in day_two["log"], "its images landed while the sensor waited"
    table = day_two["features_before"]
    by_date: dict[str, set[str]] = {}
    for path, ingest_date in zip(table["path"], table["ingest_date"], strict=True):
        by_date.setdefault(ingest_date, set()).add(path)
    # The late upload into day one's folder (still open) is taken; the re-upload of a key
    # already featurized is not featurized twice (fruits_contract.landing).
    assert by_date == {
        "2026-11-18": day_one["good"],
        "2026-11-19": day_two["good"] | day_two["late"],
    }
    assert set(pca_rows(stack)["path"]) == day_one["good"] | day_two["good"] | day_two["late"]


def test_retried_tasks_made_one_cluster_and_added_each_step_once(stack, day_two):
    log = day_two["log"]
    for method in ("create_job_flow", "add_job_flow_steps"):
        assert log.count(f"injected: the task died after {method}") == 1
    assert "reusing cluster" in log
    assert "already has step(s) featurize" in log
    run_id = {tag["Key"]: tag["Value"] for tag in day_two["cluster"]["Tags"]}["run_id"]
    of_the_run = [
        cluster
        for cluster in stack.emr.list_clusters()["Clusters"]
        if {"Key": "run_id", "Value": run_id}
        in stack.emr.describe_cluster(ClusterId=cluster["Id"])["Cluster"]["Tags"]
    ]
    assert [cluster["Id"] for cluster in of_the_run] == [day_two["cluster"]["Id"]]
    steps = stack.emr.list_steps(ClusterId=day_two["cluster"]["Id"])["Steps"]
    assert sorted(step["Name"] for step in steps) == ["featurize", "pca"]


REQUEST = "withdrawn-by-user-4711"


@contextlib.contextmanager
def withdrawn_model(stack, cnn: str = UNDEPLOYED_CNN):
    """The CNN's deployed ONNX file gone for the block, then put back."""
    key = f"artifacts/{model_file(cnn)}"
    aside = f"test-aside/{model_file(cnn)}"
    stack.s3.copy_object(Bucket=BUCKET, Key=aside, CopySource={"Bucket": BUCKET, "Key": key})
    stack.s3.delete_object(Bucket=BUCKET, Key=key)
    try:
        yield
    finally:
        stack.s3.copy_object(Bucket=BUCKET, Key=key, CopySource={"Bucket": BUCKET, "Key": aside})
        stack.s3.delete_object(Bucket=BUCKET, Key=aside)


def step_logs(stack, cluster: dict) -> str:
    return "".join(
        gzip.decompress(stack.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()).decode()
        for key in stack.keys(f"emr-logs/{cluster['Id']}/steps/")
    )


def pca_versions(stack) -> set[str]:
    return {key.split("/")[2] for key in stack.keys("pca/model=mobilenet_v2/v=")}


@pytest.fixture(scope="module")
def erasure(stack, day_one, day_two):
    """Day three has no new image, and two requests: one erasing an image of day one only,
    the re-uploaded one and a rejected one; one malformed. Its first run fails after the
    erase step (featurize cannot find its model), the rerun succeeds."""
    only_day_one = sorted(day_one["good"] - {day_two["reuploaded"]})[0]
    rejected = f"s3://{BUCKET}/{landing_key('images/', DAY_ONE, 'Broken/cut-short.jpg')}"
    erased = {only_day_one, day_two["reuploaded"], rejected}
    keys = [uri.removeprefix(f"s3://{BUCKET}/") for uri in sorted(erased)]
    stack.s3.put_object(
        Bucket=BUCKET,
        Key=f"erasure/requests/{REQUEST}.json",
        Body=json.dumps({"images": keys}).encode(),
    )
    stack.s3.put_object(Bucket=BUCKET, Key="erasure/requests/malformed.json", Body=b"{")
    versions_before = pca_versions(stack)
    log_before = stack.log.read_text()
    with withdrawn_model(stack):
        failed, _, failed_cluster = stack.run(RUN_THREE, conf={"model": UNDEPLOYED_CNN})
    pending = set(stack.keys("erasure/"))
    state, tasks, cluster = stack.run(RUN_THREE)
    return {
        "erased": erased,
        "keys": keys,
        "versions_before": versions_before,
        "failed": failed,
        "pending_after_failure": pending,
        "state": state,
        "tasks": tasks,
        "cluster": cluster,
        "logs": stack.log.read_text()[len(log_before) :]
        + step_logs(stack, failed_cluster)
        + step_logs(stack, cluster),
    }


def test_a_failed_run_leaves_the_requests_pending(erasure):
    assert erasure["failed"] == "failed"
    assert {
        f"erasure/requests/{REQUEST}.json",
        "erasure/requests/malformed.json",
        f"erasure/applied/{REQUEST}.json",
    } <= erasure["pending_after_failure"]
    assert not any(key.startswith("erasure/done/") for key in erasure["pending_after_failure"])


def test_a_run_without_images_applies_the_requests_and_leaves_no_trace(stack, erasure):
    assert erasure["state"] == "success", erasure["tasks"]
    steps = stack.emr.list_steps(ClusterId=erasure["cluster"]["Id"])["Steps"]
    assert sorted(step["Name"] for step in steps) == ["erase", "featurize", "pca"]
    erased = erasure["erased"]
    assert not erased & parquet_paths(stack, "features/")
    assert not erased & parquet_paths(stack, "pca/")
    for key in erasure["keys"]:
        listed = stack.s3.list_object_versions(Bucket=BUCKET, Prefix=key)
        assert not listed.get("Versions")
        assert not listed.get("DeleteMarkers")
    # Every version older than the one published at the erasure is pruned; that one was
    # rewritten without the rows (its rows are searched above), and the run's PCA may then
    # have refitted, keeping it as the older version.
    assert len(erasure["versions_before"] & pca_versions(stack)) <= 1, "older versions pruned"
    for key in erasure["keys"]:
        assert key not in erasure["logs"]


def test_the_done_records_count_every_place_and_name_no_key(stack, erasure):
    assert set(stack.keys("erasure/")) == {
        f"erasure/done/{REQUEST}.json",
        "erasure/done/malformed.json",
    }
    done = json.loads(
        stack.s3.get_object(Bucket=BUCKET, Key=f"erasure/done/{REQUEST}.json")["Body"].read()
    )
    assert done["counts"] == {
        "images": 3,
        "image_versions": 4,  # the re-uploaded image has two
        "feature_rows": 2,  # a key is featurized once, a re-upload's too
        "rejections": 1,
        "pca_rows": 2,
        "pca_versions_pruned": len(erasure["versions_before"]) - 1,
        # The path indexes and statistics of the days that held one: how many depends on
        # the rollups stored then.
        "statistics_files": done["counts"]["statistics_files"],
        "not_found": 0,
    }
    assert done["counts"]["statistics_files"] >= 2
    assert done["status"] == "erased"
    assert done["verification"]["traces"] == {}
    assert done["received_at"] < done["completed_at"]
    run_id = {tag["Key"]: tag["Value"] for tag in erasure["cluster"]["Tags"]}["run_id"]
    assert done["run_id"] == run_id
    for key in erasure["keys"]:
        assert key.rsplit("/", 1)[-1] not in json.dumps(done)
    malformed = json.loads(
        stack.s3.get_object(Bucket=BUCKET, Key="erasure/done/malformed.json")["Body"].read()
    )
    assert malformed["status"] == "refused"
    assert "Invalid JSON" in malformed["reason"]
    event = asset_events(stack.environment, run_id)["fruit_features.features"]
    assert event["erasure"] == {"requests": 2, "refused": 1, **done["counts"]}


def test_the_published_pca_reads_whole_and_its_statistics_are_the_remaining_rows(
    stack, day_one, day_two, erasure
):
    remaining = (day_one["good"] | day_two["good"] | day_two["late"]) - erasure["erased"]
    rows = pca_rows(stack)
    assert set(rows["path"]) == remaining
    assert len(rows) == len(remaining) == 19
    root = "pca/model=mobilenet_v2/"
    manifest = json.loads(stack.s3.get_object(Bucket=BUCKET, Key=f"{root}_LATEST")["Body"].read())
    assert manifest["rows"] == 19
    table = features(stack)
    matrix = np.stack(table.loc[table["path"].isin(remaining), "features"].to_numpy())
    centred = matrix - matrix.mean(axis=0)
    covariance = centred.T @ centred / (len(matrix) - 1)
    model = np.load(
        io.BytesIO(
            stack.s3.get_object(
                Bucket=BUCKET, Key=latest_version(stack.s3, BUCKET, root) + "_model/pca.npz"
            )["Body"].read()
        )
    )
    std = np.where(np.isfinite(model["std"]), model["std"], 0)
    scale = np.divide(1, std, out=np.zeros_like(std), where=std > 0)
    standardized = covariance * np.outer(scale, scale)
    if manifest["refit"]:  # a fit of the remaining rows
        eigenvalues = np.clip(np.linalg.eigvalsh(standardized)[::-1], 0, None)
        share = eigenvalues[: manifest["k"]].sum() / eigenvalues.sum()
        assert manifest["variance"] == pytest.approx(share, abs=1e-6)
    else:  # the published components, on the statistics of the remaining rows
        components = model["components"]
        kept = np.einsum("ik,ij,jk->", components, standardized, components)
        assert manifest["kept_variance"] == pytest.approx(kept / np.trace(standardized), abs=1e-6)


def test_a_failed_step_fails_the_run_terminates_and_keeps_earlier_outputs(stack, day_two):
    before = stack.keys("features/") | stack.keys("pca/")
    topic, queue_url = alerts_inbox(stack.endpoint)
    # A reconcile: the interval's images were all taken, and a rerun would have nothing to do.
    with withdrawn_model(stack):
        state, tasks, cluster = stack.run(
            RUN_TWO,
            conf={"mode": "reconcile", "model": UNDEPLOYED_CNN},
            FRUITS_ALERTS_TOPIC_ARN=topic,
        )
    assert state == "failed"
    assert tasks["watch_spark_steps"] == "failed"
    assert tasks["terminate_emr_cluster"] == "success"
    assert cluster["Status"]["State"] == "TERMINATED"
    steps = stack.emr.list_steps(ClusterId=cluster["Id"])["Steps"]
    assert {step["Name"]: step["Status"]["State"] for step in steps} == {
        "featurize": "FAILED",
        "pca": "CANCELLED",
    }
    assert stack.keys("features/") | stack.keys("pca/") == before
    run_id = {tag["Key"]: tag["Value"] for tag in cluster["Tags"]}["run_id"]
    assert asset_events(stack.environment, run_id) == {}
    # The step's own error line, in the log of the task that watched it (`airflow dags test`
    # prints task logs to its output).
    explained = stack.log.read_text().rsplit("the EMR steps failed:", 1)[1]
    assert "step featurize" in explained
    assert "featurize failed: model file" in explained
    assert f"{UNDEPLOYED_CNN}.onnx" in explained
    # One alert, from the one failed task: the step's error line, not its log's tail.
    (alert,) = received_alerts(stack.endpoint, queue_url, until=bool)
    assert alert["Subject"] == "fruit_features: watch_spark_steps failed"
    message = alert["Message"]
    assert "Airflow DAG fruit_features failed." in message
    assert f"run:    {run_id}" in message
    assert "task:   watch_spark_steps" in message
    reason = message.split("reason: ", 1)[1].splitlines()[0]
    assert reason.startswith("featurize failed: model file")
    assert f"{UNDEPLOYED_CNN}.onnx" in reason
    assert f"step logs: s3://{BUCKET}/emr-logs/{cluster['Id']}/steps/" in message
    assert f"/dags/fruit_features/runs/{quote(run_id)}/tasks/watch_spark_steps" in message


def test_missing_artifacts_are_refused_before_any_cluster_starts(stack):
    """An artifacts prefix with no nodes' environment deployed: plan_cluster fails, at once,
    saying to deploy; no cluster is created. (A cluster whose bootstrap script or archive
    is missing fails at bootstrap: tests/localaws/test_node_bootstrap.py.)"""
    state, tasks, cluster = stack.run(
        RUN_TWO, conf={"mode": "reconcile"}, FRUITS_ARTIFACTS_URI=f"s3://{BUCKET}/nowhere/"
    )
    assert state == "failed"
    assert tasks["plan_cluster"] == "failed"
    assert tasks["create_emr_cluster"] == "upstream_failed"
    assert cluster == {}
    log = stack.log.read_text()
    assert f"s3://{BUCKET}/nowhere/node-env/manifest.json does not exist" in log
    assert "python -m scripts.deploy" in log


def test_the_providers_hooks_sensors_and_waiters_read_local_emr(stack, day_one, monkeypatch):
    for name, value in stack.environment.items():
        if name.startswith(("AIRFLOW_CONN_", "AWS_")):
            monkeypatch.setenv(name, value)
    cluster_id = day_one["cluster"]["Id"]
    hook = EmrHook(aws_conn_id="aws_default", region_name="eu-west-1")
    described = hook.conn.describe_cluster(ClusterId=cluster_id)["Cluster"]
    assert described["Status"]["State"] == "TERMINATED"
    hook.conn.get_waiter("cluster_terminated").wait(ClusterId=cluster_id)

    steps = hook.conn.list_steps(ClusterId=cluster_id)["Steps"]
    for step in steps:
        hook.conn.get_waiter("step_complete").wait(ClusterId=cluster_id, StepId=step["Id"])
        sensor = EmrStepSensor(task_id="peer", job_flow_id=cluster_id, step_id=step["Id"])
        assert sensor.poke({}) is True
    assert EmrJobFlowSensor(task_id="peer", job_flow_id=cluster_id).poke({}) is True

    doomed = hook.conn.run_job_flow(
        Name="peer check",
        ReleaseLabel="emr-7.9.0",
        Instances={"InstanceCount": 1, "MasterInstanceType": "m5.xlarge"},
        BootstrapActions=[
            {"Name": "missing", "ScriptBootstrapAction": {"Path": f"s3://{BUCKET}/no/script.sh"}}
        ],
        JobFlowRole="EMR_EC2_DefaultRole",
        ServiceRole="EMR_DefaultRole",
    )["JobFlowId"]
    with pytest.raises(WaiterError, match="TERMINATED_WITH_ERRORS"):
        hook.conn.get_waiter("cluster_running").wait(
            ClusterId=doomed, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
        )
    with pytest.raises(AirflowException, match="Bootstrap failure"):
        EmrJobFlowSensor(task_id="peer", job_flow_id=doomed).poke({})


def test_a_full_rebuild_then_a_rerun_of_its_interval_keep_every_image(
    stack, day_one, day_two, erasure
):
    """docs/compose.md's sequence: a `mode: full` trigger, then the scheduler's incremental
    run of the same interval, which finds nothing new. Each image stays under the day of its
    last upload; the erased ones are gone for good."""

    def by_date() -> dict[str, set[str]]:
        table = features(stack)
        assert len(table) == table["path"].nunique(), "no duplicates"
        return {
            day: set(table.loc[table["ingest_date"] == day, "path"])
            for day in table["ingest_date"].unique()
        }

    # The late image was modified on day two: a full rebuild files it there too.
    expected = {
        "2026-11-18": day_one["good"] - erasure["erased"],
        "2026-11-19": day_two["good"] | day_two["late"],
    }
    state, tasks, _ = stack.run(RUN_TWO, conf={"mode": "full"})
    assert state == "success", tasks
    assert by_date() == expected
    state, tasks, cluster = stack.run(RUN_TWO)
    assert set(tasks.values()) == {"skipped"}, "nothing landed since: no cluster"
    assert cluster == {}
    assert by_date() == expected
    rows = pca_rows(stack)
    assert set(rows["path"]) == expected["2026-11-18"] | expected["2026-11-19"]
    assert len(rows) == 19
