"""Build a CNN with Keras and export it to an ONNX model file: on a laptop or at deploy time,
never on the cluster (it is not in fruitspark.zip). TensorFlow is imported only when an export
is not cached, and then in a child process.

The exported graph takes uint8 RGB images and applies the CNN's own preprocess_input itself:
ONNX Runtime then needs nothing from Keras, and the parity with Keras holds by construction
(tests/spark_jobs/test_models.py measures it).
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from fruits_contract.cnns import CNNS, IMAGE_SIZE, MODEL_INPUT
from scripts.build_lock import build_lock

log = logging.getLogger(__name__)

RANDOM_SEED = 1234
INPUT_SHAPE = (IMAGE_SIZE, IMAGE_SIZE, 3)
OPSET = 17
# Not a FRUITS_ variable: those are the DAG's configuration, which refuses unknown names.
CACHE_DIR = Path(
    os.environ.get("FRUITSPARK_MODEL_CACHE", Path.home() / ".cache" / "fruits" / "onnx")
)


@dataclass(frozen=True)
class Weights:
    """Where a CNN's weights come from: `imagenet` (Keras downloads them), `random` (a seeded
    random initialisation, for offline demos and tests) or a local Keras weights file."""

    PRESETS = ("imagenet", "random")

    source: str

    @property
    def file(self) -> str | None:
        return None if self.source in self.PRESETS else self.source

    def __str__(self) -> str:
        return self.source


def build_keras(cnn: str, weights: Weights) -> Any:
    """The CNN without its top, with global average pooling."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    spec = CNNS[cnn]
    module = importlib.import_module(f"keras.applications.{spec.keras_module}")
    if weights.source == "random":
        keras.utils.set_random_seed(RANDOM_SEED)
    model = getattr(module, spec.keras_class)(
        include_top=False,
        pooling="avg",
        input_shape=INPUT_SHAPE,
        weights="imagenet" if weights.source == "imagenet" else None,
    )
    if weights.file:
        model.load_weights(weights.file)
    return model


def keras_features(cnn: str, model: Any, images: np.ndarray) -> np.ndarray:
    """Keras' own features for uint8 images: the reference the ONNX files must match."""
    module = importlib.import_module(f"keras.applications.{CNNS[cnn].keras_module}")
    batch = module.preprocess_input(images.astype(np.float32))
    return np.asarray(model.predict_on_batch(batch), dtype=np.float32)


def cache_key(cnn: str, weights: Weights) -> str:
    """What an export depends on: the CNN, the weights (a file by its content) and the
    versions of the libraries that build and convert it."""
    digest = hashlib.sha256()
    for part in (cnn, weights.source if not weights.file else "file", *_versions()):
        digest.update(part.encode() + b"\0")
    if weights.file:
        digest.update(Path(weights.file).read_bytes())
    return digest.hexdigest()[:16]


def _versions() -> tuple[str, ...]:
    return tuple(metadata.version(package) for package in ("keras", "tf2onnx", "onnx"))


def export_onnx(cnn: str, weights: Weights, cache_dir: Path = CACHE_DIR) -> Path:
    """The ONNX file of `cnn` with `weights`, exported once and cached by content hash."""
    target = cache_dir / f"{cnn}-{cache_key(cnn, weights)}.onnx"
    if not target.exists():
        with build_lock(target):
            if not target.exists():  # else a concurrent process exported it while we waited
                log.info("%s (weights=%s): exporting to ONNX, once (TensorFlow)", cnn, weights)
                export = _export if "tensorflow" in sys.modules else _export_in_child
                export(cnn, weights, target)
                return target
    log.info("%s (weights=%s): cached ONNX model %s", cnn, weights, target)
    return target


def _export_in_child(cnn: str, weights: Weights, target: Path) -> None:
    """TensorFlow runs in a child process: the gigabytes a conversion takes go back to the
    system when it ends, instead of staying with a caller that never loaded TensorFlow (a
    deploy, a test worker). A caller that has loaded it exports in its own process."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as child:
        child.submit(_export, cnn, weights, target).result()


def _export(cnn: str, weights: Weights, target: Path) -> None:
    import tensorflow as tf
    import tf2onnx

    model = build_keras(cnn, weights)
    module = importlib.import_module(f"keras.applications.{CNNS[cnn].keras_module}")

    @tf.function
    def features(images):
        return model(module.preprocess_input(tf.cast(images, tf.float32)), training=False)

    signature = [tf.TensorSpec((None, *INPUT_SHAPE), tf.uint8, name=MODEL_INPUT)]
    partial = target.with_suffix(f".{os.getpid()}.partial")
    tf2onnx.convert.from_function(
        features, input_signature=signature, opset=OPSET, output_path=str(partial)
    )
    os.replace(partial, target)  # a killed export never leaves half a file
