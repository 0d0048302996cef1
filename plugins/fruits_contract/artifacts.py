"""The artifacts the EMR steps use, named relative to the artifacts prefix: defined once, for
the DAG's request builders and for scripts.deploy, which makes and uploads them."""

from __future__ import annotations

from fruits_contract.jobs import JobSpec

JOBS = "jobs"
PACKAGE = f"{JOBS}/fruitspark.zip"  # spark-submit --py-files
BOOTSTRAP_SCRIPT = "bootstrap/install-python-env.sh"
MODELS = "models"
# The nodes' Python packages (scripts.node_env): one archive per architecture, named by its
# SHA-256, so an archive a cluster may still download is never overwritten; the manifest
# says which archives are the deployed ones.
NODE_ENV = "node-env"
NODE_ENV_MANIFEST = f"{NODE_ENV}/manifest.json"
PYTHON_VERSION = "3.11"  # EMR 7's own is 3.9: the bootstrap installs 3.11 from the OS's repository
ARCHITECTURES = ("x86_64", "aarch64")  # `uname -m` of EMR's x86 and Graviton nodes
# Where the bootstrap makes the archive's venv: what Spark's driver and executors run.
NODE_PYTHON = "/opt/fruits/env/bin/python"


def job_script(job: JobSpec) -> str:
    return f"{JOBS}/{job.script}"


def model_file(cnn: str) -> str:
    """The CNN's ONNX file, exported by scripts.deploy."""
    return f"{MODELS}/{cnn}.onnx"


def node_env_archive(architecture: str, sha256: str) -> str:
    """The archive of the nodes' packages for architecture, named by its content."""
    return f"{NODE_ENV}/{architecture}/{sha256}.tar.gz"
