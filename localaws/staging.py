"""Stage the s3:// URIs of a step's arguments into a work folder, and sync them back after.

Local Spark has no S3 connector, so whatever a job reads or writes through Hadoop is staged.

A URI naming an object is downloaded as a file; any other URI is a prefix, downloaded whole,
and synced back after the step like `aws s3 sync --delete`: new and changed files are
uploaded, files the step deleted are deleted. Files keep their S3 LastModified as
modification time, so Spark's time-windowed listings behave as they do on EMR.
"""

from __future__ import annotations

import os
import re
from collections.abc import Set as AbstractSet
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

S3_URI = re.compile(r"s3://[^\s,]+")
# Hadoop's local checksums: EMRFS writes none, and S3 should not get them either.
LOCAL_ONLY = re.compile(r"(^|/)\.[^/]*\.crc$")
DOWNLOAD_THREADS = 8


def file_uri(path: Path) -> str:
    """Not Path.as_uri(): Hadoop reads URIs unescaped, and "model=x" must not become "%3D"."""
    return f"file://{path}"


def split_uri(uri: str) -> tuple[str, str]:
    bucket, _, key = uri[len("s3://") :].partition("/")
    return bucket, key


@dataclass
class StagedPrefix:
    bucket: str
    prefix: str
    folder: Path
    manifest: dict[str, tuple[int, int]] = field(default_factory=dict)  # key -> (size, mtime)


class Stager:
    """One step's staging area under `root`, talking to S3 through a standard boto3 client."""

    def __init__(self, s3: Any, root: Path) -> None:
        self.s3 = s3
        self.root = root
        self.prefixes: list[StagedPrefix] = []

    def local_path(self, bucket: str, key: str) -> Path:
        return self.root / bucket / key

    def stage_arguments(
        self, arguments: list[str], unstaged: AbstractSet[int] = frozenset()
    ) -> list[str]:
        """The arguments with every s3:// URI replaced by a file:// URI of its staged copy,
        except in the arguments at the `unstaged` positions, which are kept as they are."""
        staged: dict[str, str] = {}
        for position, argument in enumerate(arguments):
            for uri in S3_URI.findall(argument) if position not in unstaged else ():
                if uri not in staged:
                    staged[uri] = self.stage(uri)
        return [
            argument
            if position in unstaged
            else S3_URI.sub(lambda match: staged[match.group(0)], argument)
            for position, argument in enumerate(arguments)
        ]

    def stage(self, uri: str) -> str:
        bucket, key = split_uri(uri)
        if key and not key.endswith("/") and self._object_exists(bucket, key):
            path = self.local_path(bucket, key)
            self._download(bucket, key, path)
            return file_uri(path)
        prefix = key if key.endswith("/") or not key else f"{key}/"
        folder = self.local_path(bucket, prefix)
        folder.mkdir(parents=True, exist_ok=True)
        staged = StagedPrefix(bucket, prefix, folder)

        def download(key: str) -> None:
            path = self.local_path(bucket, key)
            self._download(bucket, key, path)
            stat = path.stat()
            staged.manifest[key] = (stat.st_size, stat.st_mtime_ns)

        # One GET at a time would take minutes for a prefix of 20,000 images.
        with ThreadPoolExecutor(max_workers=DOWNLOAD_THREADS) as pool:
            # A key ending in / is a folder marker (the S3 console's "Create folder"): EMRFS
            # reads it as a folder, and so does a staged copy.
            keys = [item["Key"] for item in self._list(bucket, prefix)]
            list(pool.map(download, [key for key in keys if not key.endswith("/")]))
        self.prefixes.append(staged)
        return file_uri(folder) + ("/" if uri.endswith("/") else "")

    def sync_back(self) -> dict[str, int]:
        """Upload new and changed files of every staged prefix, delete what the step deleted.

        Files go up in the order the step wrote them, deletions last, so that a marker a job
        writes once its output is complete (PCA's _LATEST) reaches S3 after that output.
        """
        counts = {"uploaded": 0, "deleted": 0}
        for staged in self.prefixes:
            present = set()
            written = (path for path in staged.folder.rglob("*") if path.is_file())
            for path in sorted(written, key=lambda path: path.stat().st_mtime_ns):
                relative = path.relative_to(self.root / staged.bucket).as_posix()
                if LOCAL_ONLY.search(relative):
                    continue
                present.add(relative)
                stat = path.stat()
                if staged.manifest.get(relative) != (stat.st_size, stat.st_mtime_ns):
                    self.s3.upload_file(str(path), staged.bucket, relative)
                    counts["uploaded"] += 1
            for key in staged.manifest.keys() - present:
                self.s3.delete_object(Bucket=staged.bucket, Key=key)
                counts["deleted"] += 1
        return counts

    def _object_exists(self, bucket: str, key: str) -> bool:
        try:
            self.s3.head_object(Bucket=bucket, Key=key)
        except self.s3.exceptions.ClientError as error:
            if error.response["Error"]["Code"] in ("404", "NoSuchKey"):
                return False
            raise
        return True

    def _list(self, bucket: str, prefix: str):
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            yield from page.get("Contents", [])

    def _download(self, bucket: str, key: str, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        response = self.s3.get_object(Bucket=bucket, Key=key)
        path.write_bytes(response["Body"].read())
        modified = response["LastModified"].timestamp()
        os.utime(path, (modified, modified))
