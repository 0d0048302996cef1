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
import stat
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from pyarrow import fs as arrow_fs

from fruits_contract.landing import is_day_folder

log = logging.getLogger(__name__)
LOCAL = "file:"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EMPTY_FOLDER = "keys under it have an empty path segment (//): they cannot be listed or read"


@dataclass(frozen=True)
class ListedFile:
    path: str
    length: int | None  # None when the file cannot be stat'ed (error says why)
    modified: datetime
    error: str | None = None
    folder: bool = False  # a class folder that cannot be listed: one rejection for it all


class ChangedFile(OSError):
    """The file no longer has the size it was listed with: it is being rewritten."""


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
    symlinked file is listed, and one that leads nowhere carries its error. A folder below
    the input that cannot be listed is one entry with its error; the input itself, an error.
    FIFOs, devices and sockets carry an error too: opening a FIFO would wait forever."""
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"input folder not found: {folder}")
    os.listdir(folder)  # PermissionError for the input itself: the job's own error
    unlisted: list[ListedFile] = []

    def keep(error: OSError) -> None:
        path = error.filename or folder
        log.warning("cannot list %s: %s", path, error.strerror)
        unlisted.append(
            ListedFile(
                LOCAL + path, None, EPOCH, f"the folder cannot be listed: {error.strerror}", True
            )
        )

    for parent, folders, names in os.walk(folder, onerror=keep):
        for name in folders:
            if os.path.islink(os.path.join(parent, name)):
                log.warning("not followed: %s is a symlinked folder", os.path.join(parent, name))
        for name in names:
            yield from _local_file(os.path.join(parent, name))
    yield from unlisted


def _local_file(path: str) -> Iterator[ListedFile]:
    """The file at path, with its error if it has one; nothing if it is gone."""
    try:
        status = os.stat(path)
    except OSError as error:
        try:  # a broken or looping symlink: the link itself has a time
            link = os.lstat(path)
        except FileNotFoundError:
            return  # deleted while the folder was being listed
        yield ListedFile(LOCAL + path, None, _moment(link.st_mtime_ns), error.strerror)
        return
    if not stat.S_ISREG(status.st_mode):
        special = "not a regular file (a FIFO, device or socket): never opened"
        yield ListedFile(LOCAL + path, None, _moment(status.st_mtime_ns), special)
        return
    yield ListedFile(LOCAL + path, status.st_size, _moment(status.st_mtime_ns))


def list_landing(uri: str, days: Collection[str] | Callable[[str], bool]) -> Iterator[ListedFile]:
    """The files a run may take under uri (fruits_contract.landing): those under the day
    folders `days` (or those `days` accepts), under any folder outside the dated layout, and
    directly under uri; never those under other days' folders, which are not even listed."""
    wanted = days if callable(days) else set(days).__contains__
    root = root_of(uri)
    outside = 0
    for name, listed in _children(root):
        if listed is not None:
            yield listed
        elif not is_day_folder(name):
            outside += 1
            yield from list_files(f"{root}/{name}")
        elif wanted(name):
            yield from list_files(f"{root}/{name}")
    if outside:
        log.warning(
            "%d folder(s) under %s are outside the dated layout (<YYYY-MM-DD>/<label>/): "
            "listed in full at every run; upload new images under their day's folder",
            outside,
            root,
        )


def _children(root: str) -> Iterator[tuple[str, ListedFile | None]]:
    """(name, None) for each folder directly under root, (name, its file) for each file."""
    if root.startswith(LOCAL):
        folder = root.removeprefix(LOCAL)
        if not os.path.isdir(folder):
            raise FileNotFoundError(f"input folder not found: {folder}")
        for entry in sorted(os.scandir(folder), key=lambda entry: entry.name):
            if entry.is_dir(follow_symlinks=False):
                yield entry.name, None
            else:
                yield from ((entry.name, file) for file in _local_file(entry.path))
        return
    scheme = urlsplit(root).scheme
    selector = arrow_fs.FileSelector(_arrow_path(root), recursive=False, allow_not_found=True)
    for info in filesystem_of(root).get_file_info(selector):
        if info.type == arrow_fs.FileType.Directory and info.path == _arrow_path(root):
            # Arrow names the prefix "images//" (a string join's empty part) as the root
            # itself, and cannot list it alone: one rejection stands for what it holds.
            yield "", ListedFile(f"{root}//", None, EPOCH, EMPTY_FOLDER, folder=True)
        elif info.type == arrow_fs.FileType.Directory:
            yield info.base_name, None
        elif info.type == arrow_fs.FileType.File:
            yield info.base_name, ListedFile(f"{scheme}://{info.path}", info.size, info.mtime)


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


def read_file(path: str, length: int | None = None, max_bytes: int | None = None) -> bytes:
    """The bytes of a recorded path: FileNotFoundError when it no longer exists, IsADirectoryError
    for an S3 key that ends with "/" (Arrow lists it as a file without its slash, and cannot
    read it), ChangedFile when it no longer has the listed `length`. Never more than
    max_bytes + 1 bytes are read, whatever the file has grown to since it was listed."""
    filesystem = filesystem_of(_store(path))
    try:
        stream = filesystem.open_input_stream(_arrow_path(path))
    except FileNotFoundError:
        if filesystem.get_file_info(_arrow_path(path)).type == arrow_fs.FileType.Directory:
            raise IsADirectoryError(f"{path}/ is an S3 key ending with /") from None
        raise
    with stream:
        data = stream.read() if max_bytes is None else stream.read(max_bytes + 1)
    if length is not None and len(data) != length and (max_bytes is None or len(data) <= max_bytes):
        raise ChangedFile(
            f"listed with {length:,} bytes, read {len(data):,}: it is being rewritten"
        )
    return data


def _store(path: str) -> str:
    return LOCAL if path.startswith(LOCAL) else "/".join(path.split("/", 3)[:3])  # s3://bucket
