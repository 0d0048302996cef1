"""featurize_contents: one Arrow batch in, features or reasons out, in order, in chunks."""

from __future__ import annotations

import numpy as np

from fruitspark.batches import featurize_contents
from tests.spark_jobs.photos import broken_files, encode, fruit_jpeg, real_photo


class MeanColour:
    """A stand-in CNN: the mean RGB of each image, recording the batch sizes it saw."""

    def __init__(self) -> None:
        self.batch_sizes: list[int] = []

    def __call__(self, images: np.ndarray) -> np.ndarray:
        self.batch_sizes.append(len(images))
        return images.reshape(len(images), -1, 3).mean(axis=1).astype(np.float32)


def test_rows_keep_their_order_and_rejections_their_reason():
    broken, _ = broken_files()["notes-renamed.png"]
    contents = [fruit_jpeg(), broken, encode(real_photo("camera"), "PNG"), b""]
    result = featurize_contents(contents, MeanColour(), chunk_size=2)

    assert result["reason"].isna().tolist() == [True, False, True, False]
    assert result["reason"][1].startswith("not_an_image")
    assert result["reason"][3].startswith("empty")
    np.testing.assert_allclose(result["features"][0], [200, 30, 30], atol=25)
    grey = result["features"][2]
    np.testing.assert_allclose(grey, [grey[0]] * 3)


def test_the_model_sees_chunks_of_the_decoded_images_only():
    model = MeanColour()
    result = featurize_contents([fruit_jpeg()] * 11, model, chunk_size=4)
    assert model.batch_sizes == [4, 4, 3]
    assert result["reason"].isna().all()
    assert len(result) == 11
    result = featurize_contents([fruit_jpeg(), b"", fruit_jpeg()], model, chunk_size=8)
    assert model.batch_sizes[-1] == 2
    assert result["features"].isna().tolist() == [False, True, False]


def test_a_chunk_of_only_rejections_skips_the_model():
    model = MeanColour()
    result = featurize_contents([b"", b"", fruit_jpeg()], model, chunk_size=2)
    assert model.batch_sizes == [1]
    assert result["features"].isna().tolist() == [True, True, False]
