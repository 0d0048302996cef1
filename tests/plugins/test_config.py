"""Configuration from FRUITS_* variables: defaults, overrides, refusals, and a surface small
enough to read: what a deployer sets, the rest tuning (fruit_pipeline.tuning) or params."""

from __future__ import annotations

import re

import pytest

from fruit_pipeline.config import PipelineConfig, load_config


def test_defaults_need_no_environment():
    config = load_config({})
    assert config.images_uri == "s3://fruits-data/images/"
    assert config.artifact("jobs/x.py") == "s3://fruits-data/artifacts/jobs/x.py"


def test_variables_override_defaults():
    config = load_config({"FRUITS_DATA_BUCKET": "other", "FRUITS_POKE_SECONDS": "5"})
    assert config.features_uri == "s3://other/features/"
    assert config.poke_seconds == 5


def test_a_deployer_sets_at_most_twelve_settings():
    assert len(PipelineConfig.model_fields) <= 12


@pytest.mark.parametrize(
    ("environment", "named"),
    [
        ({"FRUITS_POKE_SECONDS": "zero"}, "FRUITS_POKE_SECONDS"),
        ({"FRUITS_POKE_SECONDS": "0"}, "FRUITS_POKE_SECONDS"),
        ({"FRUITS_BUCKET": "typo"}, "FRUITS_BUCKET"),
        ({"FRUITS_WEIGHTS": "deployed"}, "FRUITS_WEIGHTS"),  # the variable before ONNX: unknown
        # Settings that became tuning or params: refused, not silently ignored.
        ({"FRUITS_EMR_RELEASE": "emr-7.2.0"}, "FRUITS_EMR_RELEASE"),
        ({"FRUITS_CORE_INSTANCE_COUNT": "5"}, "FRUITS_CORE_INSTANCE_COUNT"),
        ({"FRUITS_PCA_PREFIX": "pca/"}, "FRUITS_PCA_PREFIX"),
        ({"FRUITS_REGION": "eu-west-1"}, "FRUITS_REGION"),
        ({"FRUITS_DATA_BUCKET": "Bad_Bucket!"}, "FRUITS_DATA_BUCKET"),
        ({"FRUITS_DATA_BUCKET": "192.168.1.1"}, "FRUITS_DATA_BUCKET"),
        ({"FRUITS_DATA_BUCKET": "fruits..data"}, "FRUITS_DATA_BUCKET"),
        ({"FRUITS_ARTIFACTS_URI": "https://fruits-data/artifacts/"}, "FRUITS_ARTIFACTS_URI"),
        ({"FRUITS_LOGS_URI": "s3://fruits-data/emr-logs"}, "FRUITS_LOGS_URI"),
        # Locations inside one another: one would overwrite another's data.
        (
            {"FRUITS_LOGS_URI": "s3://fruits-data/images/logs/"},
            "FRUITS_LOGS_URI .* and the pipeline's images/ .* overlap",
        ),
        ({"FRUITS_ARTIFACTS_URI": "s3://fruits-data/"}, "FRUITS_ARTIFACTS_URI .* overlap"),
        ({"FRUITS_ARTIFACTS_URI": "s3://fruits-data/pca/code/"}, "pca/ .* overlap"),
        (
            {"FRUITS_LOGS_URI": "s3://fruits-data/artifacts/logs/"},
            "FRUITS_ARTIFACTS_URI .* and FRUITS_LOGS_URI .* overlap",
        ),
        ({"FRUITS_RUN_ALERT_MINUTES": "0"}, "FRUITS_RUN_ALERT_MINUTES"),
        ({"FRUITS_RUN_ALERT_MINUTES": "721"}, "FRUITS_RUN_ALERT_MINUTES"),
    ],
)
def test_bad_or_unknown_variables_are_refused_with_the_setting_named(environment, named):
    with pytest.raises(ValueError, match="invalid FRUITS_") as refused:
        load_config(environment)
    assert re.search(named, str(refused.value))


@pytest.mark.parametrize(
    "environment",
    [
        {"FRUITS_ARTIFACTS_URI": "s3://fruits-code/releases/v2/"},
        {"FRUITS_LOGS_URI": "s3://fruits-logs/"},
        {"FRUITS_DATA_BUCKET": "fruits.data-2026"},
        {
            "FRUITS_ARTIFACTS_URI": "s3://fruits-data/code/",
            "FRUITS_LOGS_URI": "s3://fruits-data/l/",
        },
        {"FRUITS_JOB_FLOW_ROLE": "fruits-emr-instance", "FRUITS_SERVICE_ROLE": "a+b=c,d.e@f_g"},
        {"FRUITS_SENSOR_TIMEOUT_SECONDS": "0", "FRUITS_POKE_SECONDS": "1"},
        {"FRUITS_AWS_CONN_ID": "aws.prod-eu_1", "FRUITS_SECURITY_CONFIGURATION": "fruits-emr"},
        {"FRUITS_SUBNET_ID": "subnet-0123456789abcdef0"},
    ],
)
def test_valid_settings_are_accepted(environment):
    load_config(environment)


def test_a_setting_that_became_tuning_says_where_tuning_is():
    with pytest.raises(ValueError, match="FRUITS_TARGET_FEATURIZE_MINUTES: not a setting") as error:
        load_config({"FRUITS_TARGET_FEATURIZE_MINUTES": "5"})
    assert "fruit_pipeline/tuning.py" in str(error.value)
    assert "FRUITS_POKE_SECONDS" in str(error.value)
