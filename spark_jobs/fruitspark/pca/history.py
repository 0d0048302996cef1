"""pca's history: the sufficient statistics of a model's features, kept beside them per day
and rolled up per month and per year, so that a run reads the rows of the days that changed
and a bounded number of summaries, not all history.

    <features>/_stats/model=<cnn>/day=2026-11-20.<fingerprint>.npz
                                 /days=2026-11-01..2026-11-19.<fingerprint>.npz
                                 /month=2026-10.<fingerprint>.npz
                                 /year=2025.<fingerprint>.npz

A day's fingerprint (fruitspark.pca.paths) hashes what its statistics depend on: the files
of its features partition and the paths of it that a later date featurized again (those
count with their latest features only). A rollup's hashes its members'. So a summary whose
file exists is current; anything that rewrites a partition (a rerun, a full rebuild, a late
re-upload, an erasure) changes the fingerprint, and the next run computes that day, and the
rollups holding it, again. Files are named by content and written whole: a run killed
midway leaves only complete, still valid summaries.

A run merges one summary per earlier year, one per earlier month of the latest year, the
latest month's days before the latest (days=…, each the previous one plus a day), and the
latest day: at most the years + 11 + 2, whatever the day of the month.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from fruits_contract.layout import STATS_FOLDER, partition
from fruitspark.hadoop_fs import delete_children, list_children, replace_file
from fruitspark.locations import literal
from fruitspark.pca import moments as mm
from fruitspark.pca import paths
from fruitspark.pca.maths import PcaInputError
from fruitspark.pca.paths import fingerprint

log = logging.getLogger("pca")
PARTIAL_SCHEMA = "moments binary, smallest int, largest int"
STATS_BATCH_ROWS = 1024  # rows per Arrow batch: a 1,280-feature batch is 10 MB in float64


@dataclass(frozen=True)
class Summary:
    """The statistics of a day, a month's running days, a month or a year: a file named
    after what it summarises."""

    kind: str  # day, days, month or year
    key: str  # 2026-11-20, 2026-11-01..2026-11-19, 2026-11 or 2026
    fingerprint: str
    members: tuple[Summary, ...] = ()  # a rollup's days or months; none for a day

    @property
    def file_name(self) -> str:
        return f"{self.kind}={self.key}.{self.fingerprint}.npz"


def plan(fingerprints: dict[str, str]) -> list[Summary]:
    """The summaries whose merge is all the days: every earlier year, the latest year's
    earlier months, the latest month's earlier days as one running rollup, the latest day."""
    if not fingerprints:
        return []
    latest = max(fingerprints)
    days = [Summary("day", day, fingerprint) for day, fingerprint in sorted(fingerprints.items())]
    months = _rollups("month", days, lambda day: day.key[:7])
    years = _rollups("year", list(months.values()), lambda month: month.key[:4])
    this_month = [day for day in days if day.key[:7] == latest[:7]]
    running = None  # the month's days so far: yesterday's rollup plus one day
    for day in this_month[:-1]:
        running = (
            day
            if running is None
            else _rollup("days", f"{this_month[0].key}..{day.key}", [running, day])
        )
    return [
        *(year for key, year in years.items() if key < latest[:4]),
        *(month for key, month in months.items() if key[:4] == latest[:4] and key < latest[:7]),
        *([running] if running else []),
        this_month[-1],
    ]


def _rollup(kind: str, key: str, members: list[Summary]) -> Summary:
    return Summary(kind, key, fingerprint([m.file_name for m in members]), tuple(members))


def _rollups(kind: str, members: list[Summary], key_of) -> dict[str, Summary]:
    groups: dict[str, list[Summary]] = defaultdict(list)
    for member in members:
        groups[key_of(member)].append(member)
    return {key: _rollup(kind, key, group) for key, group in sorted(groups.items())}


