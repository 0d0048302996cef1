"""Where a job reads and writes: refuse, before anything runs, an output that would destroy
its input."""

from __future__ import annotations

import os
import re
from urllib.parse import urlsplit

GLOB_CHARACTERS = re.compile(r"([{}\[\]*?\\])")


def normalized(uri: str) -> str:
    """scheme://authority/path, without a trailing slash; a bare path is an absolute file URI,
    so that /data/x, file:/data/x and file:///data/x/ compare equal."""
    parts = urlsplit(uri)
    if parts.scheme in ("", "file"):
        return "file://" + os.path.abspath(parts.path or "/").rstrip("/")
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder + "/")


def overlap_error(input_uri: str, output_uri: str) -> str | None:
    """Why output_uri cannot be written without touching input_uri; None when it can."""
    source, target = normalized(input_uri), normalized(output_uri)
    if source == target:
        return f"--output {output_uri} is the input: it would be replaced"
    if inside(target, source):
        return f"--output {output_uri} is inside the input {input_uri}"
    if inside(source, target):
        return f"--output {output_uri} contains the input {input_uri}: it would be replaced"
    return None


def literal(uri: str) -> str:
    """uri with Hadoop's glob characters escaped: a folder named "Fruits [2024]" is read as
    that folder, not as a pattern matching "Fruits 2" or "Fruits 0"."""
    return GLOB_CHARACTERS.sub(r"\\\1", uri)


def enclosing_folders(uri: str) -> list[str]:
    """uri and every folder above it, nearest first: s3://b/x/y, s3://b/x, s3://b."""
    folders = [normalized(uri)]
    while urlsplit(folders[-1]).path not in ("", "/"):
        folders.append(folders[-1].rsplit("/", 1)[0])
    return folders
