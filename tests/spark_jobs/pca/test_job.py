"""The PCA job on local Spark, checked against numpy on the same data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pyspark.ml import PipelineModel
from pyspark.ml.functions import array_to_vector, vector_to_array

from fruitspark.pca import job as pca
from fruitspark.pca.arguments import parse_args
from fruitspark.publication import read_latest
from fruitspark.schemas import FEATURES

N_FEATURES = 12
CLASSES = ("Apple", "Banana", "Cherry")


def synthetic_features(seed: int = 0, per_class: int = 20) -> tuple[list, np.ndarray]:
    """Three classes around different centres in a 4-dim subspace, plus noise.

    The last feature is constant: StandardScaler maps zero-variance features to 0.
    """
    rng = np.random.default_rng(seed)
    basis = rng.normal(size=(4, N_FEATURES))
    rows, matrix = [], []
    for label in CLASSES:
        centre = rng.normal(scale=3, size=4)
        for number in range(per_class):
            vector = (centre + rng.normal(size=4)) @ basis + rng.normal(scale=0.1, size=N_FEATURES)
            vector[-1] = 5.0
            vector = vector.astype(np.float32)
            rows.append((f"s3://b/images/{label}/{number}.jpg", label, vector.tolist()))
            matrix.append(vector)
    return rows, np.array(matrix, dtype=np.float64)


MODEL_ID = "sha256:" + "0" * 64


def write_features(
    spark, root: str, rows: list, model="mobilenet_v2", day="2026-11-20", model_id=MODEL_ID
):
    frame = spark.createDataFrame(
        [(path, label, model_id, features, model, day) for path, label, features in rows],
        FEATURES,
    )
    frame.write.mode("append").partitionBy("model", "ingest_date").parquet(root)


def numpy_pca(matrix: np.ndarray):
    """Reference: standardize (sample std, zero-variance -> 0), eigendecompose the covariance."""
    std = matrix.std(axis=0, ddof=1)
    scaled = np.where(std > 0, (matrix - matrix.mean(axis=0)) / np.where(std > 0, std, 1), 0)
    eigenvalues, eigenvectors = np.linalg.eigh(np.cov(scaled, rowvar=False))
    order = np.argsort(eigenvalues)[::-1]
    eigenvalues, eigenvectors = eigenvalues[order], eigenvectors[:, order]
    return eigenvalues / eigenvalues.sum(), scaled @ eigenvectors


def assert_same_up_to_sign(actual: np.ndarray, expected: np.ndarray) -> None:
    for column in range(expected.shape[1]):
        sign = np.sign(actual[:, column] @ expected[:, column])
        scale = np.abs(expected[:, column]).max()
        np.testing.assert_allclose(sign * actual[:, column], expected[:, column], atol=1e-4 * scale)


def published(output) -> Path:
    """The version folder that output/_LATEST names."""
    manifest = json.loads((Path(output) / "_LATEST").read_text())
    return Path(output) / manifest["version"]


def report_of(output) -> dict:
    return json.loads((published(output) / "_report" / "report.json").read_text())


def projected(spark, output: str, paths: list[str]) -> np.ndarray:
    rows = {row.path: row.pca for row in read_latest(spark, str(output)).collect()}
    assert sorted(rows) == sorted(paths)
    return np.array([rows[path] for path in paths])


@pytest.fixture(scope="module")
def features(spark, tmp_path_factory):
    root = str(tmp_path_factory.mktemp("features"))
    rows, matrix = synthetic_features()
    write_features(spark, root, rows)
    return root, rows, matrix


def test_k_components_match_numpy(spark, features, tmp_path):
    root, rows, matrix = features
    output = str(tmp_path / "pca")
    assert pca.main(["--input", root, "--output", output, "--k", "3"], spark) == 0

    explained, components = numpy_pca(matrix)
    report = report_of(output)
    assert (report["rows"], report["classes"], report["k"]) == (60, 3, 3)
    np.testing.assert_allclose(report["explained_variance"], explained[:3], rtol=1e-6)
    np.testing.assert_allclose(report["cumulative_variance"], np.cumsum(explained[:3]), rtol=1e-6)
    assert_same_up_to_sign(projected(spark, output, [row[0] for row in rows]), components[:, :3])


def test_variance_keeps_the_fewest_components_that_reach_it(spark, features, tmp_path):
    root, _, matrix = features
    explained, _ = numpy_pca(matrix)
    expected_k = int(np.searchsorted(np.cumsum(explained), 0.95) + 1)
    assert 1 < expected_k < N_FEATURES

    assert pca.main(["--input", root, "--output", str(tmp_path), "--variance", "0.95"], spark) == 0
    report = report_of(tmp_path)
    assert report["k"] == expected_k
    assert report["cumulative_variance"][-1] >= 0.95 > report["cumulative_variance"][-2]
    assert report["target_variance"] == 0.95
    np.testing.assert_allclose(report["explained_variance"], explained[:expected_k], rtol=1e-6)
    saved = PipelineModel.load(str(published(tmp_path) / "_model"))
    assert saved.stages[1].pc.numCols == expected_k
    assert {len(row.pca) for row in read_latest(spark, str(tmp_path)).collect()} == {expected_k}


def test_saved_model_projects_new_images_the_same_way(spark, features, tmp_path):
    root, _, _ = features
    assert pca.main(["--input", root, "--output", str(tmp_path), "--k", "2"], spark) == 0
    model = PipelineModel.load(str(published(tmp_path) / "_model"))
    fresh = spark.read.parquet(root).select("path", array_to_vector("features").alias("features"))
    again = {
        row.path: row.pca
        for row in model.transform(fresh)
        .select("path", vector_to_array("pca").alias("pca"))
        .collect()
    }
    for row in read_latest(spark, str(tmp_path)).collect():
        np.testing.assert_allclose(row.pca, again[row.path], rtol=1e-5)


def test_the_portable_model_projects_with_numpy_alone(spark, features, tmp_path):
    root, rows, matrix = features
    assert pca.main(["--input", root, "--output", str(tmp_path), "--variance", "0.9"], spark) == 0
    with np.load(published(tmp_path) / "_model" / "pca.npz") as portable:
        projection = (matrix - portable["mean"]) / portable["std"] @ portable["components"]
        assert portable["components"].shape == (N_FEATURES, report_of(tmp_path)["k"])
    job_output = projected(spark, tmp_path, [row[0] for row in rows])
    scale = np.abs(projection).max()
    np.testing.assert_allclose(job_output, projection, atol=1e-5 * scale)


def test_report_figures_are_written(spark, features, tmp_path):
    root, _, _ = features
    assert pca.main(["--input", root, "--output", str(tmp_path), "--k", "4"], spark) == 0
    for name in ("explained_variance.png", "pca_scatter.png"):
        with Image.open(published(tmp_path) / "_report" / name) as figure:
            assert figure.format == "PNG"
            assert figure.size == (800, 450 if name.startswith("explained") else 600)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--k", str(N_FEATURES + 1)], "larger than the feature size"),
        (["--k", "2", "--model", "resnet50"], "no resnet50 features"),
    ],
)
def test_impossible_requests_fail_and_overwrite_nothing(
    spark, features, tmp_path, caplog, arguments, message
):
    root, _, _ = features
    output = tmp_path / "pca"
    assert pca.main(["--input", root, "--output", str(output), "--k", "2"], spark) == 0
    before = {path: path.stat().st_mtime_ns for path in output.rglob("*")}

    assert pca.main(["--input", root, "--output", str(output), *arguments], spark) == 1
    assert message in caplog.text
    assert {path: path.stat().st_mtime_ns for path in output.rglob("*")} == before


def test_too_few_rows_are_skipped_when_asked_and_say_why_until_a_publication(
    spark, features, tmp_path, caplog
):
    """What a fresh deployment, or an erasure that left a model almost empty, gives the
    DAG's PCA step: no failure, nothing published, the reason in _SKIPPED."""
    root, _, _ = features
    output, nowhere = tmp_path / "pca", str(tmp_path / "no-features-yet")
    assert pca.main(["--input", nowhere, "--output", str(output), "--k", "2"], spark) == 1
    assert "pca failed: no features under" in caplog.text
    assert not output.exists()

    skip = ["--k", "2", "--skip-too-few"]
    assert pca.main(["--input", nowhere, "--output", str(output), *skip], spark) == 0
    assert "nothing was featurized yet" in json.loads((output / "_SKIPPED").read_text())["reason"]
    assert not (output / "_LATEST").exists()
    resnet = [*skip, "--model", "resnet50"]
    assert pca.main(["--input", root, "--output", str(output), *resnet], spark) == 0
    assert "no resnet50 features" in json.loads((output / "_SKIPPED").read_text())["reason"]

    assert pca.main(["--input", root, "--output", str(output), *skip], spark) == 0
    assert (output / "_LATEST").exists()
    assert not (output / "_SKIPPED").exists()


