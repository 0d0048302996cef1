"""The pipeline's configuration: environment variables, read in this one place.

Every variable has a documented default (docs/dag.md, .env.example). Nothing here touches the
network or Airflow's metadata database, so the DAG file can read it at parse time.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError

PREFIX = "FRUITS_"
# The CNNs spark_jobs/featurize.py knows; tests check the two lists agree.
CNN_MODELS = ("mobilenet_v2", "resnet50", "vgg16")
SMALLEST_FEATURE_SIZE = 512  # VGG16's: the largest k every model can give


class PipelineConfig(BaseModel):
    """One field per FRUITS_<NAME> variable."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    aws_conn_id: str = Field("aws_default", description="Airflow connection to AWS")
    region: str = Field("eu-west-1", description="AWS region: the photos come from EU users")
    data_bucket: str = Field("fruits-data", description="bucket of images and results")
    images_prefix: str = Field("images/", description="where the photos land, a folder a class")
    features_prefix: str = Field("features/", description="featurize output")
    pca_prefix: str = Field("pca/", description="PCA output: a new version every run")
    pca_keep_versions: int = Field(
        3, ge=1, description="PCA versions kept, the published one included"
    )
    artifacts_uri: str = Field(
        "s3://fruits-data/artifacts/", description="job scripts, bootstrap, requirements, weights"
    )
    logs_uri: str = Field("s3://fruits-data/emr-logs/", description="EMR LogUri")
    weights: str = Field(
        "deployed",
        description="deployed (<artifacts>/weights/<model>.weights.h5), imagenet or random",
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
        3600, ge=60, description="auto-termination: the safety net behind the teardown"
    )
    sensor_timeout_seconds: int = Field(
        6 * 3600, ge=0, description="how long to wait for new images before skipping the run"
    )
    sensor_poke_seconds: int = Field(300, ge=1, description="interval between S3 listings")
    step_poke_seconds: int = Field(60, ge=1, description="interval between EMR step checks")

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
