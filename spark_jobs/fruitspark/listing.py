"""List and read the input's files with Arrow's file systems (pyarrow.fs), not Hadoop's.

Spark's file sources never list a file or folder whose name starts with "_" or "." (such as
Nikon's _DSC0001.JPG), and Hadoop's Path cannot hold a local name with a colon. Listing on
the driver and reading in the Python workers sees every name, as S3 and the disk hold it.

Paths are recorded as Spark writes them: s3://bucket/key, and file:/absolute/path locally.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from pyarrow import fs as arrow_fs

log = logging.getLogger(__name__)
LOCAL = "file:"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class ListedFile:
    path: str
    length: int | None  # None when the file cannot be stat'ed (error says why)
    modified: datetime
    error: str | None = None


def root_of(uri: str) -> str:
    """The input folder as its files' paths start: file:/data/in, s3://bucket/images."""
    parts = urlsplit(uri)
    if parts.scheme in ("", "file"):
        return LOCAL + os.path.abspath(parts.path).rstrip("/")
    return f"{parts.scheme}://{parts.netloc}{parts.path}".rstrip("/")


def list_files(uri: str) -> Iterator[ListedFile]:
    """Every file under uri, recursively, whatever its name. A missing local folder raises
    FileNotFoundError; on S3 a prefix without objects simply has no files."""
    root = root_of(uri)
    if root.startswith(LOCAL):
        yield from _list_local(root.removeprefix(LOCAL))
        return
    filesystem = filesystem_of(root)
    selector = arrow_fs.FileSelector(_arrow_path(root), recursive=True, allow_not_found=True)
    scheme = urlsplit(root).scheme
    for info in filesystem.get_file_info(selector):
        if info.type == arrow_fs.FileType.File:
            yield ListedFile(f"{scheme}://{info.path}", info.size, info.mtime)


def _list_local(folder: str) -> Iterator[ListedFile]:
    """os.walk does not follow symlinked folders, so a link loop cannot list files forever; a
    symlinked file is listed, and one that leads nowhere carries its error."""
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"input folder not found: {folder}")

    def fail(error: OSError) -> None:
        raise error

    for parent, folders, names in os.walk(folder, onerror=fail):
        for name in folders:
            if os.path.islink(os.path.join(parent, name)):
                log.warning("not followed: %s is a symlinked folder", os.path.join(parent, name))
        for name in names:
            path = os.path.join(parent, name)
            try:
                status = os.stat(path)
            except OSError as error:
                try:  # a broken or looping symlink: the link itself has a time
                    link = os.lstat(path)
                except FileNotFoundError:
                    continue  # deleted while the folder was being listed
                yield ListedFile(LOCAL + path, None, _moment(link.st_mtime_ns), error.strerror)
                continue
            yield ListedFile(LOCAL + path, status.st_size, _moment(status.st_mtime_ns))


def _moment(nanoseconds: int) -> datetime:
    """A file time to the microsecond, without a float's rounding at the window's edges."""
    return EPOCH + timedelta(microseconds=nanoseconds // 1000)


@functools.cache
def filesystem_of(root: str) -> arrow_fs.FileSystem:
    """One file system per bucket and process: S3 clients are costly to create."""
    parts = urlsplit(root)
    if parts.scheme in ("", "file"):
        return arrow_fs.LocalFileSystem()
    return arrow_fs.FileSystem.from_uri(f"{parts.scheme}://{parts.netloc}")[0]


def _arrow_path(path: str) -> str:
    """A recorded path as its file system names it: /data/x locally, bucket/key on S3.
    Split by hand, not parsed as a URI: names may hold "#", "?", "%" or spaces."""
    if path.startswith(LOCAL):
        return path.removeprefix(LOCAL)
    return path.split("://", 1)[1]


def read_file(path: str) -> bytes:
    """The bytes of a recorded path; FileNotFoundError when it no longer exists."""
    store = LOCAL if path.startswith(LOCAL) else "/".join(path.split("/", 3)[:3])  # s3://bucket
    with filesystem_of(store).open_input_stream(_arrow_path(path)) as stream:
        return stream.read()
