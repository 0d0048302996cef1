"""The three CNNs: Keras builds them, ONNX Runtime runs the exported files, with the same
features. No network: seeded random weights, and weights files the tests save themselves."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from fruitspark import models
from fruitspark.images import image_to_array
from scripts import keras_export
from tests.spark_jobs.photos import REAL_PHOTOS, encode, fruit_jpeg, real_photo

RANDOM = keras_export.Weights("random")


@pytest.fixture(scope="module")
def photos() -> np.ndarray:
    """scikit-image's real photos (RGB, greyscale, RGBA, odd sizes, PNG and JPEG) and a
    Fruits-like JPEG, decoded as the job decodes them."""
    files = [encode(real_photo(name), "PNG") for name in REAL_PHOTOS]
    files += [encode(real_photo("rocket"), "JPEG"), fruit_jpeg()]
    return np.stack([image_to_array(data) for data in files])


def relative_error(actual: np.ndarray, expected: np.ndarray) -> float:
    """Relative to the features' scale: seeded random weights give values near 1e-11."""
    return float(np.abs(actual - expected).max() / np.abs(expected).max())


# Exporting the two big CNNs takes about a minute: they wait for `make test`.
@pytest.mark.parametrize(
    ("cnn", "size"),
    [
        ("mobilenet_v2", 1280),
        pytest.param("resnet50", 2048, marks=pytest.mark.slow),
        pytest.param("vgg16", 512, marks=pytest.mark.slow),
    ],
)
def test_onnx_runtime_gives_keras_features(cnn, size, photos):
    # The session's cached export, which the end-to-end deploys read too: one export a CNN.
    model_file = keras_export.export_onnx(cnn, RANDOM)
    onnx_features = models.OnnxFeaturizer(str(model_file), cores=2)(photos)
    keras_features = keras_export.keras_features(cnn, keras_export.build_keras(cnn, RANDOM), photos)
    assert onnx_features.shape == (len(photos), size) == keras_features.shape
    assert models.CNNS[cnn].feature_size == size
    assert relative_error(onnx_features, keras_features) <= 1e-5
    assert relative_error(onnx_features[0], onnx_features[1]) > 1e-2, "the photos differ"


def test_exports_are_cached_by_content(tmp_path):
    first = keras_export.export_onnx("mobilenet_v2", RANDOM, tmp_path)
    modified = first.stat().st_mtime_ns
    assert keras_export.export_onnx("mobilenet_v2", RANDOM, tmp_path) == first
    assert first.stat().st_mtime_ns == modified
    exported = [path for path in tmp_path.iterdir() if path.suffix != ".lock"]
    assert exported == [first], "no partial file left behind"


def test_a_weights_file_exports_the_model_it_holds(photos, tmp_path):
    weights_file = tmp_path / "mobilenet_v2.weights.h5"
    keras_export.build_keras("mobilenet_v2", RANDOM).save_weights(weights_file)
    from_file = keras_export.export_onnx("mobilenet_v2", keras_export.Weights(str(weights_file)))
    seeded = keras_export.export_onnx("mobilenet_v2", RANDOM)
    assert from_file != seeded, "cached under their own keys"
    features = [models.OnnxFeaturizer(str(path), 2)(photos) for path in (from_file, seeded)]
    np.testing.assert_array_equal(*features)


@pytest.mark.slow
def test_a_caller_without_tensorflow_exports_in_a_child_and_never_loads_it(tmp_path):
    """A deploy's process: the export's memory goes back to the system with its child."""
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from scripts.keras_export import Weights, export_onnx\n"
        f"model_file = export_onnx('mobilenet_v2', Weights('random'), Path({str(tmp_path)!r}))\n"
        "assert model_file.stat().st_size > 1_000_000, model_file\n"
        "assert 'tensorflow' not in sys.modules, 'TensorFlow loaded in the caller'\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=300)
