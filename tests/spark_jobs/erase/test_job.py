"""erase on local Spark and an in-process moto S3: a request's images, feature rows,
rejections and PCA rows are gone, with the counts recorded and no key logged."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from fruits_contract.erasure import APPLIED, record_key
from fruitspark.erase import job as erase
from fruitspark.erase import rows as erase_rows
from fruitspark.erase.arguments import parse_args
from fruitspark.pca import job as pca
from fruitspark.publication import read_latest
from fruitspark.schemas import REJECTED
from tests.moto_buckets import versioned_bucket
from tests.spark_jobs.pca.test_incremental import day_rows
from tests.spark_jobs.pca.test_job import numpy_pca, write_features

BUCKET = "fruits-erase"
DAY_ONE, DAY_TWO = "2026-11-20", "2026-11-21"
ERASURE = f"s3://{BUCKET}/erasure/"


def in_bucket(rows: list) -> list:
    return [(path.replace("s3://b/", f"s3://{BUCKET}/"), *rest) for path, *rest in rows]


def key_of(uri: str) -> str:
    return uri.removeprefix(f"s3://{BUCKET}/")


@pytest.fixture
def s3():
    with versioned_bucket(BUCKET) as client:
        yield client


@pytest.fixture(scope="module")
def built(spark, tmp_path_factory):
    """Day one's 12 images, day two's 6 and a re-upload of one of day one's, a rejection on
    day one; PCA published, appended to, then refitted (an older version kept). Built once,
    copied for each test."""
    root = tmp_path_factory.mktemp("erase-history")
    features, output = root / "features", root / "pca" / "model=mobilenet_v2"
    one = in_bucket(day_rows(DAY_ONE, 12, seed=1))
    two = in_bucket(day_rows(DAY_TWO, 6, seed=2))
    reuploaded = (one[1][0], one[1][1], two[0][2])
    two = [*two, reuploaded]
    rejected = f"s3://{BUCKET}/images/{DAY_ONE}/Broken/cut-short.jpg"
    write_features(spark, str(features), one, day=DAY_ONE)
    spark.createDataFrame(
        [(rejected, "Broken", "truncated: image file is truncated", "mobilenet_v2", DAY_ONE)],
        REJECTED,
    ).write.partitionBy("model", "ingest_date").parquet(str(features / "_rejected"))
    arguments = ["--input", str(features), "--output", str(output), "--variance", "0.9"]
    assert pca.main(arguments, spark) == 0
    write_features(spark, str(features), two, day=DAY_TWO)
    assert pca.main(arguments, spark) == 0
    assert pca.main([*arguments, "--mode", "full"], spark) == 0
    uploads = [(path, b"jpeg") for path, *_ in [*one, *two[:-1]]]
    uploads += [(reuploaded[0], b"jpeg again"), (rejected, b"cut")]
    return {
        "root": root,
        "uploads": uploads,
        "rows": {path: vector for path, _, vector in [*one[2:], *two[:-1]]},
        "erased": [one[0][0], reuploaded[0], rejected],  # day one only, re-uploaded, rejected
    }


@pytest.fixture
def history(built, s3, tmp_path):
    """A copy of the built history, and its images in a versioned bucket."""
    shutil.copytree(built["root"], tmp_path, dirs_exist_ok=True)
    for uri, body in built["uploads"]:
        s3.put_object(Bucket=BUCKET, Key=key_of(uri), Body=body)
    features, output = tmp_path / "features", tmp_path / "pca" / "model=mobilenet_v2"
    return {
        "features": features,
        "output": output,
        "arguments": ["--input", str(features), "--output", str(output), "--variance", "0.9"],
        "rows": built["rows"],
        "erased": built["erased"],
    }


def request(s3, name: str, body) -> None:
    text = body if isinstance(body, str) else json.dumps(body)
    s3.put_object(Bucket=BUCKET, Key=f"erasure/requests/{name}.json", Body=text.encode())


def erase_args(history) -> list[str]:
    return [
        f"--requests={ERASURE}",
        f"--images=s3://{BUCKET}/images/",
        f"--features={history['features']}",
        f"--pca={history['output'].parent}",
        "--run-id=manual__2026-11-22",
    ]


def applied(s3, name: str) -> dict:
    body = s3.get_object(Bucket=BUCKET, Key=record_key("erasure/", APPLIED, name))["Body"]
    return json.loads(body.read())


def every_path(spark, root: Path) -> set[str]:
    """The path column of every Parquet file of rows under root, whatever the manifests
    say: not the fitted models' own (_model/)."""
    files = [str(file) for file in root.rglob("*.parquet") if "_model" not in file.parts]
    return {row.path for row in spark.read.parquet(*files).select("path").collect()}


