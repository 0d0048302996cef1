"""A set of feature vectors summarised for an exact PCA: count, mean and centred co-moment.

Two summaries merge exactly with Chan, Golub and LeVeque's pairwise formula,
M = Ma + Mb + δδᵀ·na·nb/n, so a day, a month or all history is one merge of smaller ones.
Raw sums of squares would lose the small variances to cancellation; centred co-moments in
float64 keep them. Plain numpy: the Spark side only feeds it row batches.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from functools import reduce

import numpy as np


@dataclass(frozen=True)
class Moments:
    count: int
    mean: np.ndarray  # (n,) float64
    comoment: np.ndarray  # (n, n) float64: Σ (x - mean)(x - mean)ᵀ
    # What check_input must know of the rows, without reading them again.
    labels: frozenset[str] = field(default_factory=frozenset)
    model_ids: frozenset[str] = field(default_factory=frozenset)
    unrecorded: int = 0  # rows without a model_id: written by a featurize before it had one

    @property
    def feature_size(self) -> int:
        return self.mean.shape[0]

    @property
    def covariance(self) -> np.ndarray:
        """The sample covariance (n - 1 in the denominator), as Spark's PCA computes it."""
        return self.comoment / (self.count - 1)


EMPTY = Moments(0, np.zeros(0), np.zeros((0, 0)))


def of_rows(matrix: np.ndarray, labels=(), model_ids=()) -> Moments:
    """The moments of the rows of one matrix, computed centred in float64; labels and
    model_ids are the rows' own (a None model_id is an unrecorded one)."""
    rows = np.asarray(matrix, dtype=np.float64)
    mean = rows.mean(axis=0)
    centred = rows - mean
    model_ids = list(model_ids)
    return Moments(
        rows.shape[0],
        mean,
        centred.T @ centred,
        frozenset(labels),
        frozenset(model_id for model_id in model_ids if model_id is not None),
        sum(model_id is None for model_id in model_ids),
    )


def merge(a: Moments, b: Moments) -> Moments:
    """The moments of the union of two disjoint sets of rows."""
    if a.count == 0:
        return b
    if b.count == 0:
        return a
    if a.feature_size != b.feature_size:
        raise ValueError(f"cannot merge {a.feature_size} features with {b.feature_size}")
    count = a.count + b.count
    delta = b.mean - a.mean
    return Moments(
        count,
        a.mean + delta * (b.count / count),
        a.comoment + b.comoment + np.outer(delta, delta) * (a.count * b.count / count),
        a.labels | b.labels,
        a.model_ids | b.model_ids,
        a.unrecorded + b.unrecorded,
    )


def merge_all(parts) -> Moments:
    return reduce(merge, parts, EMPTY)


def to_bytes(moments: Moments) -> bytes:
    meta = {
        "labels": sorted(moments.labels),
        "model_ids": sorted(moments.model_ids),
        "unrecorded": moments.unrecorded,
    }
    buffer = io.BytesIO()
    np.savez(
        buffer,
        count=np.int64(moments.count),
        mean=moments.mean,
        comoment=moments.comoment,
        meta=np.array(json.dumps(meta)),
    )
    return buffer.getvalue()


def from_bytes(data: bytes) -> Moments:
    with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
        meta = json.loads(str(arrays["meta"]))
        return Moments(
            int(arrays["count"]),
            arrays["mean"],
            arrays["comoment"],
            frozenset(meta["labels"]),
            frozenset(meta["model_ids"]),
            meta["unrecorded"],
        )
