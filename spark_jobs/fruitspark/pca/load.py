"""pca's load: a version's rows, its models and its report; publication is
fruitspark.publication's."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from pyspark.ml import PipelineModel
from pyspark.ml.functions import vector_to_array
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from fruitspark.hadoop_fs import upload_files
from fruitspark.pca.extract import FeatureStats
from fruitspark.report import plot_explained_variance, plot_scatter

SCATTER_POINTS = 5000  # sampled to the driver for pca_scatter.png
SEED = 7
PORTABLE_MODEL = "pca.npz"


def project(model: PipelineModel, features: DataFrame) -> DataFrame:
    """path, label, pca: the published rows."""
    return model.transform(features).select(
        "path", "label", vector_to_array("pca", "float32").alias("pca")
    )


def build_report(
    cnn: str,
    input_uri: str,
    target_variance: float | None,
    version: str,
    stats: FeatureStats,
    explained: Sequence[float],
    warnings: list[str],
) -> dict:
    explained = [float(share) for share in explained]
    cumulative = [sum(explained[: i + 1]) for i in range(len(explained))]
    return {
        "model": cnn,
        "model_id": stats.first_model_id,
        "input": input_uri,
        "version": version,
        "rows": stats.rows,
        "classes": stats.classes,
        "feature_size": stats.feature_size,
        "k": len(explained),
        "target_variance": target_variance,
        "explained_variance": explained,
        "cumulative_variance": cumulative,
        "warnings": warnings,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def manifest(report: dict) -> dict:
    """What _LATEST says of the version it publishes."""
    return {
        "version": report["version"],
        "rows": report["rows"],
        "k": report["k"],
        "variance": report["cumulative_variance"][-1],
        "model": report["model"],
        "model_id": report["model_id"],
        "created_at": report["created_at"],
    }


def write_report(spark: SparkSession, report: dict, projected: DataFrame, uri: str) -> None:
    sample = (
        projected.orderBy(F.rand(SEED))
        .limit(SCATTER_POINTS)
        .select("label", F.col("pca")[0].alias("pc1"), F.col("pca")[1].alias("pc2"))
        .toPandas()
    )
    with tempfile.TemporaryDirectory(prefix="pca-report-") as folder:
        local = Path(folder)
        # allow_nan=False: a report that is not valid JSON fails here, not in its readers.
        (local / "report.json").write_text(json.dumps(report, indent=2, allow_nan=False))
        plot_explained_variance(report, local / "explained_variance.png")
        plot_scatter(sample, report, local / "pca_scatter.png")
        upload_files(spark, local, uri)


def write_portable_model(spark: SparkSession, arrays: dict[str, np.ndarray], uri: str) -> None:
    with tempfile.TemporaryDirectory(prefix="pca-model-") as folder:
        np.savez(Path(folder) / PORTABLE_MODEL, **arrays)
        upload_files(spark, Path(folder), uri)
