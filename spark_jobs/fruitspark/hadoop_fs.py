"""File operations through Hadoop's FileSystem: the same calls for s3:// on EMR and local paths."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession


def jvm(spark: SparkSession) -> Any:
    """The session's view of its JVM (py4j): Hadoop's and Spark ML's classes by name."""
    view = spark.sparkContext._jvm
    if view is None:
        raise RuntimeError("this SparkSession has no JVM gateway")
    return view


def hadoop_path(spark: SparkSession, uri: str) -> tuple[Any, Any]:
    """(FileSystem, Path) for a URI, as the JVM objects."""
    path = jvm(spark).org.apache.hadoop.fs.Path(uri)
    return path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), path


def exists(spark: SparkSession, uri: str) -> bool:
    filesystem, path = hadoop_path(spark, uri)
    return filesystem.exists(path)


def upload_files(spark: SparkSession, local_dir: Path, uri: str) -> None:
    """Copy the files of local_dir into the folder at uri, replacing files of the same name."""
    filesystem, target = hadoop_path(spark, uri)
    filesystem.mkdirs(target)
    for file in sorted(local_dir.iterdir()):
        source = jvm(spark).org.apache.hadoop.fs.Path(file.resolve().as_uri())
        filesystem.copyFromLocalFile(False, True, source, target)


def list_children(spark: SparkSession, uri: str) -> list[str]:
    """Names of the entries of folder uri; none when it does not exist."""
    filesystem, folder = hadoop_path(spark, uri)
    if not filesystem.exists(folder):
        return []
    return [status.getPath().getName() for status in filesystem.listStatus(folder)]


def delete_children(spark: SparkSession, uri: str, names: list[str]) -> list[str]:
    """Delete the named entries of folder uri, recursively; returns the names deleted."""
    filesystem, folder = hadoop_path(spark, uri)
    deleted = []
    for name in names:
        if filesystem.delete(jvm(spark).org.apache.hadoop.fs.Path(folder, name), True):
            deleted.append(name)
    return deleted


def replace_file(spark: SparkSession, uri: str, data: bytes) -> None:
    """Write data to uri so that a reader sees the old file or the new one, never a part.

    An object store (s3:// on EMR) makes an object visible whole when its upload completes.
    A local file system gets a hidden sibling renamed over the target (rename(2) replaces
    atomically), through the raw file system: a Hadoop .crc beside it would go stale.
    """
    filesystem, target = hadoop_path(spark, uri)
    if filesystem.getScheme() == "file":
        raw = filesystem.getRaw()
        jvm_path = jvm(spark).org.apache.hadoop.fs.Path
        temporary = jvm_path(target.getParent(), f".{target.getName()}.tmp")
        _write(raw, temporary, data)
        if not raw.rename(temporary, target):
            raise OSError(f"could not rename {temporary} to {target}")
    else:
        _write(filesystem, target, data)


def _write(filesystem: Any, path: Any, data: bytes) -> None:
    stream = filesystem.create(path, True)
    try:
        stream.write(bytearray(data))
    finally:
        stream.close()


def content_bytes(spark: SparkSession, uri: str) -> int:
    """Bytes of every file under uri; 0 when it does not exist."""
    filesystem, path = hadoop_path(spark, uri)
    if not filesystem.exists(path):
        return 0
    return filesystem.getContentSummary(path).getLength()


def read_bytes(spark: SparkSession, uri: str) -> bytes:
    filesystem, path = hadoop_path(spark, uri)
    stream = filesystem.open(path)
    try:
        return bytes(jvm(spark).org.apache.commons.io.IOUtils.toByteArray(stream))
    finally:
        stream.close()


def read_text(spark: SparkSession, uri: str) -> str | None:
    """A small file's text; None when it does not exist. Spark's own readers skip files whose
    names start with _ or ., such as _LATEST."""
    filesystem, path = hadoop_path(spark, uri)
    if not filesystem.exists(path):
        return None
    stream = filesystem.open(path)
    try:
        return jvm(spark).org.apache.commons.io.IOUtils.toString(stream, "UTF-8")
    finally:
        stream.close()
