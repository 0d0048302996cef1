"""The CNNs, as ONNX model files run by ONNX Runtime: what the EMR steps need, and no more.

Keras builds the CNNs and tf2onnx exports them (scripts.keras_export, never on the cluster).
A model file takes uint8 RGB images (N, 224, 224, 3), any N, and returns the features
(N, feature_size): the CNN's own preprocess_input is inside the graph (fruits_contract.cnns).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import PurePosixPath

import numpy as np
import onnxruntime
from py4j.protocol import Py4JJavaError
from pyspark import SparkFiles
from pyspark.sql import SparkSession

from fruits_contract.cnns import CNNS, MODEL_INPUT

log = logging.getLogger(__name__)


class ModelFileError(ValueError):
    """A model or weights file that cannot be used; the message names the file."""


def java_message(error: Py4JJavaError) -> str:
    """The Java exception's own message, without its stack trace."""
    return str(error.java_exception.getMessage() or error.java_exception.toString())


def identity(path: str) -> str:
    """A model file's identity: the SHA-256 of its bytes, recorded with every feature row."""
    digest = hashlib.sha256()
    with open(path, "rb") as model_file:
        for block in iter(lambda: model_file.read(1 << 20), b""):
            digest.update(block)
    return f"sha256:{digest.hexdigest()}"


class OnnxFeaturizer:
    """One ONNX Runtime session on a model file, with the cores Spark gave the task."""

    def __init__(self, path: str, cores: int) -> None:
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = cores  # tasks x threads never exceed the cores
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(
            path, options, providers=["CPUExecutionProvider"]
        )
        self.feature_size = self.session.get_outputs()[0].shape[-1]

    def __call__(self, images: np.ndarray) -> np.ndarray:
        """uint8 images (N, 224, 224, 3) -> float32 features (N, feature_size)."""
        return self.session.run(None, {MODEL_INPUT: images})[0]


@functools.cache
def cached_featurizer(path: str, cores: int) -> OnnxFeaturizer:
    """One session per Python worker process (Spark reuses workers across tasks)."""
    log.info("pid %d: loading %s (%d core(s))", os.getpid(), path, cores)
    return OnnxFeaturizer(path, cores)


@dataclass(frozen=True)
class ModelFile:
    """The ONNX file of a CNN: a path or URI (s3:// too) on the driver, a local copy on each
    executor."""

    uri: str

    def ship(self, spark: SparkSession, cnn: str) -> str:
        """On the driver, before any executor work: send the file to every executor with
        Spark's own file distribution, and open the driver's copy, so that a missing, corrupt
        or wrong file fails here, in one line naming it. Returns the model's identity."""
        try:
            spark.sparkContext.addFile(self.uri)
        except Py4JJavaError as error:
            raise ModelFileError(f"model file {self.uri}: {java_message(error)}") from None
        local = self.shipped()
        try:
            size = OnnxFeaturizer(local, 1).feature_size
        except Exception as error:  # ONNX Runtime raises its own types, not exported
            first_line = str(error).strip().splitlines()[0]
            raise ModelFileError(
                f"model file {self.uri}: not an ONNX model: {first_line}"
            ) from None
        if size != CNNS[cnn].feature_size:
            raise ModelFileError(
                f"model file {self.uri} gives {size} features; {cnn} gives "
                f"{CNNS[cnn].feature_size}: is it the file of another CNN?"
            )
        return identity(local)

    def shipped(self) -> str:
        """The local copy of what ship() sent (addFile keeps the name)."""
        return SparkFiles.get(PurePosixPath(self.uri).name)

    def __str__(self) -> str:
        return self.uri
