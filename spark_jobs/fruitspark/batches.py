"""Featurize one Arrow batch of image files, in fixed-size chunks so memory stays bounded."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from fruitspark.images import RejectedImage, image_to_array

DEFAULT_CHUNK = 32


def featurize_contents(
    contents: Sequence[bytes],
    featurizer: Callable[[np.ndarray], np.ndarray],
    chunk_size: int = DEFAULT_CHUNK,
) -> pd.DataFrame:
    """One row per input, in order: `features` (float32 array) or `reason` (why rejected).

    At most `chunk_size` decoded images exist at a time, whatever the batch size. The CNN
    always gets exactly `chunk_size` images, padded with blanks: a new batch shape would make
    TensorFlow trace its graph again, which costs as much as ~50 images.
    """
    features: list[np.ndarray | None] = [None] * len(contents)
    reasons: list[str | None] = [None] * len(contents)
    for start in range(0, len(contents), chunk_size):
        positions, arrays = [], []
        for position in range(start, min(start + chunk_size, len(contents))):
            try:
                arrays.append(image_to_array(contents[position]))
                positions.append(position)
            except RejectedImage as rejection:
                reasons[position] = str(rejection)
        if arrays:
            batch = np.stack(arrays)
            padding = np.zeros((chunk_size - len(arrays), *batch.shape[1:]), dtype=batch.dtype)
            vectors = featurizer(np.concatenate([batch, padding]))[: len(arrays)]
            for position, vector in zip(positions, vectors, strict=True):
                features[position] = vector
    return pd.DataFrame({"features": features, "reason": reasons})
