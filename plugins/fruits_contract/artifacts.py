"""The artifacts the EMR steps use, named relative to the artifacts prefix: defined once, for
the DAG's request builders and for scripts.deploy, which makes and uploads them."""

from __future__ import annotations

from fruits_contract.jobs import JobSpec

JOBS = "jobs"
PACKAGE = f"{JOBS}/fruitspark.zip"  # spark-submit --py-files
BOOTSTRAP_SCRIPT = "bootstrap/install-python-requirements.sh"
EMR_REQUIREMENTS = "requirements-emr.txt"
MODELS = "models"


def job_script(job: JobSpec) -> str:
    return f"{JOBS}/{job.script}"


def model_file(cnn: str) -> str:
    """The CNN's ONNX file, exported by scripts.deploy."""
    return f"{MODELS}/{cnn}.onnx"
