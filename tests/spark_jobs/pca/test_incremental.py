"""PCA day after day on local Spark: the fit from the stored statistics equals a full refit of
the same rows, and a new version is published only when a refit is due."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
from pyspark.ml import Pipeline
from pyspark.ml.feature import PCA, StandardScaler
from pyspark.ml.functions import array_to_vector

from fruits_contract.layout import STATS_FOLDER
from fruitspark.pca import job as pca
from fruitspark.publication import read_latest
from tests.spark_jobs.pca.test_job import (
    CLASSES,
    N_FEATURES,
    numpy_pca,
    published,
    write_features,
)

DAYS = ("2026-11-20", "2026-11-21", "2026-11-22", "2026-12-01")


def day_rows(day: str, count: int, seed: int, shift: float = 0.0) -> list:
    rng = np.random.default_rng(seed)
    basis = np.random.default_rng(0).normal(size=(4, N_FEATURES))
    rows = []
    for number in range(count):
        label = CLASSES[number % len(CLASSES)]
        vector = (rng.normal(size=4) * [4, 2, 1, 0.5] + shift) @ basis
        vector = vector + rng.normal(scale=0.1, size=N_FEATURES)
        rows.append((f"s3://b/images/{day}/{label}/{number}.jpg", label, vector.tolist()))
    return rows


def run(root, output, *arguments) -> dict:
    assert pca.main(["--input", str(root), "--output", str(output), *arguments], spark_()) == 0
    return json.loads((Path(output) / "_LATEST").read_text())


def spark_():
    from pyspark.sql import SparkSession

    return SparkSession.getActiveSession()


def published_rows(spark, output) -> dict[str, np.ndarray]:
    return {row.path: np.array(row.pca) for row in read_latest(spark, str(output)).collect()}


def full_refit(spark, rows: list, k: int):
    """Today's full refit, as the job made it before its statistics: Spark ML on the rows."""
    frame = spark.createDataFrame(rows, "path string, label string, features array<float>")
    frame = frame.select(array_to_vector("features").alias("features"))
    pipeline = Pipeline(
        stages=[
            StandardScaler(withMean=True, withStd=True, inputCol="features", outputCol="scaled"),
            PCA(k=k, inputCol="scaled", outputCol="pca"),
        ]
    ).fit(frame)
    pca_model = pipeline.stages[1]
    return pca_model.explainedVariance.toArray(), pca_model.pc.toArray()


def portable(output) -> dict[str, np.ndarray]:
    with np.load(published(output) / "_model" / "pca.npz") as arrays:
        return dict(arrays)


def test_the_fit_from_daily_statistics_equals_a_full_refit_of_the_rows_that_count(spark, tmp_path):
    root = tmp_path / "features"
    days = {day: day_rows(day, 15 + 5 * n, seed=n) for n, day in enumerate(DAYS)}
    reuploaded = [
        (path, label, (np.array(v) * 1.5).tolist()) for path, label, v in days[DAYS[0]][:4]
    ]
    days[DAYS[2]] += reuploaded  # featurized again two days later: counts with these features
    for day, rows in days.items():
        write_features(spark, str(root), rows, day=day)
    output = tmp_path / "pca"
    manifest = run(root, output, "--k", str(N_FEATURES))

    latest = {path: (path, label, v) for day in DAYS for path, label, v in days[day]}
    assert manifest["rows"] == len(latest) == sum(map(len, days.values())) - 4
    explained, components = full_refit(spark, list(latest.values()), N_FEATURES)
    fitted = portable(output)
    matrix = np.array([v for _, _, v in latest.values()], dtype=np.float32).astype(np.float64)
    np.testing.assert_allclose(fitted["explained_variance"], numpy_pca(matrix)[0], atol=1e-9)
    np.testing.assert_allclose(fitted["explained_variance"], explained, rtol=0, atol=1e-9)
    gaps = np.abs(np.diff(explained))
    for column in range(N_FEATURES):
        apart = min(
            gaps[column - 1] if column else np.inf,
            gaps[column] if column < N_FEATURES - 1 else np.inf,
        )
        if apart > 1e-6:
            sign = np.sign(fitted["components"][:, column] @ components[:, column])
            np.testing.assert_allclose(
                sign * fitted["components"][:, column], components[:, column], atol=1e-6
            )
    # The noise components' eigenvalues nearly coincide: compare the subspaces they span.
    close = [
        c
        for c in range(1, N_FEATURES)
        if gaps[c - 1] <= 1e-6 or (c < N_FEATURES - 1 and gaps[c] <= 1e-6)
    ]
    if close:
        angles = np.linalg.svd(
            fitted["components"][:, close].T @ components[:, close], compute_uv=False
        )
        assert np.arccos(np.clip(angles, -1, 1)).max() < 1e-6
    projected = published_rows(spark, output)
    for path, _, vector in reuploaded:
        expected = (np.array(vector, dtype=np.float32) - fitted["mean"]) / fitted["std"]
        np.testing.assert_allclose(projected[path], expected @ fitted["components"], atol=1e-4)


