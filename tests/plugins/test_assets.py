"""What the asset events carry, from what the jobs wrote, or say is missing."""

from __future__ import annotations

import pytest

from fruit_pipeline.assets import (
    FEATURES_ASSET_NAME,
    PCA_ASSET_NAME,
    features_extra,
    is_news,
    pca_asset,
    pca_extra,
)
from fruit_pipeline.config import load_config

SUMMARY_URI = "s3://b/features/_summary/model=vgg16/ingest_date=2026-11-20.json"


def test_the_features_extra_carries_the_runs_counts():
    summary = {"found": 10, "featurized": 9, "rejected": 1, "model": "vgg16"}
    summary |= {"model_id": "sha256:cd", "ingest_date": "2026-11-20", "window": "all files"}
    summary |= {"created_at": "2026-11-21T00:03:00+00:00"}
    assert features_extra(summary, SUMMARY_URI) == {
        "ingest_date": "2026-11-20",
        "model": "vgg16",
        "model_id": "sha256:cd",
        "images_featurized": 9,
        "images_rejected": 1,
        "summary": SUMMARY_URI,
        "summary_created_at": "2026-11-21T00:03:00+00:00",
    }


def test_the_pca_extra_names_the_published_version_folder():
    manifest = {"version": "v=1", "rows": 5, "k": 2, "variance": 0.97, "model": "vgg16"}
    manifest |= {"model_id": "sha256:cd", "created_at": "2026-11-21T00:00:00+00:00"}
    extra = pca_extra(manifest, "s3://b/pca/model=vgg16/")
    assert extra["version_uri"] == "s3://b/pca/model=vgg16/v=1/"
    assert (extra["k"], extra["variance"], extra["rows"]) == (2, 0.97, 5)
    assert extra["refit"] is None, "a manifest written before daily appends says nothing of them"


def test_the_pca_extra_says_whether_the_run_refitted_and_why():
    manifest = {"version": "v=1", "rows": 5, "k": 2, "variance": 0.97, "model": "vgg16"}
    manifest |= {"model_id": "sha256:cd", "refit": True, "refit_reason": "k would change"}
    manifest |= {"kept_variance": 0.93, "drift": 0.04, "updated_at": "2026-11-22T00:00:00"}
    extra = pca_extra(manifest, "s3://b/pca/model=vgg16/")
    assert (extra["refit"], extra["refit_reason"]) == (True, "k would change")
    assert (extra["kept_variance"], extra["drift"]) == (0.93, 0.04)


def test_an_output_not_found_is_named_under_missing():
    assert features_extra(None, SUMMARY_URI)["summary"] == SUMMARY_URI
    assert "missing" in features_extra(None, SUMMARY_URI)
    assert "_LATEST" in pca_extra(None, "s3://b/pca/model=vgg16/")["missing"]


def test_the_pca_asset_names_the_bucket_and_prefix():
    config = load_config({"FRUITS_DATA_BUCKET": "fruits-prod"})
    assert pca_asset(config).uri == "s3://fruits-prod/pca"


def test_a_skipped_pca_says_why_in_its_extra():
    skipped = {"reason": "no features under s3://b/features/", "skipped_at": "2026-11-21"}
    extra = pca_extra(None, "s3://b/pca/model=vgg16/", skipped)
    assert extra == {"root": "s3://b/pca/model=vgg16/", "skipped": skipped["reason"]}
    assert "missing" not in extra


def test_the_features_extra_carries_each_landing_folders_accounting():
    landing = {"2026-11-19": {"listed": 3, "taken": 3, "featurized": 2, "rejected": 1}}
    summary = {"found": 3, "featurized": 2, "rejected": 1, "model": "vgg16"}
    summary |= {"model_id": "sha256:cd", "ingest_date": "2026-11-20", "landing": landing}
    assert features_extra(summary, SUMMARY_URI)["landing"] == landing


FEATURED = {"images_featurized": 2, "images_rejected": 0, "summary_created_at": "t1"}
NOTHING = {"images_featurized": 0, "images_rejected": 0, "summary_created_at": "t2"}
ERASED = {**NOTHING, "erasure": {"requests": 1, "feature_rows": 3}}
MANIFEST = {"version": "v=1", "rows": 5, "k": 2, "variance": 0.97, "model": "vgg16"}
MANIFEST |= {"model_id": "sha256:cd", "segments": {"2026-11-20": {"fingerprint": "f1"}}}
APPENDED = {**MANIFEST, "segments": {**MANIFEST["segments"], "2026-11-21": {"fingerprint": "f2"}}}
ROOT = "s3://b/pca/model=vgg16/"


@pytest.mark.parametrize(
    ("extra", "last", "news"),
    [
        (FEATURED, None, True),
        (FEATURED, FEATURED, False),  # publish_outputs cleared: the same summary again
        (FEATURED, NOTHING, True),
        (NOTHING, FEATURED, False),  # a rerun that took nothing
        (ERASED, FEATURED, True),  # rows an erasure removed, or a request it completed
        ({"missing": "no summary"}, FEATURED, True),
    ],
)
def test_the_features_are_news_when_a_summary_not_announced_yet_counts_something(extra, last, news):
    assert is_news(FEATURES_ASSET_NAME, extra, last) is news


def test_pca_is_news_when_what_it_publishes_or_why_it_publishes_none_changed():
    published, appended = pca_extra(MANIFEST, ROOT), pca_extra(APPENDED, ROOT)
    rewritten = pca_extra({**MANIFEST, "updated_at": "later"}, ROOT)
    skipped = pca_extra(None, ROOT, {"reason": "no features"})
    assert is_news(PCA_ASSET_NAME, published, None)
    assert not is_news(PCA_ASSET_NAME, rewritten, published), "the same version and days"
    assert is_news(PCA_ASSET_NAME, appended, published), "a day appended"
    assert is_news(PCA_ASSET_NAME, pca_extra({**MANIFEST, "version": "v=2"}, ROOT), published)
    assert is_news(PCA_ASSET_NAME, skipped, None), "a fresh deployment says why"
    assert not is_news(PCA_ASSET_NAME, skipped, skipped)
