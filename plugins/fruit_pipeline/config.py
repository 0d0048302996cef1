"""The pipeline's settings: FRUITS_* environment variables, read in this one place.

PipelineConfig is their one definition: .env.example, the compose file and docs/dag.md's
table are checked against it (tests/docker, tests/test_docs.py). Nothing here touches the
network or Airflow's metadata database, so the DAG file can read it at parse time.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from itertools import combinations
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import ErrorDetails

from fruits_contract.layout import (
    COSTS_PREFIX,
    DATA_PREFIXES,
    ERASURE_PREFIX,
    FEATURES_PREFIX,
    IMAGES_PREFIX,
    PCA_PREFIX,
)

PREFIX = "FRUITS_"
# S3's bucket naming rules: 3-63 lower-case letters, digits, dots and hyphens, starting and
# ending with a letter or digit, no two adjacent dots, not shaped like an IP address.
BUCKET = r"(?!\d+\.\d+\.\d+\.\d+$)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]"
# Each pattern must match a whole value (re.fullmatch): "$" alone would let a trailing
# newline through ("fruits-data\n"), and nothing here may carry whitespace.
S3_FOLDER_URI = rf"s3://{BUCKET}/(?:[^/\s]+/)*"  # s3://bucket/ or s3://bucket/a/b/
REGION = r"[a-z]{2}(?:-gov)?-[a-z]+-\d"  # eu-west-1, us-gov-west-1
# IAM's rule for role and instance profile names.
IAM_NAME = r"[\w+=,.@-]{1,64}"
# Airflow's rule for connection ids (airflow.models.connection).
CONNECTION_ID = r"[\w.-]{1,250}"
# EMR's security configuration names (CloudFormation's stack-name-emr among them).
SECURITY_CONFIGURATION = r"[\w.+=,@-]{1,256}"
SUBNET_ID = r"subnet-[0-9a-f]{8,17}"
SNS_TOPIC_ARN = rf"arn:aws[a-z-]*:sns:{REGION}:\d{{12}}:[\w-]{{1,256}}"


def full_match(pattern: str, example: str):
    """A str that re.fullmatch(pattern) accepts; the error names the expected form."""
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(f"{value!r} is not of the form {example}")
        return value

    return AfterValidator(check)


S3FolderUri = Annotated[str, full_match(S3_FOLDER_URI, "s3://bucket/ or s3://bucket/a/b/")]
IamName = Annotated[str, full_match(IAM_NAME, "an IAM name: 1-64 of A-Z a-z 0-9 +=,.@_-")]
OptionalName = Annotated[
    str, full_match(f"(?:{SECURITY_CONFIGURATION})?", "a name: A-Z a-z 0-9 _.+=,@- or empty")
]


class InBucket:
    """A folder of the data bucket (fruits_contract.layout), read as an s3:// URI attribute
    of the configuration: config.images_uri is s3://<FRUITS_DATA_BUCKET>/images/."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def __get__(self, config: PipelineConfig, owner: type | None = None) -> str:
        return f"s3://{config.data_bucket}/{self.prefix}"


