"""PCA's input checks and report, on plain values: no Spark."""

from __future__ import annotations

import dataclasses

import pytest

from fruitspark.pca.extract import FeatureStats
from fruitspark.pca.load import build_report, manifest
from fruitspark.pca.maths import PcaInputError, check_input

MODEL_ID = "sha256:" + "a" * 64
GOOD = FeatureStats(
    rows=100,
    classes=3,
    smallest=1280,
    feature_size=1280,
    model_ids=1,
    first_model_id=MODEL_ID,
    last_model_id=MODEL_ID,
)


def test_features_pca_can_reduce_pass():
    check_input(GOOD, "mobilenet_v2", "s3://b/features/", k=10)
    check_input(GOOD, "mobilenet_v2", "s3://b/features/", k=None)


@pytest.mark.parametrize(
    ("changes", "k", "message"),
    [
        ({"rows": 0}, None, "no mobilenet_v2 features under s3://b/features/"),
        ({"rows": 1}, None, "PCA needs at least 2 mobilenet_v2 images; there is 1"),
        ({"unrecorded": 7}, None, "7 mobilenet_v2 feature rows under s3://b/features/ do not"),
        (
            {"model_ids": 2, "last_model_id": "sha256:" + "b" * 64},
            None,
            f"come from 2 model files ({MODEL_ID} ... sha256:{'b' * 64})",
        ),
        ({"smallest": 512}, None, "sizes from 512 to 1280: they do not come from one CNN"),
        ({}, 1281, "--k 1281 is larger than the feature size 1280"),
    ],
    ids=["no rows", "one row", "no model id", "two model files", "two sizes", "k too large"],
)
def test_each_input_pca_cannot_reduce_is_refused_naming_why(changes, k, message):
    with pytest.raises(PcaInputError) as refused:
        check_input(dataclasses.replace(GOOD, **changes), "mobilenet_v2", "s3://b/features/", k)
    assert message in str(refused.value)


def test_the_report_and_its_manifest_state_the_fit():
    report = build_report(
        "mobilenet_v2", "s3://b/features/", 0.9, "v=1", GOOD, [0.5, 0.25, 0.125], ["a warning"]
    )
    assert report["k"] == 3
    assert report["cumulative_variance"] == [0.5, 0.75, 0.875]
    assert (report["rows"], report["classes"], report["feature_size"]) == (100, 3, 1280)
    assert (report["model_id"], report["target_variance"]) == (MODEL_ID, 0.9)
    assert report["warnings"] == ["a warning"]
    assert manifest(report) == {
        "version": "v=1",
        "rows": 100,
        "k": 3,
        "variance": 0.875,
        "model": "mobilenet_v2",
        "model_id": MODEL_ID,
        "created_at": report["created_at"],
    }
