"""Erasure through the real DAG on the local AWS, tried as a new user and an attacker would:
a folder marker, a request before anything was featurized, a photo only an older PCA
version holds, a rejected photo's key in the logs, a request rewritten during its run, and
a key in the other Unicode form. One local AWS; the days follow each other."""

from __future__ import annotations

import gzip
import json
import threading
import time
import unicodedata
from datetime import UTC, datetime

import pytest

from fruits_contract.erasure import image_digest
from fruits_contract.landing import landing_key
from localaws.airflow_runs import asset_events
from localaws.client import LAST_MODIFIED_METADATA, upload_folder
from scripts.fruits_sample import generate
from tests.e2e.conftest import BUCKET, parquet_paths
from tests.spark_jobs.photos import broken_files

pytestmark = pytest.mark.slow
DAY = datetime(2026, 11, 17, 9, tzinfo=UTC)  # the uploads: run 2026-11-18 takes them
PEACH = unicodedata.normalize("NFD", landing_key("images/", DAY, "Pêche/pêche_été.jpg"))
BROKEN = landing_key("images/", DAY, "Broken/cut-short.jpg")


def uri(key: str) -> str:
    return f"s3://{BUCKET}/{key}"


def request(stack, name: str, keys: list[str]) -> None:
    body = json.dumps({"images": keys}).encode()
    stack.s3.put_object(Bucket=BUCKET, Key=f"erasure/requests/{name}.json", Body=body)


def done(stack, name: str) -> dict:
    body = stack.s3.get_object(Bucket=BUCKET, Key=f"erasure/done/{name}.json")["Body"]
    return json.loads(body.read())


def every_log(stack) -> str:
    """What the DAG's tasks, the local AWS and every step of every cluster logged."""
    steps = "".join(
        gzip.decompress(stack.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()).decode()
        for key in stack.keys("emr-logs/")
        if key.endswith(".gz")
    )
    return stack.log.read_text() + (stack.log.parent / "localaws.log").read_text() + steps


def pca_versions(stack) -> set[str]:
    return {key.split("/")[2] for key in stack.keys("pca/model=mobilenet_v2/v=")}


