"""The featurize job on local Spark: what it writes, what it rejects, and when."""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pytest

from fruitspark import models
from fruitspark.featurize import job
from fruitspark.featurize.arguments import parse_args
from scripts import keras_export
from scripts.fruits_sample import generate
from tests.spark_jobs.conftest import MAX_IMAGE_BYTES, key
from tests.spark_jobs.photos import write

DATE = "2026-11-20"


def run(spark, *args: str) -> None:
    assert job.main([*args], spark) == 0


def rows_by_key(spark, uri: str) -> dict:
    return {key(row.path): row for row in spark.read.parquet(uri).collect()}


def one_class(tree, label: str, root: Path) -> Path:
    """A copy of one class folder of the tree, under a root of its own."""
    shutil.copytree(tree.root / label, root / label)
    return root


@pytest.fixture(scope="module")
def featurized(spark, image_tree, tmp_path_factory) -> str:
    output = str(tmp_path_factory.mktemp("features"))
    run(
        spark,
        "--input",
        str(image_tree.root),
        "--output",
        output,
        "--ingest-date",
        DATE,
        "--max-image-bytes",
        str(MAX_IMAGE_BYTES),
    )
    return output


def test_every_usable_image_is_featurized_with_its_label(spark, featurized, image_tree):
    rows = rows_by_key(spark, featurized)
    assert {name: row.label for name, row in rows.items()} == image_tree.good
    assert {len(row.features) for row in rows.values()} == {1280}
    assert {row.model for row in rows.values()} == {"mobilenet_v2"}
    for row in rows.values():  # a run without a window: each image under its upload's day
        uploaded = datetime.fromtimestamp(os.stat(row.path.removeprefix("file:")).st_mtime, UTC)
        assert str(row.ingest_date) == uploaded.date().isoformat()


def test_output_schema(spark, featurized):
    table = spark.read.parquet(featurized)
    assert table.columns == ["path", "label", "model_id", "features", "model", "ingest_date"]
    assert table.schema["features"].dataType.simpleString() == "array<float>"


def test_unusable_files_are_rejected_with_reasons(spark, featurized, image_tree):
    rejected = rows_by_key(spark, f"{featurized}/_rejected")
    assert {name: row.reason.split(":")[0] for name, row in rejected.items()} == image_tree.rejected
    assert rejected["noise.png@Huge"].reason.startswith("too_large: ")
    assert all(row.label == name.split("@")[1] for name, row in rejected.items())


def test_a_model_file_gives_its_features_and_its_identity_to_every_row(
    spark, featurized, image_tree, tmp_path
):
    model_file = keras_export.export_onnx("mobilenet_v2", keras_export.Weights("random"))
    subset = str(one_class(image_tree, "Real Photos", tmp_path / "subset"))
    output = str(tmp_path / "from-model-file")
    run(spark, "--input", subset, "--output", output, "--model-file", str(model_file))
    from_file, seeded = rows_by_key(spark, output), rows_by_key(spark, featurized)
    assert len(from_file) == 5
    assert {row.model_id for row in from_file.values()} == {models.identity(str(model_file))}
    assert {row.model_id for row in seeded.values()} == {models.identity(str(model_file))}
    for name, row in from_file.items():
        # Other batch compositions round differently, by far less than this.
        scale = np.abs(seeded[name].features).max()
        np.testing.assert_allclose(row.features, seeded[name].features, atol=1e-5 * scale)


@pytest.mark.slow  # exports VGG16 (half a minute)
def test_the_model_argument_reaches_the_workers(spark, image_tree, tmp_path):
    """Each CNN's feature size is tested without Spark (test_models); here, the plumbing."""
    subset = one_class(image_tree, "Pépino doux", tmp_path / "subset")
    output = str(tmp_path / "features")
    run(spark, "--input", str(subset), "--output", output, "--model", "vgg16")
    rows = spark.read.parquet(output).collect()
    assert [(row.model, len(row.features)) for row in rows] == [("vgg16", 512)] * 2


def at(day: str) -> float:
    return datetime.fromisoformat(f"{day}T12:00:00+00:00").timestamp()


@pytest.fixture
def daily_tree(tmp_path):
    """Two classes and a broken file uploaded on the 19th, a third class on the 20th."""
    root = tmp_path / "images"
    for index, day in enumerate(["2026-11-19", "2026-11-20"]):
        for path in generate(root, classes=2 + index, per_class=2, seed=index, start=10 * index):
            if not (index == 1 and path.parent.name != "Cherry Rainier"):
                os.utime(path, (at(day), at(day)))
            else:
                path.unlink()
    broken = write(root / "Kiwi" / "broken.jpg", b"\xff\xd8 not really a jpeg")
    os.utime(broken, (at("2026-11-19"), at("2026-11-19")))
    return root