EXPECTED = {
    "images": 3,
    "image_versions": 4,  # the re-uploaded image has two
    "feature_rows": 3,  # the re-uploaded image has a row on each day
    "rejections": 1,
    "pca_rows": 2,  # a re-uploaded image counts once, with its latest features
    "pca_versions_pruned": 1,
    "statistics_files": 4,  # the two days' path indexes and statistics, rebuilt by PCA
    "not_found": 0,
}
VERIFIED = {"traces": {}}


def test_a_request_erases_every_trace_and_records_its_counts(spark, s3, history, caplog):
    caplog.set_level(logging.INFO, logger="erase")
    request(s3, "withdrawn", {"images": [key_of(uri) for uri in history["erased"]]})
    records = erase.run(spark, parse_args(erase_args(history)), s3)

    assert records["withdrawn"]["counts"] == EXPECTED
    assert applied(s3, "withdrawn") == records["withdrawn"]
    assert records["withdrawn"]["status"] == "erased"
    assert records["withdrawn"]["complete"]
    assert records["withdrawn"]["verification"]["traces"] == {}
    assert (
        records["withdrawn"]["version_id"]
        == s3.head_object(Bucket=BUCKET, Key="erasure/requests/withdrawn.json")["VersionId"]
    )
    stats = history["features"] / "_stats" / "model=mobilenet_v2"
    assert not any(stats.glob("day=*")), "the statistics of the rewritten days are gone"
    erased = set(history["erased"])
    assert not erased & every_path(spark, history["features"])
    assert not erased & every_path(spark, history["output"])
    assert every_path(spark, history["features"]) == set(history["rows"])
    for uri in erased:
        listed = s3.list_object_versions(Bucket=BUCKET, Prefix=key_of(uri))
        assert not listed.get("Versions")
        assert not listed.get("DeleteMarkers")
    assert len(s3.list_object_versions(Bucket=BUCKET, Prefix="images/")["Versions"]) == 16
    for uri in erased:
        assert key_of(uri) not in caplog.text

    # The published version reads whole, without the rows; the next PCA run fits the rest.
    published = {row.path for row in read_latest(spark, str(history["output"])).collect()}
    assert published == set(history["rows"])
    assert pca.main([*history["arguments"], "--mode", "full"], spark) == 0
    manifest = json.loads((history["output"] / "_LATEST").read_text())
    matrix = np.array(list(history["rows"].values()))
    explained, _ = numpy_pca(matrix)
    assert manifest["rows"] == len(history["rows"])
    assert manifest["variance"] == pytest.approx(np.cumsum(explained)[manifest["k"] - 1], abs=1e-9)


