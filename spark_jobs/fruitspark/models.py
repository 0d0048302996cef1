"""The pretrained CNNs, without their top, and their loading once per Python process.

TensorFlow is imported lazily: the driver only needs names and feature sizes.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import numpy as np
from py4j.protocol import Py4JJavaError
from pyspark import SparkFiles
from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

RANDOM_SEED = 1234
INPUT_SHAPE = (224, 224, 3)


@dataclass(frozen=True)
class CnnSpec:
    name: str
    keras_module: str  # keras.applications.<module>
    keras_class: str
    feature_size: int


CNNS: dict[str, CnnSpec] = {
    spec.name: spec
    for spec in (
        CnnSpec("mobilenet_v2", "mobilenet_v2", "MobileNetV2", 1280),
        CnnSpec("resnet50", "resnet50", "ResNet50", 2048),
        CnnSpec("vgg16", "vgg16", "VGG16", 512),
    )
}
DEFAULT_CNN = "mobilenet_v2"


class ModelFileError(ValueError):
    """A weights file that cannot be used; the message names the file and the problem."""


def java_message(error: Py4JJavaError) -> str:
    """The Java exception's own message, without its stack trace."""
    return str(error.java_exception.getMessage() or error.java_exception.toString())


@dataclass(frozen=True)
class Weights:
    """Where a CNN's weights come from: a preset, or a Keras weights file.

    `imagenet` makes Keras download them; `random` is a seeded random initialisation (offline
    demos and tests); anything else is the path or URI of a Keras weights file.
    """

    PRESETS = ("imagenet", "random")

    source: str

    @property
    def file(self) -> str | None:
        """The weights file's path or URI; None for a preset."""
        return None if self.source in self.PRESETS else self.source

    def ship(self, spark: SparkSession, cnn: str) -> None:
        """On the driver, before any executor work: send a weights file to every executor
        with Spark's own file distribution (s3:// too), and load the driver's copy into the
        CNN, so that a missing, corrupt or wrong file fails here, in one line naming it."""
        if not self.file:
            return
        try:
            spark.sparkContext.addFile(self.file)
        except Py4JJavaError as error:
            raise ModelFileError(f"--weights {self.file}: {java_message(error)}") from None
        try:
            build_featurizer(cnn, self.shipped())
        except (OSError, ValueError) as error:
            first_line = str(error).strip().splitlines()[0]
            raise ModelFileError(
                f"--weights {self.file}: not a weights file of {cnn}: {first_line}"
            ) from None

    def shipped(self) -> Weights:
        """On an executor: the local copy of what ship() sent (addFile keeps the name)."""
        if not self.file:
            return self
        return Weights(SparkFiles.get(PurePosixPath(self.file).name))

    def __str__(self) -> str:
        return self.source


class Featurizer:
    """A CNN without its top, with global average pooling, and its own preprocess_input."""

    def __init__(self, model: Any, preprocess: Callable[[np.ndarray], np.ndarray]) -> None:
        self.model = model
        self.preprocess = preprocess

    def __call__(self, images: np.ndarray) -> np.ndarray:
        """uint8 images (N, 224, 224, 3) -> float32 features (N, feature_size)."""
        batch = self.preprocess(images.astype(np.float32))
        return np.asarray(self.model.predict_on_batch(batch), dtype=np.float32)


def build_featurizer(cnn: str, weights: Weights) -> Featurizer:
    """The CNN with its weights; a weights file must be a local path here."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import importlib

    import keras

    spec = CNNS[cnn]
    module = importlib.import_module(f"keras.applications.{spec.keras_module}")
    architecture = getattr(module, spec.keras_class)
    if weights.source == "random":
        keras.utils.set_random_seed(RANDOM_SEED)
    model = architecture(
        include_top=False,
        pooling="avg",
        input_shape=INPUT_SHAPE,
        weights="imagenet" if weights.source == "imagenet" else None,
    )
    if weights.file:
        model.load_weights(weights.file)
    return Featurizer(model, module.preprocess_input)


def limit_threads(cores: int) -> None:
    """Give TensorFlow the cores Spark gave the task: tasks x threads never exceed the cores."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(cores)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        log.warning("TensorFlow already initialised; cannot limit it to %d thread(s)", cores)


@functools.cache
def cached_featurizer(cnn: str, weights: Weights, cores: int) -> Featurizer:
    """One model per Python worker process (Spark reuses workers across tasks)."""
    limit_threads(cores)
    log.info("pid %d: loading %s (weights=%s, %d core(s))", os.getpid(), cnn, weights, cores)
    return build_featurizer(cnn, weights)
