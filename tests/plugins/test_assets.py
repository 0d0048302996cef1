"""What the asset events carry, from what the jobs wrote, or say is missing."""

from __future__ import annotations

from fruit_pipeline.assets import features_extra, pca_asset, pca_extra
from fruit_pipeline.config import load_config

SUMMARY_URI = "s3://b/features/_summary/model=vgg16/ingest_date=2026-11-20.json"


def test_the_features_extra_carries_the_runs_counts():
    summary = {"found": 10, "featurized": 9, "rejected": 1, "model": "vgg16"}
    summary |= {"model_id": "sha256:cd", "ingest_date": "2026-11-20", "window": "all files"}
    assert features_extra(summary, SUMMARY_URI) == {
        "ingest_date": "2026-11-20",
        "model": "vgg16",
        "model_id": "sha256:cd",
        "images_featurized": 9,
        "images_rejected": 1,
        "summary": SUMMARY_URI,
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
