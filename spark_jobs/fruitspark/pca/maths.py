"""pca's maths: what the input allows, the scaler, the number of components, the fit, and the
arrays numpy needs to project without Spark."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
from pyspark import SparkContext
from pyspark.ml.common import _py2java
from pyspark.ml.feature import PCA, PCAModel, StandardScaler, StandardScalerModel
from pyspark.ml.linalg import DenseMatrix, DenseVector
from pyspark.sql import DataFrame

from fruitspark.pca.extract import FeatureStats

log = logging.getLogger("pca")


class PcaInputError(ValueError):
    """The input cannot give the PCA asked for; nothing is written."""


def check_input(stats: FeatureStats, cnn: str, input_uri: str, k: int | None) -> None:
    """Refuse, before any fit, what cannot give the PCA asked for."""
    if stats.rows == 0:
        raise PcaInputError(f"no {cnn} features under {input_uri}")
    if stats.unrecorded:
        raise PcaInputError(
            f"{stats.unrecorded} {cnn} feature rows under {input_uri} do not record their model "
            "file (written by an earlier featurize): rebuild them with a full featurize run"
        )
    if stats.rows < 2:
        raise PcaInputError(f"PCA needs at least 2 {cnn} images; there is {stats.rows}")
    if stats.model_ids > 1:
        raise PcaInputError(
            f"{cnn} features come from {stats.model_ids} model files "
            f"({stats.first_model_id} ... {stats.last_model_id}): PCA fits one model's "
            "features; rebuild them with a full featurize run (mode=full) with one model file"
        )
    if stats.smallest != stats.feature_size:
        raise PcaInputError(
            f"{cnn} features have sizes from {stats.smallest} to "
            f"{stats.feature_size}: they do not come from one CNN"
        )
    if k is not None and k > stats.feature_size:
        raise PcaInputError(f"--k {k} is larger than the feature size {stats.feature_size}")


def fit_scaler(features: DataFrame) -> StandardScalerModel:
    """Mean and std: Spark's StandardScaler does not center unless asked, nor does its PCA."""
    return StandardScaler(withMean=True, withStd=True, inputCol="features", outputCol="scaled").fit(
        features
    )


def choose_k(explained: Sequence[float], target: float) -> int:
    """The smallest k whose cumulative explained variance reaches target."""
    total = 0.0
    for k, share in enumerate(explained, start=1):
        total += share
        if total >= target - 1e-12:
            return k
    return len(explained)


def fit_pca(scaled: DataFrame, feature_size: int, k: int | None, variance: float | None):
    """One fit, one eigendecomposition. With a variance target every component is computed,
    k is chosen from their explained variance, and the model is cut to k components."""
    model = PCA(k=k or feature_size, inputCol="scaled", outputCol="pca").fit(scaled)
    if k is None:
        k = choose_k(model.explainedVariance.toArray(), variance)
        log.info("%d component(s) explain at least %.1f%% of the variance", k, 100 * variance)
        model = first_components(model, k)
    return model


def first_components(model: PCAModel, k: int) -> PCAModel:
    """The same fitted PCA, cut to its first k components.

    PySpark cannot build a PCAModel from values; the Scala constructor is package-private
    in Scala only, so it is reachable through the JVM gateway.
    """
    context = SparkContext._active_spark_context
    pc = model.pc.toArray()[:, :k]
    explained = model.explainedVariance.toArray()[:k]
    java_model = context._jvm.org.apache.spark.ml.feature.PCAModel(
        model.uid,
        _py2java(context, DenseMatrix(pc.shape[0], k, pc.flatten(order="F"))),
        _py2java(context, DenseVector(explained)),
    )
    java_model.setInputCol(model.getInputCol()).setOutputCol(model.getOutputCol())
    java_model.set(java_model.getParam("k"), k)
    return PCAModel(java_model)


def portable_model(scaler: StandardScalerModel, pca: PCAModel) -> dict[str, np.ndarray]:
    """What numpy needs to project new features: (x - mean) / std @ components.

    A zero std (a constant feature) is stored as 1: the scaler maps that feature to 0.
    """
    std = scaler.std.toArray()
    return {
        "mean": scaler.mean.toArray(),
        "std": np.where(std > 0, std, 1.0),
        "components": pca.pc.toArray(),
        "explained_variance": pca.explainedVariance.toArray(),
    }