def test_an_output_inside_a_features_dataset_is_refused_before_anything_runs(
    spark, features, tmp_path, caplog
):
    root, rows, _ = features
    other_dataset = tmp_path / "features"
    write_features(spark, str(other_dataset), rows[:4])
    (other_dataset / "_rejected").mkdir()  # as featurize leaves in every features dataset
    before = sorted(other_dataset.rglob("*"))
    output = other_dataset / "model=mobilenet_v2"
    assert pca.main(["--input", root, "--output", str(output), "--k", "2"], spark) == 1
    assert f"inside the features dataset file://{other_dataset}" in caplog.text
    assert sorted(other_dataset.rglob("*")) == before


def test_an_input_folder_named_like_a_glob_is_read_as_written(spark, features, tmp_path):
    _, rows, _ = features
    root = tmp_path / "Fruits [2024]"
    write_features(spark, str(root), rows)
    (tmp_path / "Fruits 2").mkdir()  # what the pattern [2024] would have matched instead
    output = tmp_path / "pca"
    assert pca.main(["--input", str(root), "--output", str(output), "--k", "2"], spark) == 0
    assert json.loads(next(output.rglob("report.json")).read_text())["rows"] == len(rows)


def test_a_missing_input_is_a_clear_failure(spark, tmp_path, caplog):
    missing = str(tmp_path / "nowhere")
    assert pca.main(["--input", missing, "--output", str(tmp_path / "out"), "--k", "2"], spark) == 1
    assert f"pca failed: no features under {missing}: nothing was featurized yet" in caplog.text


