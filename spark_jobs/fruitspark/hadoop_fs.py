"""File operations through Hadoop's FileSystem: the same calls for s3:// on EMR and local paths."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession


def hadoop_path(spark: SparkSession, uri: str) -> tuple[Any, Any]:
    """(FileSystem, Path) for a URI, as the JVM objects."""
    path = spark.sparkContext._jvm.org.apache.hadoop.fs.Path(uri)
    return path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), path


def upload_files(spark: SparkSession, local_dir: Path, uri: str) -> None:
    """Copy the files of local_dir into the folder at uri, replacing files of the same name."""
    filesystem, target = hadoop_path(spark, uri)
    filesystem.mkdirs(target)
    for file in sorted(local_dir.iterdir()):
        source = spark.sparkContext._jvm.org.apache.hadoop.fs.Path(file.resolve().as_uri())
        filesystem.copyFromLocalFile(False, True, source, target)


def delete_children(spark: SparkSession, uri: str, keep: str, prefix: str) -> list[str]:
    """Delete the entries of folder uri whose names start with prefix, except `keep`."""
    filesystem, folder = hadoop_path(spark, uri)
    if not filesystem.exists(folder):
        return []
    deleted = []
    for status in filesystem.listStatus(folder):
        name = status.getPath().getName()
        if name.startswith(prefix) and name != keep:
            filesystem.delete(status.getPath(), True)
            deleted.append(name)
    return deleted
