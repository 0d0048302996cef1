"""The jobs' transforms and small pure functions, on tiny in-memory DataFrames."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from fruitspark.featurize import transform
from fruitspark.featurize.extract import extract_images
from fruitspark.listing import EPOCH, ListedFile
from fruitspark.partitions import IMAGES_PER_PARTITION, partition_plan
from fruitspark.pca.extract import rows_that_count
from fruitspark.pca.maths import choose_k
from fruitspark.pca.paths import superseded_paths
from fruitspark.schemas import FEATURES, REJECTED


def rows(frame, *columns: str) -> list[tuple]:
    """The frame's rows as sorted tuples of `columns` (all of them by default)."""
    selected = frame.select(*(columns or frame.columns))
    return sorted(tuple(row) for row in selected.collect())


def test_the_label_is_the_parent_folder_in_unicode_nfc(spark):
    composed, decomposed = "Cl\u00e9mentine", "Cle\u0301mentine"  # as phones and macOS write it
    paths = [
        "s3://fruits/images/Apple Braeburn/0_100.jpg",
        "file:/data/Train/Pépino doux/UPPER.JPG",
        "s3://fruits/images/Training/Kiwi/r_12_100.png",
        f"s3://fruits/images/{composed}/phone.jpg",
        f"s3://fruits/images/{decomposed}/mac.jpg",
    ]
    files = [ListedFile(path, 1, datetime(2024, 1, 1, tzinfo=UTC)) for path in paths]
    assert rows(extract_images(spark, files, partitions=2), "label") == [
        ("Apple Braeburn",),
        (composed,),
        (composed,),
        ("Kiwi",),
        ("Pépino doux",),
    ]


def test_listing_verdicts_give_one_reason_a_file_and_read_only_the_rest(spark):
    moment = datetime(2024, 1, 1, tzinfo=UTC)
    listed = [
        ListedFile("s3://b/images/Kiwi/ok.jpg", 100, moment),
        ListedFile("s3://b/images/Kiwi/_DSC0001.JPG", 100, moment),  # a camera's name: read
        ListedFile("s3://b/images/loose.jpg", 100, moment),
        ListedFile("s3://b/images/loose-and-big.jpg", 101, moment),  # no_label comes first
        ListedFile("s3://b/images/Kiwi/big.jpg", 101, moment),
        ListedFile("s3://b/images/Kiwi/._ok.jpg", 4096, moment),
        ListedFile("file:/in/Kiwi/loop.jpg", None, moment, "Too many levels of symbolic links"),
        ListedFile("s3://b/images/Pear//b.jpg", 100, moment),  # a string join's empty part
        ListedFile("s3://b/images//c.jpg", 100, moment),
    ]
    images = extract_images(spark, listed, partitions=2)
    judged = transform.with_verdict(images, "s3://b/images", max_bytes=100)
    assert rows(judged.where("verdict is null"), "path") == [
        ("s3://b/images/Kiwi/_DSC0001.JPG",),
        ("s3://b/images/Kiwi/ok.jpg",),
    ]
    day = "2024-01-01"  # no ingest date given: each file's upload day
    assert rows(transform.rejected_unread(judged)) == [
        ("file:/in/Kiwi/loop.jpg", "Kiwi", "unreadable: Too many levels of symbolic links", day),
        ("s3://b/images//c.jpg", None, transform.EMPTY_SEGMENT, day),
        ("s3://b/images/Kiwi/._ok.jpg", "Kiwi", transform.APPLE_DOUBLE, day),
        (
            "s3://b/images/Kiwi/big.jpg",
            "Kiwi",
            "too_large: 101 bytes is over the 100 byte limit",
            day,
        ),
        ("s3://b/images/Pear//b.jpg", None, transform.EMPTY_SEGMENT, day),
        ("s3://b/images/loose-and-big.jpg", None, transform.NO_LABEL, day),
        ("s3://b/images/loose.jpg", None, transform.NO_LABEL, day),
    ]


def test_every_file_gets_the_run_date_or_its_upload_day(spark):
    late_evening = datetime(2026, 11, 19, 23, 59, 59, 999999, tzinfo=UTC)
    listed = [
        ListedFile("s3://b/images/Kiwi/a.jpg", 1, late_evening),
        ListedFile("s3://b/images/Kiwi/b.jpg", 1, late_evening + timedelta(microseconds=1)),
        ListedFile("file:/in/Locked", None, EPOCH, "cannot be listed", folder=True),
    ]
    by_upload = extract_images(spark, listed, 1, run_date=date(2026, 11, 21))
    assert rows(by_upload.select("path", "ingest_date")) == [
        ("file:/in/Locked", "2026-11-21"),  # no time of its own: the run's date
        ("s3://b/images/Kiwi/a.jpg", "2026-11-19"),
        ("s3://b/images/Kiwi/b.jpg", "2026-11-20"),
    ]
    daily = extract_images(spark, listed, 1, ingest_date=date(2026, 11, 20))
    assert {row.ingest_date for row in daily.collect()} == {"2026-11-20"}


@pytest.mark.parametrize(
    ("images", "cores", "plan"),
    [
        (1, 2, (1, 1)),  # never more partitions than images
        (10, 2, (4, 3)),  # two waves a core
        (2_500, 2, (4, 625)),
        (20_000, 2, (20, 1_000)),  # the cap on a partition decides
        (20_001, 2, (22, 910)),  # whole waves: never one partition left for one core
        (8_192, 2, (10, 820)),
        (5_000, 64, (125, 40)),  # a big cluster: about two waves a core
    ],
)
def test_partition_plan(images, cores, plan):
    partitions, per_partition = partition_plan(images, cores)
    assert (partitions, per_partition) == plan
    assert per_partition <= IMAGES_PER_PARTITION
    assert (partitions - 1) * per_partition < images <= partitions * per_partition


