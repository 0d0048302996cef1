"""The jobs' transforms and small pure functions, on tiny in-memory DataFrames."""

from __future__ import annotations

import featurize
import pca
import pytest

IMAGE_SCHEMA = "path string, length long"
FEATURE_SCHEMA = (
    "path string, label string, features array<float>, model string, ingest_date string"
)


def rows(frame, *columns: str) -> list[tuple]:
    """The frame's rows as sorted tuples of `columns` (all of them by default)."""
    selected = frame.select(*(columns or frame.columns))
    return sorted(tuple(row) for row in selected.collect())


def test_the_label_is_the_parent_folder_in_unicode_nfc(spark):
    composed, decomposed = "Cl\u00e9mentine", "Cle\u0301mentine"  # as phones and macOS write it
    images = spark.createDataFrame(
        [
            ("s3://fruits/images/Apple Braeburn/0_100.jpg", 1),
            ("file:/data/Train/Pépino doux/UPPER.JPG", 1),
            ("s3://fruits/images/Training/Kiwi/r_12_100.png", 1),
            (f"s3://fruits/images/{composed}/phone.jpg", 1),
            (f"s3://fruits/images/{decomposed}/mac.jpg", 1),
        ],
        IMAGE_SCHEMA,
    )
    assert rows(featurize.with_label(images), "label") == [
        ("Apple Braeburn",),
        (composed,),
        (composed,),
        ("Kiwi",),
        ("Pépino doux",),
    ]


def test_images_directly_under_the_input_have_no_label(spark):
    images = spark.createDataFrame(
        [("s3://b/images/loose.jpg", 1), ("s3://b/images/Kiwi/1.jpg", 1), ("s3://b/x/2.jpg", 1)],
        IMAGE_SCHEMA,
    )
    assert rows(featurize.unlabelled(images, "s3://b/images")) == [
        (
            "s3://b/images/loose.jpg",
            None,
            "no_label: the image is not in a class folder under the input",
        )
    ]


def test_only_files_over_the_limit_are_rejected_as_too_large(spark):
    images = spark.createDataFrame(
        [("a/Kiwi/small.jpg", 100, "Kiwi"), ("a/Kiwi/big.jpg", 101, "Kiwi")],
        "path string, length long, label string",
    )
    assert rows(featurize.oversized(images, max_bytes=100)) == [
        ("a/Kiwi/big.jpg", "Kiwi", "too_large: 101 bytes is over the 100 byte limit")
    ]


def test_listed_files_that_no_scan_returned_are_empty_or_vanished(spark, tmp_path):
    read, too_large, empty = (tmp_path / "Kiwi" / name for name in ("a.jpg", "b.jpg", "c.jpg"))
    read.parent.mkdir()
    for path, data in ((read, b"x"), (too_large, b"xx"), (empty, b"")):
        path.write_bytes(data)
    listed = [f"file:{path}" for path in (read, too_large, empty)]
    listed.append(f"file:{tmp_path}/Cle\u0301mentine/d.jpg")  # deleted since it was listed
    featurized = spark.createDataFrame([(listed[0],)], "path string")
    oversized = spark.createDataFrame([(listed[1],)], "path string")
    assert rows(featurize.unscanned_files(spark, listed, featurized, oversized)) == [
        (listed[3], "Cl\u00e9mentine", "vanished: the file was deleted after it was listed"),
        (listed[2], "Kiwi", "empty: the file has no bytes"),
    ]
    everything = spark.createDataFrame([(path,) for path in listed], "path string")
    assert rows(featurize.unscanned_files(spark, listed, everything)) == []


@pytest.mark.parametrize(
    ("images", "cores", "plan"),
    [
        (1, 2, (1, 1)),  # never more partitions than images
        (10, 2, (4, 3)),  # two waves a core
        (2_500, 2, (4, 625)),
        (20_000, 2, (20, 1_000)),  # the cap on a partition decides
        (20_001, 2, (21, 953)),
        (5_000, 64, (125, 40)),  # a big cluster: about two waves a core
    ],
)
def test_partition_plan(images, cores, plan):
    partitions, per_partition = featurize.partition_plan(images, cores)
    assert (partitions, per_partition) == plan
    assert per_partition <= featurize.IMAGES_PER_PARTITION
    assert (partitions - 1) * per_partition < images <= partitions * per_partition


def test_binary_file_reads_follow_the_partition_plan(spark, tmp_path):
    for number in range(10):
        (tmp_path / f"{number}.jpg").write_bytes(b"x" * (1000 + number))
    expected = featurize.size_partitions(spark, 10)
    read = spark.read.format("binaryFile").load(str(tmp_path))
    assert read.rdd.getNumPartitions() == expected == 4


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
    assert pca.choose_k(explained, target) == k


def test_latest_features_keep_one_row_per_image_from_its_latest_date(spark):
    features = spark.createDataFrame(
        [
            ("s3://b/Kiwi/1.jpg", "Kiwi", [0.0, 0.0], "mobilenet_v2", "2026-11-19"),
            ("s3://b/Kiwi/1.jpg", "Kiwi", [1.0, 1.0], "mobilenet_v2", "2026-11-20"),
            ("s3://b/Kiwi/2.jpg", "Kiwi", [2.0, 2.0], "mobilenet_v2", "2026-11-19"),
            ("s3://b/Kiwi/1.jpg", "Kiwi", [9.0, 9.0], "vgg16", "2026-11-21"),
        ],
        FEATURE_SCHEMA,
    )
    latest = pca.latest_features(features, "mobilenet_v2")
    assert latest.columns == ["path", "label", "features"]
    assert [(path, vector.toArray().tolist()) for path, _, vector in rows(latest)] == [
        ("s3://b/Kiwi/1.jpg", [1.0, 1.0]),
        ("s3://b/Kiwi/2.jpg", [2.0, 2.0]),
    ]
