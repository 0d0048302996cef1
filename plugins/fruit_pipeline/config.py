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

PREFIX = "FRUITS_"
# The CNNs spark_jobs/featurize.py knows; tests check the two lists agree.
CNN_MODELS = ("mobilenet_v2", "resnet50", "vgg16")
SMALLEST_FEATURE_SIZE = 512  # VGG16's: the largest k every model can give

# S3's bucket naming rules: 3-63 lower-case letters, digits, dots and hyphens, starting and
# ending with a letter or digit, no two adjacent dots, not shaped like an IP address.
BUCKET = r"(?!\d+\.\d+\.\d+\.\d+$)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]"
S3_FOLDER_URI = rf"^s3://{BUCKET}/(?:[^/]+/)*$"  # s3://bucket/ or s3://bucket/a/b/
KEY_PREFIX = r"^(?:[^/]+/)+$"  # a/ or a/b/: relative, ending with /
REGION = r"^[a-z]{2}(?:-gov)?-[a-z]+-\d$"  # eu-west-1, us-gov-west-1


def _model_file(value: str) -> str:
    if value != "deployed" and not re.match(rf"^s3://{BUCKET}/.+\.onnx$", value):
        raise ValueError("must be deployed or the s3:// URI of an .onnx file")
    return value


KeyPrefix = Annotated[str, Field(pattern=KEY_PREFIX)]


class PipelineConfig(BaseModel):
    """One field per FRUITS_<NAME> variable."""

    # python-re: S3's bucket rules need look-aheads, which pydantic's default engine lacks.
    model_config = ConfigDict(frozen=True, extra="forbid", regex_engine="python-re")

    aws_conn_id: str = Field("aws_default", description="Airflow connection to AWS")
    region: str = Field(
        "eu-west-1", pattern=REGION, description="AWS region: the photos come from EU users"
    )
    data_bucket: str = Field(
        "fruits-data", pattern=f"^{BUCKET}$", description="bucket of images and results"
    )
    images_prefix: KeyPrefix = Field("images/", description="where photos land, a folder a class")
    features_prefix: KeyPrefix = Field("features/", description="featurize output")
    pca_prefix: KeyPrefix = Field("pca/", description="PCA output: a new version every run")
    pca_keep_versions: int = Field(
        3, ge=1, description="PCA versions kept, the published one included"
    )
    artifacts_uri: str = Field(
        "s3://fruits-data/artifacts/",
        pattern=S3_FOLDER_URI,
        description="job scripts, package, bootstrap, requirements, ONNX models",
    )
    logs_uri: str = Field(
        "s3://fruits-data/emr-logs/", pattern=S3_FOLDER_URI, description="EMR LogUri"
    )
    model_file: Annotated[str, AfterValidator(_model_file)] = Field(
        "deployed",
        description="deployed (<artifacts>/models/<model>.onnx, exported by scripts.deploy) "
        "or the s3:// URI of an ONNX file",
    )
    emr_release: str = Field("emr-7.9.0", pattern=r"^emr-7\.\d+\.\d+$")
    job_flow_role: str = Field("EMR_EC2_DefaultRole", description="instance profile")
    service_role: str = Field("EMR_DefaultRole", description="EMR service role")
    security_configuration: str = Field(
        "", description="EMR security configuration (IMDSv2, at-rest encryption); none if empty"
    )
    subnet_id: str = Field("", description="subnet of the clusters; EMR's default if empty")
    primary_instance_type: str = Field("m5.xlarge")
    core_instance_type: str = Field("m5.2xlarge", description="default of the UI param")
    core_instance_count: int = Field(2, ge=1, le=20, description="default of the UI param")
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
            "artifacts_uri": self.artifacts_uri,
            "logs_uri": self.logs_uri,
        }
        for (name, uri), (other, other_uri) in combinations(locations.items(), 2):
            if uri.startswith(other_uri) or other_uri.startswith(uri):
                raise ValueError(f"{name} ({uri}) and {other} ({other_uri}) overlap")
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
    try:
        return PipelineConfig(**values)
    except ValidationError as error:
        raise ValueError(f"invalid FRUITS_* configuration:\n{error}") from error
