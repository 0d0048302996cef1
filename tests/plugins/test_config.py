"""Configuration from FRUITS_* variables: defaults, overrides, refusals."""

from __future__ import annotations

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
    "environment",
    [
        {"FRUITS_CORE_INSTANCE_COUNT": "zero"},
        {"FRUITS_EMR_RELEASE": "emr-6.15.0"},
        {"FRUITS_BUCKET": "typo"},
    ],
)
def test_bad_or_unknown_variables_are_refused(environment):
    with pytest.raises(ValueError, match="invalid FRUITS_"):
        load_config(environment)


def test_the_dag_offers_the_models_the_job_knows():
    assert set(CNN_MODELS) == set(CNNS)
    assert min(spec.feature_size for spec in CNNS.values()) == SMALLEST_FEATURE_SIZE
