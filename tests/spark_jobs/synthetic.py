"""Synthetic features in featurize's layout, written with pyarrow: fast at 100,000 rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROWS_PER_FILE = 1000  # as featurize writes them: at most 1,000 images a task
RANK = 16  # the classes' centres span a small subspace, as real CNN features do


def synthetic_matrix(
    rows: int, size: int, classes: int = 8, seed: int = 0, noise_seed: int | None = None
) -> np.ndarray:
    """float32 (rows, size): class centres in a RANK-dim subspace, plus noise. The subspace
    and centres come from seed, the rows' draws from noise_seed (seed by default): matrices
    of one seed and several noise seeds are days of one distribution."""
    rng = np.random.default_rng(seed)
    basis = rng.normal(size=(RANK, size)).astype(np.float32)
    centres = rng.normal(scale=3, size=(classes, RANK)).astype(np.float32)
    if noise_seed is not None:
        rng = np.random.default_rng([seed, noise_seed])
    labels = np.arange(rows) % classes
    latent = centres[labels] + rng.normal(size=(rows, RANK)).astype(np.float32)
    return latent @ basis + rng.normal(scale=0.1, size=(rows, size)).astype(np.float32)


def write_synthetic_features(
    root: Path,
    rows: int,
    size: int,
    model: str = "mobilenet_v2",
    days: int = 1,
    classes: int = 8,
    seed: int = 0,
    model_id: str = "sha256:synthetic",
) -> np.ndarray:
    """root/model=<model>/ingest_date=<day>/part-N.parquet, rows spread over `days`; row i
    of the returned matrix is the image s3://fruits/images/<label>/<i>.jpg."""
    matrix = synthetic_matrix(rows, size, classes, seed)
    for start in range(0, rows, ROWS_PER_FILE):
        stop = min(start + ROWS_PER_FILE, rows)
        day = f"2026-01-{1 + (start * days) // rows:02d}"
        folder = root / f"model={model}" / f"ingest_date={day}"
        write_part(folder, matrix[start:stop], start, classes, model_id)
    return matrix


def write_synthetic_day(
    root: Path,
    day: str,
    rows: int,
    size: int,
    first: int,
    model: str = "mobilenet_v2",
    classes: int = 8,
    seed: int = 0,
    model_id: str = "sha256:synthetic",
) -> None:
    """One ingest date of features of one distribution (seed), images first..first+rows-1:
    days written one at a time, so history of any length fits in memory."""
    matrix = synthetic_matrix(rows, size, classes, seed, noise_seed=first)
    folder = root / f"model={model}" / f"ingest_date={day}"
    for start in range(0, rows, ROWS_PER_FILE):
        stop = min(start + ROWS_PER_FILE, rows)
        write_part(folder, matrix[start:stop], first + start, classes, model_id)


def write_part(folder: Path, matrix: np.ndarray, first: int, classes: int, model_id: str) -> None:
    """One Parquet file of featurize's schema: row i is s3://fruits/images/<label>/<first+i>.jpg."""
    folder.mkdir(parents=True, exist_ok=True)
    count, size = matrix.shape
    values = pa.array(matrix.ravel(), type=pa.float32())
    offsets = pa.array(np.arange(0, (count + 1) * size, size, dtype=np.int32))
    numbers = range(first, first + count)
    table = pa.table(
        {
            "path": [f"s3://fruits/images/class {i % classes}/{i}.jpg" for i in numbers],
            "label": [f"class {i % classes}" for i in numbers],
            "model_id": [model_id] * count,
            "features": pa.ListArray.from_arrays(offsets, values),
        }
    )
    pq.write_table(table, folder / f"part-{first // ROWS_PER_FILE:05d}.parquet")