def test_a_day_that_keeps_the_model_is_appended_to_the_published_version(spark, tmp_path, caplog):
    root, output = tmp_path / "features", tmp_path / "pca"
    for n, day in enumerate(DAYS[:2]):
        write_features(spark, str(root), day_rows(day, 30, seed=n), day=day)
    first = run(root, output, "--variance", "0.9")
    assert (first["refit"], first["refit_reason"]) == (True, "first run: nothing is published yet")
    day_one_folder = published(output) / first["segments"][DAYS[0]]["folder"]
    day_one_files = {p: p.stat().st_mtime_ns for p in day_one_folder.rglob("*")}
    statistics = sorted(p.name for p in (root / STATS_FOLDER / "model=mobilenet_v2").iterdir())

    new_day = day_rows(DAYS[2], 30, seed=7)
    write_features(spark, str(root), new_day, day=DAYS[2])
    caplog.clear()
    caplog.set_level(logging.INFO, logger="pca")
    second = run(root, output, "--variance", "0.9")

    assert second["version"] == first["version"]
    assert (second["refit"], second["k"], second["created_at"]) == (
        False,
        first["k"],
        first["created_at"],
    )
    assert second["rows"] == 90
    assert sorted(second["segments"]) == list(DAYS[:3])
    assert "computed for 2026-11-22" in caplog.text  # the older days' statistics were kept
    assert {p: p.stat().st_mtime_ns for p in day_one_folder.rglob("*")} == day_one_files
    kept_statistics = sorted(p.name for p in (root / STATS_FOLDER / "model=mobilenet_v2").iterdir())
    assert set(statistics) < set(kept_statistics)
    fitted = portable(output)
    projected = published_rows(spark, output)
    assert len(projected) == 90
    for path, _, vector in new_day:
        expected = (np.array(vector, dtype=np.float32) - fitted["mean"]) / fitted["std"]
        np.testing.assert_allclose(projected[path], expected @ fitted["components"], atol=1e-4)
    report = json.loads(
        (published(output) / "_report" / "appends").glob("*.json").__next__().read_text()
    )
    assert (report["refit"], report["days_projected"], report["rows_projected"]) == (
        False,
        [DAYS[2]],
        30,
    )
    assert report["kept_variance"] == pytest.approx(first["variance"] - report["drift"])
    assert report["kept_variance"] > 0.9 - 0.005


def test_a_day_the_model_no_longer_fits_refits_and_reprojects_all_history(spark, tmp_path):
    root, output = tmp_path / "features", tmp_path / "pca"
    write_features(spark, str(root), day_rows(DAYS[0], 40, seed=1), day=DAYS[0])
    first = run(root, output, "--variance", "0.9")
    rng = np.random.default_rng(3)
    other = [
        (
            f"s3://b/images/{DAYS[1]}/Kiwi/{n}.jpg",
            "Kiwi",
            (rng.normal(size=N_FEATURES) * 5).tolist(),
        )
        for n in range(200)
    ]
    write_features(spark, str(root), other, day=DAYS[1])
    second = run(root, output, "--variance", "0.9")
    assert second["refit"]
    assert second["version"] != first["version"]
    assert (
        "k would change" in second["refit_reason"]
        or "of the variance, more than" in second["refit_reason"]
    )
    assert second["kept_variance"] < 0.9 - 0.005
    assert second["rows"] == 240
    assert len(published_rows(spark, output)) == 240


