"""Upload what the DAG's EMR steps need to an artifacts prefix, on real S3 or a local AWS.

    python -m scripts.deploy --artifacts-uri s3://BUCKET/artifacts/
        [--endpoint-url http://127.0.0.1:4566] [--region eu-west-1] [--weights FILE --model NAME]

Uploads jobs/featurize.py, jobs/pca.py, jobs/fruitspark.zip (the shared package, for
spark-submit --py-files), the bootstrap script, requirements-emr.txt (exported from uv.lock)
and, optionally, a Keras weights file as weights/<model>.weights.h5. The names come from
plugins/fruit_pipeline/emr_requests.py, the module that builds the requests using them.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "plugins"))

from fruit_pipeline.emr_requests import (  # noqa: E402
    BOOTSTRAP_SCRIPT,
    EMR_REQUIREMENTS,
    JOBS,
)

SPARK_JOBS = ROOT / "spark_jobs"


def artifacts(workdir: Path, weights: Path | None, model: str) -> dict[str, Path]:
    """Artifact name (relative to the artifacts prefix) -> local file."""
    package = shutil.make_archive(str(workdir / "fruitspark"), "zip", SPARK_JOBS, "fruitspark")
    files = {
        f"{JOBS}/featurize.py": SPARK_JOBS / "featurize.py",
        f"{JOBS}/pca.py": SPARK_JOBS / "pca.py",
        f"{JOBS}/fruitspark.zip": Path(package),
        BOOTSTRAP_SCRIPT: SPARK_JOBS / "bootstrap" / Path(BOOTSTRAP_SCRIPT).name,
        EMR_REQUIREMENTS: SPARK_JOBS / EMR_REQUIREMENTS,
    }
    if weights:
        files[f"weights/{model}.weights.h5"] = weights
    return files


def deploy(artifacts_uri: str, s3, weights: Path | None = None, model: str = "mobilenet_v2"):
    bucket, _, prefix = artifacts_uri.removeprefix("s3://").partition("/")
    prefix = f"{prefix.rstrip('/')}/" if prefix else ""
    uploaded = []
    with tempfile.TemporaryDirectory(prefix="fruits-deploy-") as folder:
        for name, path in artifacts(Path(folder), weights, model).items():
            s3.upload_file(str(path), bucket, prefix + name)
            uploaded.append(f"s3://{bucket}/{prefix}{name}")
    return uploaded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--artifacts-uri", required=True, help="s3://bucket/prefix/")
    parser.add_argument("--endpoint-url", help="a local AWS; omit for real S3")
    parser.add_argument("--region", default=None)
    parser.add_argument("--weights", type=Path, help="a Keras weights file to deploy")
    parser.add_argument("--model", default="mobilenet_v2", help="the CNN the weights are for")
    args = parser.parse_args()
    if not args.artifacts_uri.startswith("s3://"):
        parser.error("--artifacts-uri must be an s3:// URI")
    s3 = boto3.client("s3", endpoint_url=args.endpoint_url, region_name=args.region)
    for uri in deploy(args.artifacts_uri, s3, args.weights, args.model):
        print(f"uploaded {uri}")


if __name__ == "__main__":
    main()