def test_refused_requests_say_why_without_keys_and_stop_nothing(spark, s3, history):
    request(s3, "not-json", "{images: [")
    request(s3, "outside", {"images": ["features/model=mobilenet_v2/part-0.parquet"]})
    request(s3, "empty", {"images": []})
    request(s3, "fine", {"images": [key_of(history["erased"][0])]})
    records = erase.run(spark, parse_args(erase_args(history)), s3)

    assert {name: record["status"] for name, record in records.items()} == {
        "not-json": "refused",
        "outside": "refused",
        "empty": "refused",
        "fine": "erased",
    }
    assert "Invalid JSON" in records["not-json"]["reason"]
    assert records["outside"]["reason"] == "images: images[0] is not an object key under images/"
    assert "at least 1 item" in records["empty"]["reason"]
    assert records["fine"]["counts"]["feature_rows"] == 1
    assert history["erased"][0] not in every_path(spark, history["features"])


def test_a_run_killed_midway_is_finished_by_the_next_with_the_first_counts(
    spark, s3, history, monkeypatch
):
    request(s3, "withdrawn", {"images": [key_of(uri) for uri in history["erased"]]})
    rewrite = erase_rows.rewrite_without

    def killed_at_the_features(spark_, root, *rest):
        if not root.endswith("_rejected"):
            raise RuntimeError("killed")
        return rewrite(spark_, root, *rest)

    monkeypatch.setattr(erase_rows, "rewrite_without", killed_at_the_features)
    with pytest.raises(RuntimeError, match="killed"):
        erase.run(spark, parse_args(erase_args(history)), s3)
    monkeypatch.setattr(erase_rows, "rewrite_without", rewrite)
    assert history["erased"][0] in every_path(spark, history["features"])

    records = erase.run(spark, parse_args(erase_args(history)), s3)
    assert records["withdrawn"]["counts"] == EXPECTED
    erased = set(history["erased"])
    assert not erased & every_path(spark, history["features"])
    assert not erased & every_path(spark, history["output"])
    assert not s3.list_object_versions(Bucket=BUCKET, Prefix=key_of(history["erased"][0])).get(
        "Versions"
    )


def test_no_request_changes_nothing(spark, s3, history):
    before = sorted(str(path) for path in history["features"].rglob("*"))
    assert erase.run(spark, parse_args(erase_args(history)), s3) == {}
    assert sorted(str(path) for path in history["features"].rglob("*")) == before


def test_a_path_only_an_older_pca_version_holds_is_pruned_with_it(spark, s3, history):
    """The app deleted a photo itself, then a full rebuild dropped its features and a refit
    published a version without it: only the older version still holds it."""
    erased = history["erased"][0]
    features = history["features"]
    kept = [
        (row.path, row.label, row.features, row.ingest_date)
        for row in spark.read.parquet(str(features)).collect()
        if row.path != erased
    ]
    shutil.rmtree(features / "model=mobilenet_v2")
    for day in (DAY_ONE, DAY_TWO):
        rows = [(path, label, vector) for path, label, vector, d in kept if str(d) == day]
        write_features(spark, str(features), rows, day=day)
    assert pca.main([*history["arguments"], "--mode", "full"], spark) == 0
    assert erased not in {row.path for row in read_latest(spark, str(history["output"])).collect()}
    assert erased in every_path(spark, history["output"]), "an older version holds it"

    request(s3, "old", {"images": [key_of(erased)]})
    records = erase.run(spark, parse_args(erase_args(history)), s3)

    assert erased not in every_path(spark, history["output"])
    assert records["old"]["counts"]["pca_versions_pruned"] >= 1
    assert records["old"]["status"] == "erased"  # its image versions were still stored
    assert records["old"]["complete"]


def test_a_rewritten_request_keeps_the_counts_of_the_images_already_erased(spark, s3, history):
    first, second = history["erased"][0], history["erased"][2]
    request(s3, "grows", {"images": [key_of(first)]})
    before = erase.run(spark, parse_args(erase_args(history)), s3)["grows"]
    request(s3, "grows", {"images": [key_of(first), key_of(second)]})
    after = erase.run(spark, parse_args(erase_args(history)), s3)["grows"]

    assert after["version_id"] != before["version_id"]
    assert before["counts"]["feature_rows"] == 1
    assert (after["counts"]["feature_rows"], after["counts"]["rejections"]) == (1, 1)
    assert (after["counts"]["images"], after["counts"]["not_found"]) == (2, 0)
    assert second not in every_path(spark, history["features"])


