"""Erasure requests' validation: plain Python, no Spark, no S3."""

from __future__ import annotations

import json

import pytest

from fruitspark.erase.requests import MAX_IMAGES, parse


def body(value) -> bytes:
    return json.dumps(value).encode()


def test_a_request_gives_its_keys_once_each_in_order():
    keys = ["images/2026-12-01/Kiwi/b.jpg", "images/2026-12-01/Kiwi/a.jpg"]
    assert parse(body({"images": [*keys, keys[0]]}), "images/") == (tuple(sorted(keys)), None)


@pytest.mark.parametrize(
    ("request_body", "reason"),
    [
        (b"{images: [", "body: Invalid JSON"),
        (body(["images/a.jpg"]), "body: Input should be an object"),
        (body({}), "images: Field required"),
        (body({"images": []}), "images: List should have at least 1 item"),
        (body({"images": "images/a.jpg"}), "images: Input should be a valid array"),
        (body({"images": [3]}), "images.0: Input should be a valid string"),
        (body({"images": ["images/a.jpg"], "why": "x"}), "why: Extra inputs are not permitted"),
        (body({"images": ["pca/model=x/part-0.parquet"]}), "images: images[0] is not an object"),
        (body({"images": ["images/a.jpg", "images/"]}), "images: images[1] is not an object"),
        (body({"images": ["images/Kiwi/"]}), "images: images[0] is not an object"),
        (body({"images": ["images/a.jpg"] * (MAX_IMAGES + 1)}), "at most 10000 items"),
    ],
)
def test_a_bad_request_is_refused_whole_with_a_reason_that_names_no_key(request_body, reason):
    keys, refusal = parse(request_body, "images/")
    assert keys == ()
    assert reason in refusal
    for key in ("images/a.jpg", "pca/model=x", "images/Kiwi/"):
        assert key not in refusal
