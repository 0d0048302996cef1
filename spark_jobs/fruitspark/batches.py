"""Featurize one Arrow batch of image files, in fixed-size chunks so memory stays bounded."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numpy as np
import pandas as pd

from fruits_contract.erasure import image_digest
from fruitspark.images import PixelBudget, RejectedImage, image_to_array
from fruitspark.listing import ChangedFile, read_file

log = logging.getLogger(__name__)
DEFAULT_CHUNK = 32
# Files fetched and decoded at once: an S3 GET mostly waits on the network, and Pillow
# releases the GIL while it decodes and resizes.
READ_THREADS = 8
# Decoded pixels in flight across the read threads: two of the largest images accepted
# (fruitspark.images.MAX_PIXELS). A pixel costs at most about 10 bytes through decoding and
# conversion, so a worker's decoding stays near 1.2 GB whatever the chunk holds.
PIXELS_IN_FLIGHT = 120_000_000
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
    lengths: Sequence[int | None] | None = None,
    max_bytes: int | None = None,
) -> pd.DataFrame:
    """featurize_contents for files listed with `lengths`: a file that cannot be read, or no
    longer has its listed size, is rejected with its reason, like an image that cannot be
    decoded, and the log names it."""
    budget = PixelBudget(PIXELS_IN_FLIGHT)
    sizes = dict(zip(paths, lengths or [None] * len(paths), strict=True))

    def load(path: str) -> np.ndarray:
        try:
            data = read_file(path, sizes[path], max_bytes)
        except FileNotFoundError as error:
            raise RejectedImage("vanished", "the file was deleted after it was listed") from error
        except IsADirectoryError as error:
            raise RejectedImage("unreadable", f"an S3 key ending with /: {error}") from error
        except ChangedFile as error:
            raise RejectedImage("changed", str(error)) from error
        except (OSError, ValueError) as error:  # Arrow's ArrowInvalid is a ValueError
            raise RejectedImage(
                "unreadable", getattr(error, "strerror", None) or str(error)
            ) from error
        if max_bytes is not None and len(data) > max_bytes:
            raise RejectedImage(
                "too_large", f"grew past the {max_bytes} byte limit after it was listed"
            )
        return image_to_array(data, budget=budget)

    def logged(path: str) -> np.ndarray:
        try:
            return load(path)
        except RejectedImage as rejection:
            # A digest, never the key: step and container logs outlive an erasure (docs/
            # operations.md#privacy). The key and the whole reason are in _rejected's row.
            log.warning("rejected image %s: %s", image_digest(path), rejection.code)
            raise

    with ThreadPoolExecutor(READ_THREADS) as pool:
        return _featurize(paths, logged, featurizer, chunk_size, pool.map)


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