class PipelineConfig(BaseModel):
    """One field per FRUITS_<NAME> variable: where the pipeline's data and logs are, who it
    runs as, how it is told of trouble, and how long it waits. Everything else is tuning
    (fruit_pipeline.tuning) or a run's param."""

    model_config = ConfigDict(frozen=True, extra="forbid", ignored_types=(InBucket,))

    aws_conn_id: Annotated[str, full_match(CONNECTION_ID, "an Airflow connection id")] = Field(
        "aws_default", description="Airflow connection to AWS; its region_name is the region"
    )
    data_bucket: Annotated[str, full_match(BUCKET, "an S3 bucket name: fruits-data")] = Field(
        "fruits-data", description="bucket of images, results and erasure requests"
    )
    artifacts_uri: S3FolderUri = Field(
        "s3://fruits-data/artifacts/",
        description="job scripts, package, bootstrap, the nodes' Python environment, ONNX models",
    )
    logs_uri: S3FolderUri = Field("s3://fruits-data/emr-logs/", description="EMR LogUri")
    job_flow_role: IamName = Field("EMR_EC2_DefaultRole", description="instance profile")
    service_role: IamName = Field("EMR_DefaultRole", description="EMR service role")
    security_configuration: OptionalName = Field(
        "", description="EMR security configuration (IMDSv2, at-rest encryption); none if empty"
    )
    subnet_id: Annotated[str, full_match(f"(?:{SUBNET_ID})?", "subnet-0123abcd, or empty")] = Field(
        "", description="subnet of the clusters; EMR's default if empty"
    )
    alerts_topic_arn: Annotated[
        str,
        full_match(f"(?:{SNS_TOPIC_ARN})?", "arn:aws:sns:eu-west-1:123456789012:name, or empty"),
    ] = Field("", description="SNS topic told of every failed run; no alerts if empty")
    run_alert_minutes: float = Field(
        360, gt=0, le=720, description="alert when a run is still running this long after queued"
    )
    sensor_timeout_seconds: int = Field(
        6 * 3600, ge=0, description="how long to wait for new images before skipping the run"
    )
    poke_seconds: int = Field(
        60, ge=1, le=3600, description="between two looks at S3 (new images) or EMR (the steps)"
    )

    @model_validator(mode="after")
    def _locations_do_not_overlap(self) -> PipelineConfig:
        """A location inside another would make one step read or overwrite another's data:
        EMR's logs written among the images, for example."""
        locations = {
            f"{PREFIX}ARTIFACTS_URI": self.artifacts_uri,
            f"{PREFIX}LOGS_URI": self.logs_uri,
            **{
                f"the pipeline's {prefix}": f"s3://{self.data_bucket}/{prefix}"
                for prefix in DATA_PREFIXES
            },
        }
        for (name, uri), (other, other_uri) in combinations(locations.items(), 2):
            if uri.startswith(other_uri) or other_uri.startswith(uri):
                raise ValueError(f"{name} ({uri}) and {other} ({other_uri}) overlap")
        return self

    images_uri = InBucket(IMAGES_PREFIX)
    features_uri = InBucket(FEATURES_PREFIX)
    pca_uri = InBucket(PCA_PREFIX)
    erasure_uri = InBucket(ERASURE_PREFIX)
    costs_uri = InBucket(COSTS_PREFIX)

    def artifact(self, name: str) -> str:
        return f"{self.artifacts_uri.rstrip('/')}/{name}"


def load_config(environ: Mapping[str, str] | None = None) -> PipelineConfig:
    """Read FRUITS_* variables; an unknown FRUITS_ variable or a bad value is an error."""
    environ = os.environ if environ is None else environ
    values = {
        name[len(PREFIX) :].lower(): value
        for name, value in environ.items()
        if name.startswith(PREFIX) and value != ""
    }
    padded = sorted(
        PREFIX + name.upper() for name, value in values.items() if value != value.strip()
    )
    if padded:
        raise ValueError(
            "invalid FRUITS_* configuration:\n"
            + "\n".join(f"  {name}: leading or trailing whitespace" for name in padded)
        )
    try:
        return PipelineConfig.model_validate(values)
    except ValidationError as error:
        problems = "\n".join(
            f"  {_variable(problem)}: {_explained(problem)}" for problem in error.errors()
        )
        raise ValueError(f"invalid FRUITS_* configuration:\n{problems}") from error


def _explained(problem: ErrorDetails) -> str:
    if problem["type"] == "extra_forbidden":  # a typo, or a setting that is now tuning
        return (
            "not a setting (tuning is code: fruit_pipeline/tuning.py; the settings are "
            f"{', '.join(PREFIX + name.upper() for name in PipelineConfig.model_fields)})"
        )
    return problem["msg"].removeprefix("Value error, ")


def _variable(problem: ErrorDetails) -> str:
    """The FRUITS_ variable a validation problem is about; the whole set for a cross-check."""
    if not problem["loc"]:
        return "FRUITS_* settings"
    return PREFIX + str(problem["loc"][0]).upper()