def test_listed_files_are_read_in_the_planned_partitions(spark):
    files = [
        ListedFile(f"s3://b/images/Kiwi/{number}.jpg", 1000, datetime(2024, 1, 1, tzinfo=UTC))
        for number in range(10)
    ]
    partitions, per_partition = partition_plan(len(files), cores=2)
    extracted = extract_images(spark, files, partitions)
    sizes = extracted.rdd.glom().map(len).collect()
    assert (partitions, per_partition) == (4, 3)
    assert (len(sizes), sum(sizes)) == (4, 10)
    # Round-robin from each of the driver's 2 Arrow slices: sizes differ by 2 rows at most.
    assert max(sizes) - min(sizes) <= spark.sparkContext.defaultParallelism


@pytest.mark.parametrize(
    ("explained", "target", "k"),
    [
        ([0.5, 0.3, 0.2], 0.8, 2),  # reached exactly
        ([0.5, 0.3, 0.2], 0.81, 3),
        ([0.9, 0.1], 0.5, 1),  # the first component is enough
        ([0.1] * 10, 1.0, 10),  # float sums fall just short of 1.0
        ([0.5, 0.4], 1.0, 2),  # never reached: every component
    ],
)
def test_choose_k(explained, target, k):
    assert choose_k(explained, target) == k


def test_an_image_featurized_on_two_dates_counts_once_with_its_latest_features(spark):
    features = spark.createDataFrame(
        [
            ("s3://b/Kiwi/1.jpg", "Kiwi", "m", [0.0, 0.0], "mobilenet_v2", "2026-11-19"),
            ("s3://b/Kiwi/1.jpg", "Kiwi", "m", [1.0, 1.0], "mobilenet_v2", "2026-11-20"),
            ("s3://b/Kiwi/2.jpg", "Kiwi", "m", [2.0, 2.0], "mobilenet_v2", "2026-11-19"),
            ("s3://b/Kiwi/1.jpg", "Kiwi", "v", [9.0, 9.0], "vgg16", "2026-11-21"),
        ],
        FEATURES,
    ).where(F.col("model") == "mobilenet_v2")
    every_hash = np.array(
        [row.h for row in features.select(F.xxhash64("path").alias("h")).collect()]
    )
    superseded = superseded_paths(spark, features, every_hash)
    assert superseded == {"2026-11-19": ["s3://b/Kiwi/1.jpg"]}

    rows_ = rows_that_count(spark, features, [("s3://b/Kiwi/1.jpg", "2026-11-19")])
    assert rows_.columns == ["path", "label", "ingest_date", "features"]
    assert [(path, day, vector.toArray().tolist()) for path, _, day, vector in rows(rows_)] == [
        ("s3://b/Kiwi/1.jpg", "2026-11-20", [1.0, 1.0]),
        ("s3://b/Kiwi/2.jpg", "2026-11-19", [2.0, 2.0]),
    ]
    only_the_20th = rows_that_count(spark, features, [], days=["2026-11-20"])
    assert rows(only_the_20th, "path", "ingest_date") == [("s3://b/Kiwi/1.jpg", "2026-11-20")]


def test_featurize_writes_its_two_tables_in_the_contracts_schemas(spark):
    day, model_id = "2026-11-20", "sha256:" + "f" * 64
    judged = transform.with_verdict(
        extract_images(
            spark,
            [ListedFile("s3://b/images/loose.jpg", 9, EPOCH)],
            partitions=1,
            ingest_date=date.fromisoformat(day),
        ),
        "s3://b/images",
        max_bytes=100,
    )
    featurized = spark.createDataFrame(
        [
            ("s3://b/images/Kiwi/1.jpg", "Kiwi", day, [0.5, 1.5], None),
            ("s3://b/images/Kiwi/2.jpg", "Kiwi", day, None, "corrupt: not an image"),
        ],
        "path string, label string, ingest_date string, features array<float>, reason string",
    )
    assertDataFrameEqual(
        transform.features_table(featurized, "mobilenet_v2", model_id),
        spark.createDataFrame(
            [("s3://b/images/Kiwi/1.jpg", "Kiwi", model_id, [0.5, 1.5], "mobilenet_v2", day)],
            FEATURES,
        ),
    )
    assertDataFrameEqual(
        transform.rejected_table(featurized, judged, "mobilenet_v2"),
        spark.createDataFrame(
            [
                ("s3://b/images/Kiwi/2.jpg", "Kiwi", "corrupt: not an image", "mobilenet_v2", day),
                ("s3://b/images/loose.jpg", None, transform.NO_LABEL, "mobilenet_v2", day),
            ],
            REJECTED,
        ),
    )


def test_an_image_directly_in_a_day_folder_has_no_label(spark):
    listed = [
        ListedFile("s3://b/images/2026-11-20/loose.jpg", 9, EPOCH),
        ListedFile("s3://b/images/2026-11-20/Kiwi/a.jpg", 9, EPOCH),
        ListedFile("s3://b/images/Kiwi/2026-11-20/dated-class.jpg", 9, EPOCH),
    ]
    judged = transform.with_verdict(extract_images(spark, listed, 1), "s3://b/images", 100)
    assert rows(judged, "path", "label", "verdict") == [
        ("s3://b/images/2026-11-20/Kiwi/a.jpg", "Kiwi", None),
        ("s3://b/images/2026-11-20/loose.jpg", "2026-11-20", transform.NO_LABEL),
        ("s3://b/images/Kiwi/2026-11-20/dated-class.jpg", "2026-11-20", None),
    ]
