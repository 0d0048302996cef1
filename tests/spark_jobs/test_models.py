"""The three CNNs without their top: feature sizes, seeded weights, weights files. No network."""

from __future__ import annotations

import numpy as np
import pytest

from fruitspark import models
from fruitspark.images import image_to_array
from tests.spark_jobs.photos import encode, fruit_jpeg, real_photo


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    return np.stack(
        [image_to_array(fruit_jpeg()), image_to_array(encode(real_photo("coffee"), "PNG"))]
    )


@pytest.mark.parametrize(
    ("cnn", "size"), [("mobilenet_v2", 1280), ("resnet50", 2048), ("vgg16", 512)]
)
def test_feature_size_per_model(cnn, size, images):
    features = models.build_featurizer(cnn, models.Weights("random"))(images)
    assert models.CNNS[cnn].feature_size == size
    assert features.shape == (2, size)
    assert features.dtype == np.float32
    assert np.isfinite(features).all()
    # Seeded random weights give tiny activations: compare relatively.
    assert not np.allclose(features[0], features[1], rtol=1e-3, atol=0), "images differ"


def test_random_weights_are_seeded(images):
    first = models.build_featurizer("mobilenet_v2", models.Weights("random"))(images)
    second = models.build_featurizer("mobilenet_v2", models.Weights("random"))(images)
    np.testing.assert_array_equal(first, second)


def test_a_saved_weights_file_gives_the_same_features(images, tmp_path):
    seeded = models.build_featurizer("mobilenet_v2", models.Weights("random"))
    weights_file = tmp_path / "mobilenet_v2.weights.h5"
    seeded.model.save_weights(weights_file)
    loaded = models.build_featurizer("mobilenet_v2", models.Weights(str(weights_file)))
    np.testing.assert_array_equal(seeded(images), loaded(images))


def test_preprocess_is_the_models_own(images):
    """MobileNetV2 scales to [-1, 1]; VGG16 subtracts ImageNet's BGR means."""
    mobilenet = models.build_featurizer("mobilenet_v2", models.Weights("random")).preprocess
    assert mobilenet(images.astype(np.float32)).min() >= -1.0
    vgg = models.build_featurizer("vgg16", models.Weights("random")).preprocess
    white = np.full((1, 224, 224, 3), 255, dtype=np.float32)
    np.testing.assert_allclose(vgg(white)[0, 0, 0], [255 - 103.939, 255 - 116.779, 255 - 123.68])