def window(day: str, next_day: str) -> list[str]:
    return [
        "--modified-after",
        f"{day}T00:00:00+00:00",
        "--modified-before",
        f"{next_day}T00:00:00+00:00",
        "--ingest-date",
        day,
    ]


def test_window_reads_only_files_modified_inside_it(spark, daily_tree, tmp_path):
    output = str(tmp_path / "features")
    run(spark, "--input", str(daily_tree), "--output", output, *window("2026-11-20", "2026-11-21"))
    rows = spark.read.parquet(output).collect()
    assert sorted(row.label for row in rows) == ["Cherry Rainier"] * 2


def test_window_start_is_inclusive_and_end_exclusive(spark, daily_tree, tmp_path):
    output = str(tmp_path / "features")
    noon = datetime.fromtimestamp(at("2026-11-19"), UTC).isoformat()
    run(
        spark,
        "--input",
        str(daily_tree),
        "--output",
        output,
        "--modified-after",
        noon,
        "--modified-before",
        "2026-11-20T12:00:00Z",
    )
    assert spark.read.parquet(output).count() == 4


def test_reruns_replace_their_date_only_and_a_full_run_rebuilds(spark, daily_tree, tmp_path):
    output = str(tmp_path / "features")
    source = ["--input", str(daily_tree), "--output", output]

    def counts_by_date() -> dict[str, int]:
        table = spark.read.parquet(output)
        assert table.count() == table.select("path").distinct().count(), "no duplicates"
        return {
            str(row.ingest_date): row["count"]
            for row in table.groupBy("ingest_date").count().collect()
        }

    run(spark, *source, *window("2026-11-19", "2026-11-20"))
    run(spark, *source, *window("2026-11-20", "2026-11-21"))
    assert counts_by_date() == {"2026-11-19": 4, "2026-11-20": 2}

    run(spark, *source, *window("2026-11-20", "2026-11-21"))
    assert counts_by_date() == {"2026-11-19": 4, "2026-11-20": 2}

    rejected_dates = {
        row.ingest_date for row in spark.read.parquet(f"{output}/_rejected").collect()
    }
    assert rejected_dates == {date(2026, 11, 19)}

    summaries = Path(output, "_summary", "model=mobilenet_v2")
    assert sorted(path.name for path in summaries.iterdir()) == [
        "ingest_date=2026-11-19.json",
        "ingest_date=2026-11-20.json",
    ]
    run(spark, *source, "--ingest-date", "2026-11-21")
    assert counts_by_date() == {"2026-11-19": 4, "2026-11-20": 2}, "each under its upload's day"
    rejected = spark.read.parquet(f"{output}/_rejected").collect()
    assert [(row.ingest_date, key(row.path)) for row in rejected] == [
        (date(2026, 11, 19), "broken.jpg@Kiwi")
    ], "a full rebuild rebuilds the rejections too"
    full_summary = summaries / "ingest_date=2026-11-21.json"
    counts = json.loads(full_summary.read_text())
    assert (counts["found"], counts["featurized"], counts["rejected"]) == (7, 6, 1)
    assert counts["window"] == "all files"

    # The scheduler's run of a day after the full rebuild: it keeps every other day's images.
    run(spark, *source, *window("2026-11-20", "2026-11-21"))
    assert counts_by_date() == {"2026-11-19": 4, "2026-11-20": 2}


def test_a_full_rebuild_drops_a_date_whose_images_were_all_uploaded_again(
    spark, daily_tree, tmp_path
):
    output = str(tmp_path / "features")
    source = ["--input", str(daily_tree), "--output", output]
    run(spark, *source, *window("2026-11-20", "2026-11-21"))
    for path in (daily_tree / "Cherry Rainier").iterdir():
        os.utime(path, (at("2026-11-19"), at("2026-11-19")))  # now uploaded on the 19th
    run(spark, *source, "--ingest-date", "2026-11-21")
    dates = {row.ingest_date for row in spark.read.parquet(output).collect()}
    assert dates == {date(2026, 11, 19)}


def test_a_rerun_without_rejections_clears_its_dates_earlier_ones(spark, daily_tree, tmp_path):
    """The broken upload of the 19th is deleted, then the 19th rerun: no rejection is left."""
    output = tmp_path / "features"
    source = [
        "--input",
        str(daily_tree),
        "--output",
        str(output),
        *window("2026-11-19", "2026-11-20"),
    ]
    run(spark, *source)
    rejected = output / "_rejected/model=mobilenet_v2/ingest_date=2026-11-19"
    assert rejected.is_dir()
    (daily_tree / "Kiwi" / "broken.jpg").unlink()
    run(spark, *source)
    assert not rejected.exists()
    assert spark.read.parquet(str(output)).count() == 4


