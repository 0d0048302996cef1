"""pca's load: a version's rows, written one folder per run and ingest date, its models, each
run's report, and the manifest that publishes them; publication is fruitspark.publication's.

    <output>/v=<fit time>/rows-<run time>/ingest_date=<day>/   the rows a run projected
                         /_model/                              PipelineModel and pca.npz
                         /_report/report.json, *.png           the fit's report and figures
                         /_report/appends/<run time>.json      each append's report

The manifest lists, for each ingest date, the one folder that holds its rows: a reader
follows it (publication.read_latest), never the version's folder listing, which also
holds the folders that later appends replaced, or that a killed run left.
"""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from pyspark.ml import PipelineModel
from pyspark.ml.functions import vector_to_array
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from fruits_contract.layout import partition
from fruitspark.hadoop_fs import delete_children, list_children, read_bytes, upload_files
from fruitspark.pca.maths import Fit, from_portable
from fruitspark.pca.moments import Moments
from fruitspark.pca.policy import Decision
from fruitspark.report import plot_explained_variance, plot_scatter

SCATTER_POINTS = 5000  # sampled to the driver for pca_scatter.png
SEED = 7
PORTABLE_MODEL = "pca.npz"
ROWS_PREFIX = "rows-"
APPENDS = "_report/appends"


def rows_folder(run_time: str) -> str:
    return ROWS_PREFIX + run_time


def write_rows(model: PipelineModel, rows: DataFrame, uri: str) -> None:
    """path, label, pca: the published rows, one folder per ingest date."""
    projected = model.transform(rows).select(
        "path", "label", vector_to_array(F.col("pca"), "float32").alias("pca"), "ingest_date"
    )
    projected.write.partitionBy("ingest_date").parquet(uri)


def segments(
    spark: SparkSession, version_uri: str, folder: str, fingerprints: dict[str, str]
) -> dict[str, dict]:
    """The manifest's entries of the ingest dates written under folder: their rows, counted
    from the Parquet footers, and the fingerprint of the features they were projected from."""
    uri = f"{version_uri}/{folder}"
    if not any(name.startswith(partition("ingest_date", "")) for name in list_children(spark, uri)):
        return {}
    counts = spark.read.parquet(uri).groupBy("ingest_date").count().collect()
    return {
        str(row.ingest_date): {
            "folder": f"{folder}/{partition('ingest_date', str(row.ingest_date))}",
            "rows": row["count"],
            "fingerprint": fingerprints[str(row.ingest_date)],
        }
        for row in counts
    }


def prune_segments(spark: SparkSession, version_uri: str, manifest: dict) -> list[str]:
    """Delete the row folders of the version that its manifest no longer names: replaced by
    a later append, or left by a killed one."""
    named = {entry["folder"] for entry in manifest["segments"].values()}
    deleted = []
    for folder in list_children(spark, version_uri):
        if not folder.startswith(ROWS_PREFIX):
            continue
        days = [
            name
            for name in list_children(spark, f"{version_uri}/{folder}")
            if name.startswith(partition("ingest_date", ""))
        ]
        doomed = [day for day in days if f"{folder}/{day}" not in named]
        if len(doomed) == len(days):
            deleted += delete_children(spark, version_uri, [folder])
        else:
            deleted += [
                f"{folder}/{day}"
                for day in delete_children(spark, f"{version_uri}/{folder}", doomed)
            ]
    return deleted


def read_fit(spark: SparkSession, version_uri: str) -> Fit:
    """The published fit, from its portable model."""
    with tempfile.TemporaryDirectory(prefix="pca-model-") as folder:
        local = Path(folder) / PORTABLE_MODEL
        local.write_bytes(read_bytes(spark, f"{version_uri}/_model/{PORTABLE_MODEL}"))
        with np.load(local) as arrays:
            return from_portable(arrays)


def build_report(
    cnn: str,
    input_uri: str,
    target_variance: float | None,
    version: str,
    moments: Moments,
    fit: Fit,
    decision: Decision,
    projected: dict[str, dict],
    warnings: list[str],
) -> dict:
    """One run's report: the fit it publishes under, and what it did."""
    explained = [float(share) for share in fit.explained]
    cumulative = [float(total) for total in np.cumsum(explained)]
    return {
        "model": cnn,
        "model_id": min(moments.model_ids),
        "input": input_uri,
        "version": version,
        "rows": moments.count,
        "classes": len(moments.labels),
        "feature_size": moments.feature_size,
        "k": len(explained),
        "target_variance": target_variance,
        "explained_variance": explained,
        "cumulative_variance": cumulative,
        "refit": decision.refit,
        "refit_reason": decision.reason,
        "kept_variance": decision.kept_variance,
        "drift": decision.drift,
        "days_projected": sorted(projected),
        "rows_projected": sum(entry["rows"] for entry in projected.values()),
        "warnings": warnings,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def manifest(report: dict, segments_: dict[str, dict], fitted_with: dict, fitted_at: str) -> dict:
    """What _LATEST says of the version it publishes, and of the run that last changed it."""
    return {
        "version": report["version"],
        "rows": sum(entry["rows"] for entry in segments_.values()),
        "k": report["k"],
        "variance": report["cumulative_variance"][-1],
        "model": report["model"],
        "model_id": report["model_id"],
        "created_at": fitted_at,
        "updated_at": report["created_at"],
        "fitted_with": fitted_with,
        "refit": report["refit"],
        "refit_reason": report["refit_reason"],
        "kept_variance": report["kept_variance"],
        "drift": report["drift"],
        "segments": dict(sorted(segments_.items())),
    }


def write_report(spark: SparkSession, report: dict, projected: DataFrame, uri: str) -> None:
    """A refit's report, with its figures."""
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


def write_append_report(spark: SparkSession, report: dict, version_uri: str, run: str) -> str:
    """An append's report, without figures: drawing them would read all history."""
    with tempfile.TemporaryDirectory(prefix="pca-report-") as folder:
        local = Path(folder) / f"{run}.json"
        local.write_text(json.dumps(report, indent=2, allow_nan=False))
        upload_files(spark, Path(folder), f"{version_uri}/{APPENDS}")
    return f"{APPENDS}/{run}.json"


def write_portable_model(spark: SparkSession, arrays: dict[str, np.ndarray], uri: str) -> None:
    with tempfile.TemporaryDirectory(prefix="pca-model-") as folder:
        np.savez(Path(folder) / PORTABLE_MODEL, **arrays)
        upload_files(spark, Path(folder), uri)
