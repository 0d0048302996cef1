"""Configuration from FRUITS_* variables: defaults, overrides, refusals."""

from __future__ import annotations

import re

import pytest

from fruit_pipeline.config import load_config


def test_defaults_need_no_environment():
    config = load_config({})
    assert config.region.startswith("eu-")
    assert config.images_uri == "s3://fruits-data/images/"
    assert config.artifact("jobs/x.py") == "s3://fruits-data/artifacts/jobs/x.py"


def test_variables_override_defaults():
    config = load_config({"FRUITS_DATA_BUCKET": "other", "FRUITS_CORE_INSTANCE_COUNT": "5"})
    assert config.features_uri == "s3://other/features/"
    assert config.core_instance_count == 5


@pytest.mark.parametrize(
    ("environment", "named"),
    [
        ({"FRUITS_CORE_INSTANCE_COUNT": "zero"}, "FRUITS_CORE_INSTANCE_COUNT"),
        ({"FRUITS_EMR_RELEASE": "emr-6.15.0"}, "FRUITS_EMR_RELEASE"),
        ({"FRUITS_BUCKET": "typo"}, "FRUITS_BUCKET"),
        ({"FRUITS_MODEL_FILE": "bogus"}, "FRUITS_MODEL_FILE"),
        ({"FRUITS_IDLE_TIMEOUT_SECONDS": "59"}, "FRUITS_IDLE_TIMEOUT_SECONDS"),  # EMR's range
        ({"FRUITS_IDLE_TIMEOUT_SECONDS": "604801"}, "FRUITS_IDLE_TIMEOUT_SECONDS"),
        ({"FRUITS_MODEL_FILE": "https://example.com/m.onnx"}, "FRUITS_MODEL_FILE"),
        ({"FRUITS_MODEL_FILE": "random"}, "FRUITS_MODEL_FILE"),  # clusters run ONNX only
        ({"FRUITS_WEIGHTS": "deployed"}, "FRUITS_WEIGHTS"),  # the variable before ONNX: unknown
        ({"FRUITS_DATA_BUCKET": "Bad_Bucket!"}, "FRUITS_DATA_BUCKET"),
        ({"FRUITS_DATA_BUCKET": "192.168.1.1"}, "FRUITS_DATA_BUCKET"),
        ({"FRUITS_DATA_BUCKET": "fruits..data"}, "FRUITS_DATA_BUCKET"),
        ({"FRUITS_ARTIFACTS_URI": "https://fruits-data/artifacts/"}, "FRUITS_ARTIFACTS_URI"),
        ({"FRUITS_LOGS_URI": "s3://fruits-data/emr-logs"}, "FRUITS_LOGS_URI"),
        ({"FRUITS_REGION": "mars-1"}, "FRUITS_REGION"),
        ({"FRUITS_PCA_PREFIX": "pca"}, "FRUITS_PCA_PREFIX"),
        ({"FRUITS_IMAGES_PREFIX": "/images/"}, "FRUITS_IMAGES_PREFIX"),
        # Prefixes inside one another: one step would overwrite another's data.
        (
            {"FRUITS_PCA_PREFIX": "features/"},
            "FRUITS_FEATURES_PREFIX .* and FRUITS_PCA_PREFIX .* overlap",
        ),
        ({"FRUITS_PCA_PREFIX": "features/pca/"}, "FRUITS_FEATURES_PREFIX .* and FRUITS_PCA_PREFIX"),
        ({"FRUITS_IMAGES_PREFIX": "data/", "FRUITS_FEATURES_PREFIX": "data/f/"}, "overlap"),
        (
            {"FRUITS_LOGS_URI": "s3://fruits-data/images/logs/"},
            "FRUITS_IMAGES_PREFIX .* FRUITS_LOGS_URI",
        ),
        ({"FRUITS_ARTIFACTS_URI": "s3://fruits-data/"}, "overlap"),
        ({"FRUITS_COSTS_PREFIX": "pca/costs/"}, "FRUITS_PCA_PREFIX .* FRUITS_COSTS_PREFIX"),
        # Sizing and spot: a type without a price cannot be sized; EMR's spot timeout range.
        ({"FRUITS_CORE_INSTANCE_TYPE": "c5.4xlarge"}, "FRUITS_CORE_INSTANCE_TYPE: .*priced"),
        ({"FRUITS_CORE_INSTANCE_COUNT": "21"}, "FRUITS_CORE_INSTANCE_COUNT"),
        ({"FRUITS_MAX_CORE_NODES": "0"}, "FRUITS_MAX_CORE_NODES"),
        ({"FRUITS_TARGET_FEATURIZE_MINUTES": "0"}, "FRUITS_TARGET_FEATURIZE_MINUTES"),
        ({"FRUITS_SPOT_TIMEOUT_MINUTES": "4"}, "FRUITS_SPOT_TIMEOUT_MINUTES"),
        ({"FRUITS_SPOT_TIMEOUT_MINUTES": "1441"}, "FRUITS_SPOT_TIMEOUT_MINUTES"),
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
        {"FRUITS_JOB_FLOW_ROLE": "fruits-emr-instance", "FRUITS_SERVICE_ROLE": "a+b=c,d.e@f_g"},
        {
            "FRUITS_CORE_INSTANCE_TYPE": "m7g.4xlarge",
            "FRUITS_PRIMARY_INSTANCE_TYPE": "m6i.xlarge",
        },
        {"FRUITS_AWS_CONN_ID": "aws.prod-eu_1", "FRUITS_SECURITY_CONFIGURATION": "fruits-emr"},
        {"FRUITS_SUBNET_ID": "subnet-0123456789abcdef0"},
    ],
)
def test_valid_settings_are_accepted(environment):
    load_config(environment)
