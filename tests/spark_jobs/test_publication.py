"""Versioned outputs and their atomic publication through _LATEST, on the local file system."""

from __future__ import annotations

import json

import pytest

from fruitspark.hadoop_fs import replace_file
from fruitspark.publication import LATEST, latest_manifest, prune_versions, publish, read_latest


def test_replace_file_swaps_the_whole_file_and_leaves_nothing_beside_it(spark, tmp_path):
    target = tmp_path / "_LATEST"
    replace_file(spark, str(target), b'{"version": "v=1"}')
    replace_file(spark, str(target), b'{"version": "v=2"}')
    assert target.read_bytes() == b'{"version": "v=2"}'
    assert sorted(path.name for path in tmp_path.iterdir()) == ["_LATEST"]


def test_readers_follow_latest(spark, tmp_path):
    for version, labels in {"v=1": ["Kiwi"], "v=2": ["Kiwi", "Lemon"]}.items():
        frame = spark.createDataFrame([(label,) for label in labels], "label string")
        frame.write.parquet(str(tmp_path / version))
    publish(spark, str(tmp_path), {"version": "v=1", "rows": 1})
    assert latest_manifest(spark, str(tmp_path)) == {"version": "v=1", "rows": 1}
    assert read_latest(spark, str(tmp_path)).count() == 1
    publish(spark, str(tmp_path), {"version": "v=2", "rows": 2})
    assert sorted(row.label for row in read_latest(spark, str(tmp_path)).collect()) == [
        "Kiwi",
        "Lemon",
    ]


def test_nothing_published_is_a_clear_error(spark, tmp_path):
    assert latest_manifest(spark, str(tmp_path)) is None
    with pytest.raises(FileNotFoundError, match=f"nothing published under .*no {LATEST}"):
        read_latest(spark, str(tmp_path))


def test_pruning_keeps_the_newest_and_never_the_published_version(spark, tmp_path):
    for number in range(1, 6):
        (tmp_path / f"v={number}").mkdir()
    (tmp_path / LATEST).write_text(json.dumps({"version": "v=2"}))
    assert sorted(prune_versions(spark, str(tmp_path), keep=2)) == ["v=1", "v=3"]
    assert sorted(path.name for path in tmp_path.iterdir()) == [LATEST, "v=2", "v=4", "v=5"]
