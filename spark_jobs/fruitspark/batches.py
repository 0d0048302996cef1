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

    At most `chunk_size` decoded images exist at a time, whatever the batch size.
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
            for position, vector in zip(positions, featurizer(np.stack(arrays)), strict=True):
                features[position] = vector
    return pd.DataFrame({"features": features, "reason": reasons})