def test_markers_other_files_and_nested_ids_are_kept_apart(spark, s3, history):
    s3.put_object(Bucket=BUCKET, Key="erasure/requests/", Body=b"")
    s3.put_object(Bucket=BUCKET, Key="erasure/requests/notes.txt", Body=b"todo")
    request(s3, "b", {"images": [key_of(history["erased"][0])]})
    request(s3, "sub/b", {"images": ["images/never/uploaded.jpg"]})
    records = erase.run(spark, parse_args(erase_args(history)), s3)

    assert set(records) == {"b", "sub/b"}
    assert records["b"]["status"] == "erased"
    assert records["sub/b"]["status"] == "not_found"
    assert records["sub/b"]["counts"]["not_found"] == 1
    assert applied(s3, "sub/b")["key"] == "erasure/requests/sub/b.json"


def test_a_key_matches_its_other_unicode_form_and_is_counted(spark, s3, history):
    import unicodedata

    stored = f"s3://{BUCKET}/images/{DAY_ONE}/Pêche/pêche_été.jpg"
    decomposed = unicodedata.normalize("NFD", stored)
    write_features(
        spark, str(history["features"]), [(decomposed, "Pêche", [1.0] * 12)], day=DAY_ONE
    )
    s3.put_object(Bucket=BUCKET, Key=key_of(decomposed), Body=b"jpeg")
    request(s3, "composed", {"images": [key_of(unicodedata.normalize("NFC", stored))]})
    record = erase.run(spark, parse_args(erase_args(history)), s3)["composed"]

    assert (record["status"], record["counts"]["images"]) == ("erased", 1)
    assert record["counts"]["feature_rows"] == 1
    assert decomposed not in every_path(spark, history["features"])
    assert not s3.list_object_versions(Bucket=BUCKET, Prefix=key_of(decomposed)).get("Versions")


def test_an_image_in_two_requests_is_one_image_of_the_run(spark, s3, history):
    from fruit_pipeline.erasure import run_totals

    key = key_of(history["erased"][0])
    request(s3, "one", {"images": [key]})
    request(s3, "two", {"images": [key, key_of(history["erased"][1])]})
    records = erase.run(spark, parse_args(erase_args(history)), s3)

    assert records["one"]["counts"]["images"] == 1
    assert records["two"]["counts"]["images"] == 2
    totals = run_totals(list(records.values()))
    assert (totals["requests"], totals["images"], totals["feature_rows"]) == (2, 2, 3)


def test_something_left_keeps_the_request_pending_and_names_the_place(
    spark, s3, history, monkeypatch
):
    monkeypatch.setattr(erase_rows, "rewrite_without", lambda *_: None)
    request(s3, "stuck", {"images": [key_of(history["erased"][0])]})
    record = erase.run(spark, parse_args(erase_args(history)), s3)["stuck"]

    assert not record["complete"]
    left = {"features": 1, "path_index": 1}  # the day's index, made again from its rows
    assert record["verification"]["traces"] == left
    assert applied(s3, "stuck")["verification"]["traces"] == left


def test_a_fresh_deployment_erases_what_there_is(spark, s3, tmp_path):
    s3.put_object(Bucket=BUCKET, Key="images/2026-11-20/Kiwi/a.jpg", Body=b"jpeg")
    request(s3, "early", {"images": ["images/2026-11-20/Kiwi/a.jpg"]})
    history = {"features": tmp_path / "features", "output": tmp_path / "pca" / "model=x"}
    record = erase.run(spark, parse_args(erase_args(history)), s3)["early"]

    assert record["complete"]
    assert (record["status"], record["counts"]["image_versions"]) == ("erased", 1)