@pytest.mark.parametrize(
    "arguments",
    [["--k", "2", "--variance", "0.9"], ["--variance", "1.5"], ["--k", "0"], []],
)
def test_bad_arguments_are_refused(arguments):
    with pytest.raises(SystemExit) as exit_info:
        parse_args(["--input", "in", "--output", "out", *arguments])
    assert exit_info.value.code == 2


def test_each_refit_publishes_a_new_version_and_keeps_the_newest(spark, features, tmp_path):
    root, rows, _ = features
    arguments = ["--input", root, "--output", str(tmp_path), "--k", "2", "--keep-versions", "2"]
    published_versions = []
    for _ in range(3):
        assert pca.main([*arguments, "--mode", "full"], spark) == 0
        published_versions.append(published(tmp_path).name)
    assert len(set(published_versions)) == 3
    assert published_versions == sorted(published_versions)
    kept = sorted(path.name for path in tmp_path.glob("v=*"))
    assert kept == published_versions[1:]
    manifest = json.loads((tmp_path / "_LATEST").read_text())
    assert manifest["version"] == published_versions[-1]
    assert (manifest["rows"], manifest["k"], manifest["model"]) == (len(rows), 2, "mobilenet_v2")
    assert 0 < manifest["variance"] <= 1
    assert manifest["refit_reason"] == "full mode: a refit was asked for"

    assert pca.main(arguments, spark) == 0  # nothing changed: the published version holds
    manifest = json.loads((tmp_path / "_LATEST").read_text())
    assert (manifest["version"], manifest["refit"]) == (published_versions[-1], False)


