"""Featurize one Arrow batch of image files, in fixed-size chunks so memory stays bounded."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numpy as np
import pandas as pd

from fruitspark.images import RejectedImage, image_to_array
from fruitspark.listing import read_file

DEFAULT_CHUNK = 32
# Files fetched and decoded at once: an S3 GET mostly waits on the network, and Pillow
# releases the GIL while it decodes and resizes.
READ_THREADS = 8
Item = TypeVar("Item")


def featurize_contents(
    contents: Sequence[bytes],
    featurizer: Callable[[np.ndarray], np.ndarray],
    chunk_size: int = DEFAULT_CHUNK,
) -> pd.DataFrame:
    """One row per file content, in order: `features` (float32 array) or `reason`."""
    return _featurize(contents, image_to_array, featurizer, chunk_size, map)


def featurize_files(
    paths: Sequence[str],
    featurizer: Callable[[np.ndarray], np.ndarray],
    chunk_size: int = DEFAULT_CHUNK,
    read: Callable[[str], bytes] = read_file,
) -> pd.DataFrame:
    """featurize_contents for files: a file that cannot be read is rejected with its reason,
    like an image that cannot be decoded."""

    def load(path: str) -> np.ndarray:
        try:
            data = read(path)
        except FileNotFoundError as error:
            raise RejectedImage("vanished", "the file was deleted after it was listed") from error
        except OSError as error:
            raise RejectedImage("unreadable", error.strerror or str(error)) from error
        return image_to_array(data)

    with ThreadPoolExecutor(READ_THREADS) as pool:
        return _featurize(paths, load, featurizer, chunk_size, pool.map)


def _featurize(
    items: Sequence[Item],
    load: Callable[[Item], np.ndarray],
    featurizer: Callable[[np.ndarray], np.ndarray],
    chunk_size: int,
    map_each: Callable[..., Iterable[np.ndarray | RejectedImage]],
) -> pd.DataFrame:
    """At most `chunk_size` decoded images exist at a time, whatever the batch size. A last,
    smaller chunk is run as it is: ONNX Runtime takes any batch size at the same speed per
    image (tests/benchmarks/bench_featurize.py measures it)."""

    def attempt(item: Item) -> np.ndarray | RejectedImage:
        try:
            return load(item)
        except RejectedImage as rejection:
            return rejection

    features: list[np.ndarray | None] = [None] * len(items)
    reasons: list[str | None] = [None] * len(items)
    for start in range(0, len(items), chunk_size):
        positions, arrays = [], []
        chunk = items[start : start + chunk_size]
        for position, loaded in enumerate(map_each(attempt, chunk), start=start):
            if isinstance(loaded, RejectedImage):
                reasons[position] = str(loaded)
            else:
                arrays.append(loaded)
                positions.append(position)
        if arrays:
            vectors = featurizer(np.stack(arrays))
            for position, vector in zip(positions, vectors, strict=True):
                features[position] = vector
    return pd.DataFrame({"features": features, "reason": reasons})