def test_a_reupload_counts_once_and_its_earlier_row_leaves_the_published_version(
    spark, tmp_path, caplog
):
    root, output = tmp_path / "features", tmp_path / "pca"
    first_day = day_rows(DAYS[0], 30, seed=1)
    write_features(spark, str(root), first_day, day=DAYS[0])
    run(root, output, "--k", "3")
    path, label, vector = first_day[0]
    write_features(
        spark, str(root), [(path, label, (np.array(vector) + 0.5).tolist())], day=DAYS[1]
    )
    caplog.clear()
    caplog.set_level(logging.INFO, logger="pca")
    manifest = run(root, output, "--k", "3")
    assert manifest["refit"] is False
    assert "computed for 2026-11-20, 2026-11-21" in caplog.text  # day one lost a row
    assert manifest["rows"] == 30
    assert manifest["segments"][DAYS[1]]["rows"] == 1
    fitted = portable(output)
    expected = ((np.array(vector, dtype=np.float32) + 0.5) - fitted["mean"]) / fitted["std"]
    np.testing.assert_allclose(
        published_rows(spark, output)[path], expected @ fitted["components"], atol=1e-4
    )


def test_a_killed_append_leaves_the_published_version_as_it_was(spark, tmp_path, monkeypatch):
    root, output = tmp_path / "features", tmp_path / "pca"
    write_features(spark, str(root), day_rows(DAYS[0], 30, seed=1), day=DAYS[0])
    run(root, output, "--k", "3")
    latest_before = (output / "_LATEST").read_bytes()
    rows_before = published_rows(spark, output)
    write_features(spark, str(root), day_rows(DAYS[1], 30, seed=2), day=DAYS[1])

    def killed(*_):
        raise KeyboardInterrupt("killed once the rows are written, before _LATEST")

    monkeypatch.setattr(pca, "publish", killed)
    with pytest.raises(KeyboardInterrupt):
        pca.main(["--input", str(root), "--output", str(output), "--k", "3"], spark)
    assert len(list(published(output).glob("rows-*"))) == 2  # the append's rows are there
    assert (output / "_LATEST").read_bytes() == latest_before
    assert published_rows(spark, output).keys() == rows_before.keys()

    monkeypatch.undo()
    manifest = run(root, output, "--k", "3")
    assert (manifest["refit"], manifest["rows"]) == (False, 60)
    assert len(list(published(output).glob("rows-*"))) == 2  # the killed run's are pruned
    assert len(published_rows(spark, output)) == 60


def test_features_written_before_the_statistics_get_theirs_once(spark, tmp_path, caplog):
    root, output = tmp_path / "features", tmp_path / "pca"
    for n, day in enumerate(DAYS):
        write_features(spark, str(root), day_rows(day, 20, seed=n), day=day)
    caplog.set_level(logging.INFO, logger="pca")
    run(root, output, "--k", "3")
    assert f"computed for {', '.join(DAYS)}" in caplog.text
    folder = root / STATS_FOLDER / "model=mobilenet_v2"
    stored = {path.name: path.stat().st_mtime_ns for path in folder.iterdir()}
    # November is a month before the latest day's: its days are merged once into its rollup.
    assert sorted(name.split(".")[0] for name in stored) == [
        *(f"day={day}" for day in DAYS),
        "month=2026-11",
        *(f"paths={day}" for day in DAYS),  # the index of each day's path hashes
    ]

    caplog.clear()
    manifest = run(root, output, "--k", "3")
    assert "computed for none: every day's were stored" in caplog.text
    assert {path.name: path.stat().st_mtime_ns for path in folder.iterdir()} == stored
    assert (manifest["refit"], manifest["rows"]) == (False, 80)


@pytest.mark.parametrize("damaged", ["day=2026-12-01", "month=2026-11", "paths=2026-11-21"])
def test_a_truncated_state_file_is_computed_again_with_a_warning(spark, tmp_path, caplog, damaged):
    """As an interrupted copy or restore leaves one: the next run heals it and fits the same."""
    root, output = tmp_path / "features", tmp_path / "pca"
    for n, day in enumerate(DAYS):
        write_features(spark, str(root), day_rows(day, 20, seed=n), day=day)
    before = run(root, output, "--k", "3")
    folder = root / STATS_FOLDER / "model=mobilenet_v2"
    (file,) = [path for path in folder.iterdir() if path.name.startswith(damaged + ".")]
    file.write_bytes(file.read_bytes()[: file.stat().st_size // 2])

    caplog.set_level(logging.INFO, logger="pca")
    after = run(root, output, "--k", "3")
    assert f"damaged {'path index' if damaged.startswith('paths') else 'statistics'}" in caplog.text
    assert file.name in caplog.text
    assert after["variance"] == pytest.approx(before["variance"], abs=1e-9)
    assert after["rows"] == before["rows"] == 80
    caplog.clear()
    run(root, output, "--k", "3")
    assert "damaged" not in caplog.text, "healed: the next run reads it whole"