class Statistics:
    """The stored summaries of one model's features, computed where missing."""

    def __init__(self, spark: SparkSession, features: DataFrame, root: str, cnn: str):
        self.spark, self.features, self.cnn = spark, features, cnn
        self.folder = f"{root}/{STATS_FOLDER}/{partition('model', cnn)}"
        self.stored = set(list_children(spark, self.folder))
        self.days = paths.scan_days(spark, features, cnn, self.folder, self.stored)
        self.computed: list[str] = []  # the days whose statistics this run computed

    def total(self) -> mm.Moments:
        """The moments of every row that counts, from the stored summaries. A damaged one (an
        interrupted copy or restore truncated it) is computed again, with a warning."""
        damaged: set[str] = set()
        while True:
            try:
                return self._merge_files(
                    [self._ensure(summary) for summary in plan(self.days.fingerprints)]
                )
            except DamagedSummaries as error:
                if error.names <= damaged:
                    raise PcaInputError(f"statistics {sorted(error.names)} stay damaged") from error
                damaged |= error.names
                self.stored -= error.names

    def prune(self) -> list[str]:
        """Delete the files no fingerprint names any more: of rewritten or removed days, and
        the running rollups of a month now closed."""
        current = {summary.file_name for summary in _all(plan(self.days.fingerprints))}
        current |= self.days.index_files
        stored = {name for name in list_children(self.spark, self.folder)}
        return delete_children(self.spark, self.folder, sorted(stored - current))

    def _ensure(self, summary: Summary) -> str:
        uri = f"{self.folder}/{summary.file_name}"
        if summary.file_name not in self.stored:
            if summary.kind == "day":
                moments = self._compute_day(summary.key)
                self.computed.append(summary.key)
            else:
                moments = self._merge_files([self._ensure(member) for member in summary.members])
            replace_file(self.spark, uri, mm.to_bytes(moments))
            self.stored.add(summary.file_name)
            log.info(
                "statistics of %s %s: %d row(s), written", summary.kind, summary.key, moments.count
            )
        return uri

    def _compute_day(self, day: str) -> mm.Moments:
        """One pass over the day's features, in float64 on the workers; the driver merges one
        partial per task."""
        rows = self.features.where(F.col("ingest_date") == day)
        if superseded := self.days.superseded.get(day):
            paths = self.spark.createDataFrame([(path,) for path in superseded], "path string")
            rows = rows.join(F.broadcast(paths), "path", "left_anti")
        partials = (
            rows.where(F.col("features").isNotNull())
            .select("label", "model_id", "features")
            .coalesce(self.spark.sparkContext.defaultParallelism)
            .mapInPandas(partial_moments, PARTIAL_SCHEMA)
        )
        moments, sizes = mm.EMPTY, set()
        for partial in partials.toLocalIterator():
            sizes |= {partial.smallest, partial.largest}
            if len(sizes) == 1 and partial.moments is not None:
                moments = mm.merge(moments, mm.from_bytes(partial.moments))
        if len(sizes) > 1:
            raise mixed_sizes(self.cnn, sizes)
        return moments

    def _merge_files(self, uris: list[str]) -> mm.Moments:
        """Read by Spark, merged on the driver one file at a time: a handful of files a run."""
        if not uris:
            return mm.EMPTY
        files = self.spark.read.format("binaryFile").load([literal(uri) for uri in uris])
        merged, sizes, damaged = mm.EMPTY, set(), set()
        for row in files.select("path", "content").toLocalIterator():
            try:
                moments = mm.from_bytes(row.content)
            except paths.DAMAGED as error:
                name = row.path.rsplit("/", 1)[-1]
                log.warning(
                    "damaged statistics %s/%s (%s): computed again", self.folder, name, error
                )
                damaged.add(name)
                continue
            if moments.count:
                sizes.add(moments.feature_size)
                if len(sizes) == 1:
                    merged = mm.merge(merged, moments)
        if damaged:
            raise DamagedSummaries(frozenset(damaged))
        if len(sizes) > 1:
            raise mixed_sizes(self.cnn, sizes)
        return merged


class DamagedSummaries(Exception):
    """Summary files that cannot be read: Statistics.total computes them again."""

    def __init__(self, names: frozenset[str]) -> None:
        super().__init__(", ".join(sorted(names)))
        self.names = names


def mixed_sizes(cnn: str, sizes: set[int]) -> PcaInputError:
    return PcaInputError(
        f"{cnn} features have sizes from {min(sizes)} to {max(sizes)}: they do not come from "
        "one CNN"
    )


def _all(summaries: list[Summary]) -> Iterator[Summary]:
    for summary in summaries:
        yield summary
        yield from _all(list(summary.members))


def partial_moments(batches: Iterable[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """mapInPandas: one task's rows as one partial (moments, smallest and largest size).
    Rows of another size than the first stop the sums: the driver refuses the day."""
    moments, sizes = mm.EMPTY, set()
    for batch in batches:
        sizes |= set(batch["features"].map(len).unique().tolist())
        if len(sizes) == 1:
            matrix = np.stack(batch["features"].to_numpy())
            rows = mm.of_rows(matrix, batch["label"], batch["model_id"])
            moments = mm.merge(moments, rows)
    if sizes:
        yield pd.DataFrame(
            {
                "moments": [mm.to_bytes(moments) if len(sizes) == 1 else None],
                "smallest": [min(sizes)],
                "largest": [max(sizes)],
            }
        )
