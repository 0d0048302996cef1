"""Make and upload what the DAG's EMR steps need to an artifacts prefix, on S3 or a local AWS.

    python -m scripts.deploy --artifacts-uri s3://BUCKET/artifacts/
        [--endpoint-url http://127.0.0.1:4566] [--region eu-west-1]
        [--weights imagenet|random|FILE] [--cnn mobilenet_v2 ...]
        [--architecture x86_64 aarch64]

Uploads the job scripts, fruitspark.zip (the shared package, for spark-submit --py-files),
the bootstrap script, each CNN exported to ONNX with the chosen weights (Keras and tf2onnx
run here, never on the cluster), and the nodes' Python packages: one archive per
architecture (scripts.node_env), uploaded only when no archive of that SHA-256 is there yet,
then the manifest that names them. The names come from fruits_contract.artifacts, which the
DAG's request builders use too.
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
from collections.abc import Sequence
from pathlib import Path

import boto3

from fruits_contract.artifacts import (
    ARCHITECTURES,
    BOOTSTRAP_SCRIPT,
    NODE_ENV_MANIFEST,
    PACKAGE,
    PYTHON_VERSION,
    job_script,
    model_file,
    node_env_archive,
)
from fruits_contract.cnns import CNNS
from fruits_contract.jobs import JOBS
from fruitspark.session import write_jobs_package
from scripts.keras_export import Weights, export_onnx
from scripts.node_env import REQUIREMENTS, PackedEnv, packed_env, sha256_of

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
SPARK_JOBS = ROOT / "spark_jobs"


def artifacts(workdir: Path, weights: Weights, cnns: Sequence[str]) -> dict[str, Path]:
    """Artifact name (relative to the artifacts prefix) -> local file."""
    files = {job_script(job): SPARK_JOBS / job.script for job in JOBS.values()}
    files[PACKAGE] = write_jobs_package(workdir / Path(PACKAGE).name)
    files[BOOTSTRAP_SCRIPT] = SPARK_JOBS / "bootstrap" / Path(BOOTSTRAP_SCRIPT).name
    for cnn in cnns:
        files[model_file(cnn)] = export_onnx(cnn, weights)
    return files


def node_env_manifest(envs: Sequence[PackedEnv]) -> dict:
    """What fruit_pipeline.node_env reads: the deployed archive of each architecture."""
    return {
        "python": PYTHON_VERSION,
        "requirements_sha256": sha256_of(REQUIREMENTS),
        "archives": {
            env.architecture: {
                "key": node_env_archive(env.architecture, env.sha256),
                "sha256": env.sha256,
                "bytes": env.bytes,
            }
            for env in envs
        },
    }


def exists(s3, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except s3.exceptions.ClientError as error:
        if error.response["Error"]["Code"] in ("404", "NoSuchKey"):
            return False
        raise
    return True


def deploy_node_envs(s3, bucket: str, prefix: str, architectures: Sequence[str]) -> list[str]:
    """Each architecture's archive, unless one of its SHA-256 is there, then the manifest:
    a cluster never reads a manifest naming an archive not uploaded yet."""
    envs = [packed_env(architecture) for architecture in architectures]
    uploaded = []
    for env in envs:
        key = prefix + node_env_archive(env.architecture, env.sha256)
        if exists(s3, bucket, key):
            log.info(
                "node environment %s: s3://%s/%s is deployed already", env.architecture, bucket, key
            )
            continue
        s3.upload_file(str(env.archive), bucket, key)
        uploaded.append(f"s3://{bucket}/{key}")
    manifest = json.dumps(node_env_manifest(envs), indent=2, sort_keys=True)
    s3.put_object(Bucket=bucket, Key=prefix + NODE_ENV_MANIFEST, Body=manifest.encode())
    return [*uploaded, f"s3://{bucket}/{prefix}{NODE_ENV_MANIFEST}"]


def deploy(
    artifacts_uri: str,
    s3,
    weights: Weights,
    cnns: Sequence[str] = tuple(CNNS),
    architectures: Sequence[str] = ARCHITECTURES,
) -> list[str]:
    bucket, _, prefix = artifacts_uri.removeprefix("s3://").partition("/")
    prefix = f"{prefix.rstrip('/')}/" if prefix else ""
    uploaded = []
    with tempfile.TemporaryDirectory(prefix="fruits-deploy-") as folder:
        for name, path in artifacts(Path(folder), weights, cnns).items():
            s3.upload_file(str(path), bucket, prefix + name)
            uploaded.append(f"s3://{bucket}/{prefix}{name}")
    return uploaded + deploy_node_envs(s3, bucket, prefix, architectures)


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
    parser.add_argument(
        "--architecture",
        nargs="+",
        choices=ARCHITECTURES,
        default=list(ARCHITECTURES),
        help="the nodes' environment archives to build (x86_64 and Graviton's aarch64)",
    )
    args = parser.parse_args()
    if not args.artifacts_uri.startswith("s3://"):
        parser.error("--artifacts-uri must be an s3:// URI")
    if args.weights.file and len(args.cnn) != 1:
        parser.error("a weights file is the weights of one CNN: name it with --cnn")
    s3 = boto3.client("s3", endpoint_url=args.endpoint_url, region_name=args.region)
    for uri in deploy(args.artifacts_uri, s3, args.weights, args.cnn, args.architecture):
        print(f"uploaded {uri}")


if __name__ == "__main__":
    main()
