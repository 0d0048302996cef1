"""The artifacts the EMR steps use, named relative to the artifacts prefix: defined once, for
the DAG's request builders and for scripts.deploy, which makes and uploads them.

Standard library only: scripts.deploy imports it as plugins.fruit_pipeline.artifacts.
"""

from __future__ import annotations

JOBS = "jobs"
JOB_SCRIPTS = ("featurize", "pca")
PACKAGE = f"{JOBS}/fruitspark.zip"  # spark-submit --py-files
BOOTSTRAP_SCRIPT = "bootstrap/install-python-requirements.sh"
EMR_REQUIREMENTS = "requirements-emr.txt"
MODELS = "models"


def job_script(name: str) -> str:
    return f"{JOBS}/{name}.py"


def model_file(cnn: str) -> str:
    """The CNN's ONNX file, exported by scripts.deploy."""
    return f"{MODELS}/{cnn}.onnx"