def test_an_empty_window_writes_no_features_and_its_zero_counts(spark, daily_tree, tmp_path):
    output = tmp_path / "features"
    run(
        spark,
        "--input",
        str(daily_tree),
        "--output",
        str(output),
        *window("2030-01-01", "2030-01-02"),
        "--ingest-date",
        "2030-01-01",
    )
    (written,) = [path for path in output.rglob("*") if path.is_file()]
    assert written == output / "_summary/model=mobilenet_v2/ingest_date=2030-01-01.json"
    counts = json.loads(written.read_text())
    assert (counts["found"], counts["featurized"], counts["rejected"]) == (0, 0, 0)


def test_bad_arguments_are_refused(capsys):
    with pytest.raises(SystemExit) as exit_info:
        parse_args(["--input", "x", "--output", "y", "--modified-after", "yesterday"])
    assert exit_info.value.code == 2
    assert "not an ISO 8601 timestamp" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parse_args(["--input", "x", "--output", "y", "--model", "alexnet"])


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--chunk-size", "0", "must be at least 1, not 0"),
        ("--chunk-size", "-1", "must be at least 1, not -1"),
        ("--chunk-size", "many", "not an integer: 'many'"),
        ("--max-image-bytes", "0", "must be at least 1, not 0"),
    ],
)
def test_numeric_arguments_out_of_range_are_refused_naming_themselves(
    capsys, option, value, message
):
    with pytest.raises(SystemExit) as exit_info:
        parse_args(["--input", "x", "--output", "y", option, value])
    assert exit_info.value.code == 2
    assert f"argument {option}: {message}" in capsys.readouterr().err


def test_an_input_folder_named_like_a_glob_is_read_as_written(spark, tmp_path):
    root = tmp_path / "Fruits [2024]"
    generate(root, classes=1, per_class=2)
    (tmp_path / "Fruits 2").mkdir()  # what the pattern [2024] would have matched instead
    output = str(tmp_path / "features")
    run(spark, "--input", str(root), "--output", output)
    assert spark.read.parquet(output).count() == 2


def test_an_image_directly_under_the_input_is_rejected_as_no_label(spark, tmp_path):
    root = tmp_path / "images"
    generate(root, classes=1, per_class=2)
    write(root / "loose.jpg", (root / "Apple Braeburn" / "0_100.jpg").read_bytes())
    output = str(tmp_path / "features")
    run(spark, "--input", f"file://{root}/", "--output", output)
    assert {key(row.path) for row in spark.read.parquet(output).collect()} == {
        "0_100.jpg@Apple Braeburn",
        "1_100.jpg@Apple Braeburn",
    }
    (rejected,) = spark.read.parquet(f"{output}/_rejected").collect()
    assert (rejected.path.rsplit("/", 1)[1], rejected.label) == ("loose.jpg", None)
    assert rejected.reason.startswith("no_label: ")


def test_a_file_deleted_after_the_listing_is_rejected_as_vanished(spark, tmp_path, monkeypatch):
    root = tmp_path / "images"
    doomed, *kept = generate(root, classes=1, per_class=3)
    list_images = job.list_images

    def listed_then_deleted(*arguments):
        listed = list_images(*arguments)
        doomed.unlink()  # as a user's cleanup job might, while the day's run starts
        return listed

    monkeypatch.setattr(job, "list_images", listed_then_deleted)
    output = str(tmp_path / "features")
    run(spark, "--input", str(root), "--output", output)
    assert {key(row.path) for row in spark.read.parquet(output).collect()} == {
        f"{path.name}@{path.parent.name}" for path in kept
    }
    (rejected,) = spark.read.parquet(f"{output}/_rejected").collect()
    assert key(rejected.path) == f"{doomed.name}@{doomed.parent.name}"
    assert rejected.reason.startswith("vanished: ")


@pytest.mark.parametrize("option", ["--weights", "--model-file"])
@pytest.mark.parametrize("case", ["missing", "garbage", "another_cnn"])
def test_a_bad_model_file_fails_on_the_driver_in_one_line_naming_it(
    spark, image_tree, tmp_path, caplog, option, case
):
    """--model vgg16 with a missing file, a bad download, or MobileNetV2's file."""
    suffix = ".weights.h5" if option == "--weights" else ".onnx"
    bad_file = tmp_path / f"{case}{suffix}"
    if case == "garbage":
        bad_file.write_bytes(b"<html>403 Forbidden</html>")
    if case == "another_cnn" and option == "--weights":
        keras_export.build_keras("mobilenet_v2", keras_export.Weights("random")).save_weights(
            bad_file
        )
    if case == "another_cnn" and option == "--model-file":
        bad_file = keras_export.export_onnx("mobilenet_v2", keras_export.Weights("random"))
    output = tmp_path / "features"
    arguments = ["--input", str(image_tree.root), "--output", str(output)]
    arguments += ["--model", "vgg16", option, str(bad_file)]
    assert job.main(arguments, spark) == 1
    (error,) = [record for record in caplog.records if record.levelname == "ERROR"]
    assert str(bad_file) in error.getMessage()
    assert len(error.getMessage().splitlines()) == 1
    assert not output.exists()
