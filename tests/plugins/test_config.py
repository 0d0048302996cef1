"""Configuration from FRUITS_* variables: defaults, overrides, refusals."""

from __future__ import annotations

import re

import pytest

from fruit_pipeline.config import CNN_MODELS, SMALLEST_FEATURE_SIZE, load_config
from fruitspark.models import CNNS


def test_defaults_need_no_environment():
    config = load_config({})
    assert config.region.startswith("eu-")
    assert config.images_uri == "s3://fruits-data/images/"
    assert config.artifact("jobs/featurize.py") == "s3://fruits-data/artifacts/jobs/featurize.py"


def test_variables_override_defaults():
    config = load_config({"FRUITS_DATA_BUCKET": "other", "FRUITS_CORE_INSTANCE_COUNT": "5"})
    assert config.features_uri == "s3://other/features/"
    assert config.core_instance_count == 5


@pytest.mark.parametrize(
    ("environment", "named"),
    [
        ({"FRUITS_CORE_INSTANCE_COUNT": "zero"}, "core_instance_count"),
        ({"FRUITS_EMR_RELEASE": "emr-6.15.0"}, "emr_release"),
        ({"FRUITS_BUCKET": "typo"}, "bucket"),
        ({"FRUITS_MODEL_FILE": "bogus"}, "model_file"),
        ({"FRUITS_IDLE_TIMEOUT_SECONDS": "59"}, "idle_timeout_seconds"),  # EMR's range
        ({"FRUITS_IDLE_TIMEOUT_SECONDS": "604801"}, "idle_timeout_seconds"),
        ({"FRUITS_MODEL_FILE": "https://example.com/m.onnx"}, "model_file"),
        ({"FRUITS_MODEL_FILE": "random"}, "model_file"),  # clusters run ONNX only
        ({"FRUITS_WEIGHTS": "deployed"}, "weights"),  # the variable before ONNX: unknown
        ({"FRUITS_DATA_BUCKET": "Bad_Bucket!"}, "data_bucket"),
        ({"FRUITS_DATA_BUCKET": "192.168.1.1"}, "data_bucket"),
        ({"FRUITS_DATA_BUCKET": "fruits..data"}, "data_bucket"),
        ({"FRUITS_ARTIFACTS_URI": "https://fruits-data/artifacts/"}, "artifacts_uri"),
        ({"FRUITS_LOGS_URI": "s3://fruits-data/emr-logs"}, "logs_uri"),
        ({"FRUITS_REGION": "mars-1"}, "region"),
        ({"FRUITS_PCA_PREFIX": "pca"}, "pca_prefix"),
        ({"FRUITS_IMAGES_PREFIX": "/images/"}, "images_prefix"),
        # Prefixes inside one another: one step would overwrite another's data.
        ({"FRUITS_PCA_PREFIX": "features/"}, "features_prefix .* and pca_prefix .* overlap"),
        ({"FRUITS_PCA_PREFIX": "features/pca/"}, "features_prefix .* and pca_prefix"),
        ({"FRUITS_IMAGES_PREFIX": "data/", "FRUITS_FEATURES_PREFIX": "data/f/"}, "overlap"),
        ({"FRUITS_LOGS_URI": "s3://fruits-data/images/logs/"}, "images_prefix .* logs_uri"),
        ({"FRUITS_ARTIFACTS_URI": "s3://fruits-data/"}, "overlap"),
    ],
)
def test_bad_or_unknown_variables_are_refused_with_the_setting_named(environment, named):
    with pytest.raises(ValueError, match="invalid FRUITS_") as refused:
        load_config(environment)
    assert re.search(named, str(refused.value))


@pytest.mark.parametrize(
    "environment",
    [
        {"FRUITS_MODEL_FILE": "s3://models-bucket/models/mobilenet_v2.onnx"},
        {"FRUITS_ARTIFACTS_URI": "s3://fruits-code/releases/v2/"},
        {"FRUITS_LOGS_URI": "s3://fruits-logs/"},
        {"FRUITS_REGION": "us-gov-west-1"},
        {"FRUITS_DATA_BUCKET": "fruits.data-2026"},
        {"FRUITS_IMAGES_PREFIX": "uploads/phones/", "FRUITS_FEATURES_PREFIX": "uploads/derived/"},
    ],
)
def test_valid_settings_are_accepted(environment):
    load_config(environment)


def test_the_dag_offers_the_models_the_job_knows():
    assert set(CNN_MODELS) == set(CNNS)
    assert min(spec.feature_size for spec in CNNS.values()) == SMALLEST_FEATURE_SIZE
