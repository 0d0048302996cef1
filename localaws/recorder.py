"""The requests a running local AWS serves, from moto's own recorder (/moto-api/recorder/*):
what a run costs in S3 requests, counted at the server.

    with recorded_requests(endpoint) as served:
        ...  # anything that calls the local AWS, from any process
    print(sum(request.is_list_objects for request in served))
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit
from urllib.request import Request, urlopen

# The query parameters of S3's ListObjects and ListObjectsV2: a bucket GET with no other.
LIST_PARAMETERS = {
    "list-type",
    "prefix",
    "delimiter",
    "continuation-token",
    "start-after",
    "encoding-type",
    "max-keys",
    "fetch-owner",
    "marker",
}


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    target: str | None  # X-Amz-Target: set for EMR's JSON API, not for S3

    @property
    def is_s3(self) -> bool:
        return self.target is None

    @property
    def is_list_objects(self) -> bool:
        bucket = self.path.strip("/")
        return (
            self.is_s3
            and self.method == "GET"
            and bucket != ""
            and "/" not in bucket
            and set(self.query) <= LIST_PARAMETERS
        )


def _call(endpoint: str, action: str) -> bytes:
    with urlopen(Request(f"{endpoint}/moto-api/recorder/{action}", method="POST")) as response:
        return response.read()


def _entries(recording: str) -> Iterator[dict]:
    """The recording's JSON entries. moto's threaded server appends each entry and its
    newline in two writes, so entries served at once can share a line: each is decoded where
    the last one ended, not line by line."""
    decoder, position = json.JSONDecoder(), 0
    while True:
        while position < len(recording) and recording[position].isspace():
            position += 1
        if position == len(recording):
            return
        entry, position = decoder.raw_decode(recording, position)
        yield entry


def _parsed(entry: dict) -> RecordedRequest:
    url = urlsplit(entry["url"])
    headers = {name.lower(): value for name, value in entry["headers"].items()}
    return RecordedRequest(
        entry["method"],
        url.path,
        parse_qs(url.query, keep_blank_values=True),
        headers.get("x-amz-target"),
    )


@contextlib.contextmanager
def recorded_requests(endpoint: str) -> Iterator[list[RecordedRequest]]:
    """The requests the local AWS at endpoint serves inside the block, filled in as it ends."""
    _call(endpoint, "reset-recording")
    _call(endpoint, "start-recording")
    served: list[RecordedRequest] = []
    try:
        yield served
    finally:
        _call(endpoint, "stop-recording")
        recording = _call(endpoint, "download-recording").decode()
        served.extend(_parsed(entry) for entry in _entries(recording))
