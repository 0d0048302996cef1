"""Make and upload what the DAG's EMR steps need to an artifacts prefix, on S3 or a local AWS.

    python -m scripts.deploy --artifacts-uri s3://BUCKET/artifacts/
        [--endpoint-url http://127.0.0.1:4566] [--region eu-west-1]
        [--weights imagenet|random|FILE] [--cnn mobilenet_v2 ...]

Uploads the job scripts, fruitspark.zip (the shared package, for spark-submit --py-files),
the bootstrap script, requirements-emr.txt (exported from uv.lock), and each CNN exported to
ONNX with the chosen weights (Keras and tf2onnx run here, never on the cluster). The names
come from fruits_contract.artifacts, which the DAG's request builders use too.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from collections.abc import Sequence
from pathlib import Path

import boto3

from fruits_contract.artifacts import (
    BOOTSTRAP_SCRIPT,
    EMR_REQUIREMENTS,
    PACKAGE,
    job_script,
    model_file,
)
from fruits_contract.cnns import CNNS
from fruits_contract.jobs import JOBS
from fruitspark.session import write_jobs_package
from scripts.keras_export import Weights, export_onnx

ROOT = Path(__file__).resolve().parent.parent
SPARK_JOBS = ROOT / "spark_jobs"


def artifacts(workdir: Path, weights: Weights, cnns: Sequence[str]) -> dict[str, Path]:
    """Artifact name (relative to the artifacts prefix) -> local file."""
    files = {job_script(job): SPARK_JOBS / job.script for job in JOBS.values()}
    files[PACKAGE] = write_jobs_package(workdir / Path(PACKAGE).name)
    files[BOOTSTRAP_SCRIPT] = SPARK_JOBS / "bootstrap" / Path(BOOTSTRAP_SCRIPT).name
    files[EMR_REQUIREMENTS] = SPARK_JOBS / EMR_REQUIREMENTS
    for cnn in cnns:
        files[model_file(cnn)] = export_onnx(cnn, weights)
    return files


def deploy(
    artifacts_uri: str, s3, weights: Weights, cnns: Sequence[str] = tuple(CNNS)
) -> list[str]:
    bucket, _, prefix = artifacts_uri.removeprefix("s3://").partition("/")
    prefix = f"{prefix.rstrip('/')}/" if prefix else ""
    uploaded = []
    with tempfile.TemporaryDirectory(prefix="fruits-deploy-") as folder:
        for name, path in artifacts(Path(folder), weights, cnns).items():
            s3.upload_file(str(path), bucket, prefix + name)
            uploaded.append(f"s3://{bucket}/{prefix}{name}")
    return uploaded


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--artifacts-uri", required=True, help="s3://bucket/prefix/")
    parser.add_argument("--endpoint-url", help="a local AWS; omit for real S3")
    parser.add_argument("--region", default=None)
    parser.add_argument(
        "--weights",
        type=Weights,
        default=Weights("imagenet"),
        help="imagenet (Keras downloads them here), random (seeded: demos and tests), or a "
        "Keras weights file (then give its one --cnn)",
    )
    parser.add_argument(
        "--cnn", nargs="+", choices=sorted(CNNS), default=sorted(CNNS), help="CNNs to export"
    )
    args = parser.parse_args()
    if not args.artifacts_uri.startswith("s3://"):
        parser.error("--artifacts-uri must be an s3:// URI")
    if args.weights.file and len(args.cnn) != 1:
        parser.error("a weights file is the weights of one CNN: name it with --cnn")
    s3 = boto3.client("s3", endpoint_url=args.endpoint_url, region_name=args.region)
    for uri in deploy(args.artifacts_uri, s3, args.weights, args.cnn):
        print(f"uploaded {uri}")


if __name__ == "__main__":
    main()
