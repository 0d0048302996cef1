"""pca's maths: what the input allows, the fit from the features' moments, how much of the
variance a published fit still keeps, and the models that project: Spark ML's, and the
arrays numpy needs without Spark."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from pyspark import SparkContext
from pyspark.ml import PipelineModel
from pyspark.ml.common import _py2java
from pyspark.ml.feature import PCAModel, StandardScalerModel
from pyspark.ml.linalg import DenseMatrix, DenseVector

from fruitspark.pca.moments import Moments

log = logging.getLogger("pca")


class PcaInputError(ValueError):
    """The input cannot give the PCA asked for; nothing is written."""


class TooFewRows(PcaInputError):
    """No rows, or one: nothing to fit. A fresh deployment, or an erasure that left a model
    almost empty, is in this state without anything being wrong (pca --skip-too-few)."""


def check_input(moments: Moments, cnn: str, input_uri: str, k: int | None) -> None:
    """Refuse, before any fit, what cannot give the PCA asked for."""
    if moments.count == 0:
        raise TooFewRows(f"no {cnn} features under {input_uri}")
    if moments.unrecorded:
        raise PcaInputError(
            f"{moments.unrecorded} {cnn} feature rows under {input_uri} do not record their "
            "model file (written by an earlier featurize): rebuild them with a full featurize run"
        )
    if moments.count < 2:
        raise TooFewRows(f"PCA needs at least 2 {cnn} images; there is {moments.count}")
    if len(moments.model_ids) > 1:
        model_ids = sorted(moments.model_ids)
        raise PcaInputError(
            f"{cnn} features come from {len(model_ids)} model files "
            f"({model_ids[0]} ... {model_ids[-1]}): PCA fits one model's "
            "features; rebuild them with a full featurize run (mode=full) with one model file"
        )
    if k is not None and k > moments.feature_size:
        raise PcaInputError(f"--k {k} is larger than the feature size {moments.feature_size}")
    if not np.any(np.diag(moments.comoment) > 0):
        raise PcaInputError(
            f"all {moments.count} {cnn} feature vectors are identical: there is no variance to keep"
        )


@dataclass(frozen=True)
class Fit:
    """A PCA of standardized features: Spark's StandardScaler (sample std) then its PCA."""

    mean: np.ndarray
    std: np.ndarray  # 0 for a constant feature, which the scaler maps to 0
    components: np.ndarray  # (n, k), one column per component
    explained: np.ndarray  # (k,) share of the variance of each kept component

    @property
    def k(self) -> int:
        return self.components.shape[1]


def choose_k(explained: Sequence[float], target: float) -> int:
    """The smallest k whose cumulative explained variance reaches target."""
    total = 0.0
    for k, share in enumerate(explained, start=1):
        total += share
        if total >= target - 1e-12:
            return k
    return len(explained)


def standardized_covariance(moments: Moments, std: np.ndarray) -> np.ndarray:
    """The covariance of the features once divided by std, a zero std mapping to 0."""
    scale = np.divide(1.0, std, out=np.zeros_like(std), where=std > 0)
    return moments.covariance * np.outer(scale, scale)


def fit(moments: Moments, k: int | None, variance: float | None) -> Fit:
    """One eigendecomposition of the n×n correlation matrix, in float64 on the driver: what
    StandardScaler then PCA compute from the rows, computed from their moments."""
    std = np.sqrt(np.clip(np.diag(moments.covariance), 0, None))
    eigenvalues, eigenvectors = np.linalg.eigh(standardized_covariance(moments, std))
    order = np.argsort(eigenvalues)[::-1]
    eigenvalues = np.clip(eigenvalues[order], 0, None)
    explained = eigenvalues / eigenvalues.sum()
    if k is None:
        if variance is None:
            raise ValueError("a fit needs k or a target share of variance")
        k = choose_k(explained, variance)
        log.info("%d component(s) explain at least %.1f%% of the variance", k, 100 * variance)
    return Fit(moments.mean, std, eigenvectors[:, order[:k]], explained[:k])


def kept_variance(moments: Moments, published: Fit) -> float:
    """The share of the features' variance that the published components keep, measured in
    the published model's standardized space: what its projection of today's rows retains."""
    covariance = standardized_covariance(moments, published.std)
    total = np.trace(covariance)
    kept = np.einsum("ik,ij,jk->", published.components, covariance, published.components)
    return float(kept / total) if total > 0 else 0.0


def spark_model(fit_: Fit) -> PipelineModel:
    """StandardScaler then PCA, as Spark ML models built from the fit's values.

    PySpark cannot build these models from values; their Scala constructors are
    package-private in Scala only, so they are reachable through the JVM gateway.
    """
    context = SparkContext._active_spark_context
    if context is None or context._jvm is None:
        raise RuntimeError("building Spark ML models needs an active SparkContext")
    jvm = context._jvm.org.apache.spark.ml.feature
    scaler = jvm.StandardScalerModel(
        "standard_scaler",
        _py2java(context, DenseVector(fit_.std)),
        _py2java(context, DenseVector(fit_.mean)),
    )
    scaler.set(scaler.getParam("withMean"), True).set(scaler.getParam("withStd"), True)
    scaler.setInputCol("features").setOutputCol("scaled")
    n, k = fit_.components.shape
    pca = jvm.PCAModel(
        "pca",
        _py2java(context, DenseMatrix(n, k, fit_.components.flatten(order="F"))),
        _py2java(context, DenseVector(fit_.explained)),
    )
    pca.setInputCol("scaled").setOutputCol("pca")
    pca.set(pca.getParam("k"), k)
    return PipelineModel(stages=[StandardScalerModel(scaler), PCAModel(pca)])


def portable_model(fit_: Fit) -> dict[str, np.ndarray]:
    """What numpy needs to project new features: (x - mean) / std @ components.

    A constant feature's std is stored as inf: (x - mean) / inf is 0, as Spark's scaler makes
    it, even for a later row where that feature varies.
    """
    return {
        "mean": fit_.mean,
        "std": np.where(fit_.std > 0, fit_.std, np.inf),
        "components": fit_.components,
        "explained_variance": fit_.explained,
    }


def from_portable(arrays) -> Fit:
    std = arrays["std"]
    return Fit(
        arrays["mean"],
        np.where(np.isfinite(std), std, 0.0),
        arrays["components"],
        arrays["explained_variance"],
    )