def rewrite_once_erased(stack, name: str, keys: list[str], timeout: float = 300) -> None:
    """Rewrite the request as soon as the running cluster's erase step has completed: after
    the step read it, before the DAG completes it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for cluster in stack.emr.list_clusters(ClusterStates=["RUNNING", "WAITING"])["Clusters"]:
            steps = stack.emr.list_steps(ClusterId=cluster["Id"])["Steps"]
            if any(s["Name"] == "erase" and s["Status"]["State"] == "COMPLETED" for s in steps):
                request(stack, name, keys)
                return
        time.sleep(0.5)
    raise AssertionError("the erase step never completed")


@pytest.fixture(scope="module")
def fresh(stack):
    """A folder marker alone, then a request filed before any photo was featurized."""
    stack.s3.put_object(Bucket=BUCKET, Key="erasure/requests/", Body=b"")
    clusters = len(stack.emr.list_clusters()["Clusters"])
    marker_state, marker_tasks, _ = stack.run("2026-11-15")
    marker_clusters = len(stack.emr.list_clusters()["Clusters"]) - clusters
    request(stack, "early", ["images/2026-11-15/Kiwi/not-yet.jpg"])
    state, tasks, cluster = stack.run("2026-11-16")
    return {
        "marker": (marker_state, marker_tasks, marker_clusters),
        "state": state,
        "tasks": tasks,
        "cluster": cluster,
    }


@pytest.fixture(scope="module")
def history(stack, fresh, tmp_path_factory):
    """Day one's images, a broken one and a decomposed (NFD) name; then the app deletes one
    photo itself and a full rebuild publishes a PCA version without it."""
    folder = tmp_path_factory.mktemp("day-one")
    good = generate(folder, classes=2, per_class=4, seed=3)
    upload_folder(stack.s3, folder, BUCKET, "images/", DAY)
    for key, body in (
        (PEACH, (folder / good[0].relative_to(folder)).read_bytes()),
        (BROKEN, broken_files()["cut-short.jpg"][0]),
    ):
        stack.s3.put_object(
            Bucket=BUCKET, Key=key, Body=body, Metadata={LAST_MODIFIED_METADATA: DAY.isoformat()}
        )
    state, tasks, day_one = stack.run("2026-11-17")
    assert state == "success", tasks
    keys = sorted(landing_key("images/", DAY, p.relative_to(folder).as_posix()) for p in good)
    deleted_by_app = keys[0]
    for version in stack.s3.list_object_versions(Bucket=BUCKET, Prefix=deleted_by_app)["Versions"]:
        stack.s3.delete_object(Bucket=BUCKET, Key=deleted_by_app, VersionId=version["VersionId"])
    state, tasks, _ = stack.run("2026-11-17", conf={"mode": "full"})
    assert state == "success", tasks
    return {"keys": keys, "deleted_by_app": deleted_by_app, "day_one": day_one}


@pytest.fixture(scope="module")
def erasures(stack, history):
    """Requests for the photo only an older PCA version holds, the rejected photo, the NFD
    photo named in NFC, and one the app rewrites while its run goes on; then the next run."""
    old_versions = pca_versions(stack)
    request(stack, "old", [history["deleted_by_app"]])
    request(stack, "rejected", [BROKEN])
    request(stack, "composed", [unicodedata.normalize("NFC", PEACH)])
    grows = [history["keys"][1]]
    request(stack, "grows", grows)
    rewritten = [*grows, history["keys"][2]]
    rewriter = threading.Thread(target=rewrite_once_erased, args=(stack, "grows", rewritten))
    rewriter.start()
    state, tasks, cluster = stack.run("2026-11-18")
    rewriter.join()
    pending = set(stack.keys("erasure/"))
    features_after_first = parquet_paths(stack, "features/")
    next_state, next_tasks, _ = stack.run("2026-11-19")
    return {
        "old_versions": old_versions,
        "state": state,
        "tasks": tasks,
        "cluster": cluster,
        "pending": pending,
        "features_after_first": features_after_first,
        "next": (next_state, next_tasks),
        "rewritten": rewritten,
    }


def test_a_folder_marker_starts_no_cluster(fresh):
    state, tasks, clusters = fresh["marker"]
    assert set(tasks.values()) == {"skipped"}, (state, tasks)
    assert clusters == 0


def test_a_request_before_any_feature_completes_and_pca_is_skipped(stack, fresh):
    assert fresh["state"] == "success", fresh["tasks"]
    record = done(stack, "early")
    assert (record["status"], record["counts"]["not_found"]) == ("not_found", 1)
    assert record["verification"]["traces"] == {}
    run_id = {tag["Key"]: tag["Value"] for tag in fresh["cluster"]["Tags"]}["run_id"]
    pca_event = asset_events(stack.environment, run_id)["fruit_features.pca"]
    assert "no mobilenet_v2 features" in pca_event["skipped"]
    assert "erasure/requests/" in stack.keys("erasure/"), "the marker is left alone"


def test_a_photo_only_an_older_pca_version_holds_is_erased(stack, history, erasures):
    assert erasures["state"] == "success", erasures["tasks"]
    assert len(erasures["old_versions"]) >= 2, "the full rebuild kept the older version"
    gone = uri(history["deleted_by_app"])
    assert gone not in parquet_paths(stack, "pca/")
    record = done(stack, "old")
    assert record["counts"]["pca_versions_pruned"] == len(erasures["old_versions"]) - 1
    assert record["verification"]["traces"] == {}


def test_a_rejected_photo_leaves_no_key_in_any_log(stack, erasures):
    assert uri(BROKEN) not in parquet_paths(stack, "features/_rejected/")
    assert done(stack, "rejected")["counts"]["rejections"] == 1
    logs = every_log(stack)
    for key in (BROKEN, PEACH, unicodedata.normalize("NFC", PEACH)):
        assert key not in logs
        assert key.rsplit("/", 1)[-1] not in logs
    assert f"rejected image {image_digest(uri(BROKEN))}: truncated" in logs


def test_a_key_in_the_other_unicode_form_is_erased_and_counted(stack, erasures):
    record = done(stack, "composed")
    assert (record["status"], record["counts"]["images"]) == ("erased", 1)
    assert record["counts"]["feature_rows"] >= 1
    assert uri(PEACH) not in parquet_paths(stack, "features/") | parquet_paths(stack, "pca/")
    assert not stack.s3.list_object_versions(Bucket=BUCKET, Prefix=PEACH).get("Versions")


def test_a_request_rewritten_during_its_run_stays_pending_then_completes(stack, erasures):
    assert "erasure/requests/grows.json" in erasures["pending"]
    assert "erasure/done/grows.json" not in erasures["pending"]
    added = uri(erasures["rewritten"][1])
    assert added in erasures["features_after_first"], "the run erased what it had read"
    assert erasures["next"][0] == "success", erasures["next"][1]
    record = done(stack, "grows")
    assert (record["counts"]["images"], record["counts"]["feature_rows"]) == (2, 2)
    assert {uri(key) for key in erasures["rewritten"]}.isdisjoint(parquet_paths(stack, "features/"))
    assert set(stack.keys("erasure/requests/")) == {"erasure/requests/"}
