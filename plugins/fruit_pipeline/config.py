"""The pipeline's configuration: environment variables, read in this one place.

Every variable has a documented default (docs/dag.md, .env.example). Nothing here touches the
network or Airflow's metadata database, so the DAG file can read it at parse time.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from itertools import combinations
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from fruit_pipeline.prices import INSTANCES

PREFIX = "FRUITS_"
# S3's bucket naming rules: 3-63 lower-case letters, digits, dots and hyphens, starting and
# ending with a letter or digit, no two adjacent dots, not shaped like an IP address.
BUCKET = r"(?!\d+\.\d+\.\d+\.\d+$)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]"
# Each pattern must match a whole value (re.fullmatch): "$" alone would let a trailing
# newline through ("fruits-data\n"), and nothing here may carry whitespace.
S3_FOLDER_URI = rf"s3://{BUCKET}/(?:[^/\s]+/)*"  # s3://bucket/ or s3://bucket/a/b/
KEY_PREFIX = r"(?:[^/\s]+/)+"  # a/ or a/b/: relative, ending with /
REGION = r"[a-z]{2}(?:-gov)?-[a-z]+-\d"  # eu-west-1, us-gov-west-1
MODEL_FILE = rf"deployed|s3://{BUCKET}/\S+\.onnx"
# IAM's rule for role and instance profile names.
IAM_NAME = r"[\w+=,.@-]{1,64}"
MAX_CORE_NODES = 20
# Airflow's rule for connection ids (airflow.models.connection).
CONNECTION_ID = r"[\w.-]{1,250}"
# EMR's security configuration names (CloudFormation's stack-name-emr among them).
SECURITY_CONFIGURATION = r"[\w.+=,@-]{1,256}"
SUBNET_ID = r"subnet-[0-9a-f]{8,17}"
EMR_RELEASE = r"emr-7\.\d+\.\d+"
SNS_TOPIC_ARN = rf"arn:aws[a-z-]*:sns:{REGION}:\d{{12}}:[\w-]{{1,256}}"


def full_match(pattern: str, example: str):
    """A str that re.fullmatch(pattern) accepts; the error names the expected form."""
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(f"{value!r} is not of the form {example}")
        return value

    return AfterValidator(check)


KeyPrefix = Annotated[str, full_match(KEY_PREFIX, "a/ or a/b/ (no leading /, a trailing /)")]
S3FolderUri = Annotated[str, full_match(S3_FOLDER_URI, "s3://bucket/ or s3://bucket/a/b/")]
IamName = Annotated[str, full_match(IAM_NAME, "an IAM name: 1-64 of A-Z a-z 0-9 +=,.@_-")]
PricedInstanceType = Annotated[
    str,
    full_match("|".join(map(re.escape, INSTANCES)), "a priced type: " + ", ".join(INSTANCES)),
]
OptionalName = Annotated[
    str, full_match(f"(?:{SECURITY_CONFIGURATION})?", "a name: A-Z a-z 0-9 _.+=,@- or empty")
]


class PipelineConfig(BaseModel):
    """One field per FRUITS_<NAME> variable."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    aws_conn_id: Annotated[str, full_match(CONNECTION_ID, "an Airflow connection id")] = Field(
        "aws_default", description="Airflow connection to AWS"
    )
    region: Annotated[str, full_match(REGION, "eu-west-1")] = Field(
        "eu-west-1", description="AWS region: the photos come from EU users"
    )
    data_bucket: Annotated[str, full_match(BUCKET, "an S3 bucket name: fruits-data")] = Field(
        "fruits-data", description="bucket of images and results"
    )
    images_prefix: KeyPrefix = Field("images/", description="where photos land, a folder a class")
    features_prefix: KeyPrefix = Field("features/", description="featurize output")
    pca_prefix: KeyPrefix = Field("pca/", description="PCA output: versions, each day appended")
    pca_keep_versions: int = Field(
        3, ge=1, description="PCA versions kept, the published one included"
    )
    pca_drift: float = Field(
        0.005,
        gt=0,
        lt=1,
        description="refit PCA when its components keep this much less of the variance than due",
    )
    pca_refit_days: int = Field(30, ge=1, description="refit PCA at least this often, in days")
    costs_prefix: KeyPrefix = Field(
        "costs/", description="each run's cost record, ingest_date=<date>/<cluster id>.json"
    )
    erasure_prefix: KeyPrefix = Field(
        "erasure/", description="erasure requests (requests/), and their records (done/)"
    )
    artifacts_uri: S3FolderUri = Field(
        "s3://fruits-data/artifacts/",
        description="job scripts, package, bootstrap, requirements, ONNX models",
    )
    logs_uri: S3FolderUri = Field("s3://fruits-data/emr-logs/", description="EMR LogUri")
    model_file: Annotated[
        str, full_match(MODEL_FILE, "deployed, or the s3:// URI of an .onnx file")
    ] = Field(
        "deployed",
        description="deployed (<artifacts>/models/<model>.onnx, exported by scripts.deploy) "
        "or the s3:// URI of an ONNX file",
    )
    emr_release: Annotated[str, full_match(EMR_RELEASE, "emr-7.x.y")] = Field("emr-7.9.0")
    job_flow_role: IamName = Field("EMR_EC2_DefaultRole", description="instance profile")
    service_role: IamName = Field("EMR_DefaultRole", description="EMR service role")
    security_configuration: OptionalName = Field(
        "", description="EMR security configuration (IMDSv2, at-rest encryption); none if empty"
    )
    subnet_id: Annotated[str, full_match(f"(?:{SUBNET_ID})?", "subnet-0123abcd, or empty")] = Field(
        "", description="subnet of the clusters; EMR's default if empty"
    )
    primary_instance_type: PricedInstanceType = Field("m5.xlarge")
    core_instance_type: PricedInstanceType = Field(
        "m5.2xlarge", description="core nodes' type when the UI param leaves it automatic"
    )
    core_instance_count: int | None = Field(
        None,
        ge=0,
        le=MAX_CORE_NODES,
        description="default of the UI param: core nodes (0: a single node); automatic if unset",
    )
    target_featurize_minutes: float = Field(
        20, gt=0, le=720, description="automatic sizing: the work should take at most this"
    )
    max_core_nodes: int = Field(
        10, ge=1, le=MAX_CORE_NODES, description="automatic sizing: at most this many core nodes"
    )
    spot_timeout_minutes: int = Field(
        20, ge=5, le=1440, description="spot: switch to on-demand after waiting this long"
    )
    idle_timeout_seconds: int = Field(
        3600,
        ge=60,
        le=7 * 24 * 3600,  # EMR's range
        description="auto-termination: the safety net behind the teardown",
    )
    sensor_timeout_seconds: int = Field(
        6 * 3600, ge=0, description="how long to wait for new images before skipping the run"
    )
    sensor_poke_seconds: int = Field(300, ge=1, description="interval between S3 listings")
    step_poke_seconds: int = Field(60, ge=1, description="interval between EMR step checks")
    alerts_topic_arn: Annotated[
        str,
        full_match(f"(?:{SNS_TOPIC_ARN})?", "arn:aws:sns:eu-west-1:123456789012:name, or empty"),
    ] = Field("", description="SNS topic told of every failed run; no alerts if empty")
    run_alert_minutes: float = Field(
        360, gt=0, le=720, description="alert when a run is still running this long after queued"
    )
    aws_retry_delay_seconds: int = Field(
        30, ge=1, le=600, description="first retry of a failed EMR call; doubles, up to 10 min"
    )

    @model_validator(mode="after")
    def _locations_do_not_overlap(self) -> PipelineConfig:
        """A prefix inside another would make one step read or overwrite another's data:
        PCA rows written into the features, for example."""
        locations = {
            "images_prefix": self.images_uri,
            "features_prefix": self.features_uri,
            "pca_prefix": self.pca_uri,
            "erasure_prefix": self.erasure_uri,
            "costs_prefix": self.costs_uri,
            "artifacts_uri": self.artifacts_uri,
            "logs_uri": self.logs_uri,
        }
        for (name, uri), (other, other_uri) in combinations(locations.items(), 2):
            if uri.startswith(other_uri) or other_uri.startswith(uri):
                raise ValueError(
                    f"{PREFIX}{name.upper()} ({uri}) and {PREFIX}{other.upper()} ({other_uri}) "
                    "overlap"
                )
        return self

    @property
    def images_uri(self) -> str:
        return f"s3://{self.data_bucket}/{self.images_prefix}"

    @property
    def features_uri(self) -> str:
        return f"s3://{self.data_bucket}/{self.features_prefix}"

    @property
    def pca_uri(self) -> str:
        return f"s3://{self.data_bucket}/{self.pca_prefix}"

    @property
    def erasure_uri(self) -> str:
        return f"s3://{self.data_bucket}/{self.erasure_prefix}"

    @property
    def costs_uri(self) -> str:
        return f"s3://{self.data_bucket}/{self.costs_prefix}"

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
        return PipelineConfig(**values)
    except ValidationError as error:
        problems = "\n".join(
            f"  {_variable(problem)}: {problem['msg'].removeprefix('Value error, ')}"
            for problem in error.errors()
        )
        raise ValueError(f"invalid FRUITS_* configuration:\n{problems}") from error


def _variable(problem: dict) -> str:
    """The FRUITS_ variable a validation problem is about; the whole set for a cross-check."""
    if not problem["loc"]:
        return "FRUITS_* settings"
    return PREFIX + str(problem["loc"][0]).upper()