def no_nan(constant: str):
    raise ValueError(f"report.json holds {constant}: not valid JSON")


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([("s3://b/Kiwi/1.jpg", "Kiwi", [1.0] * N_FEATURES)], "at least 2 mobilenet_v2 images"),
        (
            [(f"s3://b/Kiwi/{n}.jpg", "Kiwi", [1.0] * N_FEATURES) for n in range(20)],
            "all 20 mobilenet_v2 feature vectors are identical",
        ),
        (
            [
                ("s3://b/Kiwi/1.jpg", "Kiwi", [1.0] * N_FEATURES),
                ("s3://b/Kiwi/2.jpg", "Kiwi", [2.0]),
            ],
            "sizes from 1 to 12: they do not come from one CNN",
        ),
    ],
    ids=["one image", "identical images", "mixed sizes"],
)
def test_inputs_pca_cannot_reduce_are_one_clear_line(spark, tmp_path, caplog, rows, message):
    root = str(tmp_path / "features")
    write_features(spark, root, rows)
    output = tmp_path / "pca"
    assert pca.main(["--input", root, "--output", str(output), "--k", "2"], spark) == 1
    (error,) = [record for record in caplog.records if record.levelname == "ERROR"]
    assert message in error.getMessage()
    assert "\n" not in error.getMessage()
    assert not output.exists()


def test_more_components_than_rows_allow_are_reported_with_a_warning(spark, tmp_path):
    root = str(tmp_path / "features")
    rows, _ = synthetic_features(per_class=2)
    write_features(spark, root, rows)
    output = tmp_path / "pca"
    assert pca.main(["--input", root, "--output", str(output), "--k", "8"], spark) == 0
    report_text = (published(output) / "_report" / "report.json").read_text()
    report = json.loads(report_text, parse_constant=no_nan)
    assert report["k"] == 8
    assert report["warnings"] == [
        "--k 8 is more than 6 rows allow: the components after the first 5 explain no variance"
    ]
    assert sum(report["explained_variance"][5:]) < 1e-6


def test_features_of_two_model_files_are_refused_and_the_report_names_the_one(
    spark, features, tmp_path, caplog
):
    _, rows, _ = features
    root = str(tmp_path / "features")
    write_features(spark, root, rows[:10], day="2026-11-19")
    write_features(spark, root, rows[10:], day="2026-11-20", model_id="sha256:" + "1" * 64)
    output = tmp_path / "pca"
    assert pca.main(["--input", root, "--output", str(output), "--k", "2"], spark) == 1
    assert "features come from 2 model files" in caplog.text
    assert not output.exists()

    rebuilt = str(tmp_path / "rebuilt")  # what a full featurize run leaves: one model file
    write_features(spark, rebuilt, rows, model_id="sha256:" + "1" * 64)
    assert pca.main(["--input", rebuilt, "--output", str(output), "--k", "2"], spark) == 0
    report = json.loads((published(output) / "_report" / "report.json").read_text())
    assert report["model_id"] == "sha256:" + "1" * 64


def test_features_written_before_featurize_recorded_model_files_are_refused(
    spark, features, tmp_path, caplog
):
    """PCA reads with the contract's schema: a file without model_id reads as nulls."""
    _, rows, _ = features
    root = str(tmp_path / "features")
    write_features(spark, root, rows[:10], day="2026-11-20")
    earlier = spark.createDataFrame(
        [(path, label, values, "mobilenet_v2", "2026-11-19") for path, label, values in rows[10:]],
        "path string, label string, features array<float>, model string, ingest_date string",
    )
    earlier.write.mode("append").partitionBy("model", "ingest_date").parquet(root)
    output = tmp_path / "pca"
    assert pca.main(["--input", root, "--output", str(output), "--k", "2"], spark) == 1
    assert f"{len(rows) - 10} mobilenet_v2 feature rows under {root} do not record" in caplog.text
    assert not output.exists()
