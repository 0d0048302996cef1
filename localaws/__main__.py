"""Run the local AWS until interrupted.

    python -m localaws [--host 127.0.0.1] [--port 4566] [--workdir DIR]

S3 and EMR on one endpoint (moto), plus the runner that executes EMR spark-submit steps on
local Spark with this venv. Point clients at it with endpoint_url=http://HOST:PORT and any
credentials.
"""

from __future__ import annotations

import argparse
import logging
import signal
import tempfile
import threading
from pathlib import Path

import boto3
from botocore.config import Config
from moto.server import ThreadedMotoServer

from localaws import moto_patches
from localaws.emr_runner import EmrRunner

log = logging.getLogger("localaws")


def s3_client(endpoint: str):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="localaws",
        aws_secret_access_key="localaws",  # pragma: allowlist secret (any will do)
        config=Config(s3={"addressing_style": "path"}),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4566)
    parser.add_argument("--workdir", type=Path, help="where steps stage their data")
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )

    moto_patches.apply()
    server = ThreadedMotoServer(ip_address=args.host, port=args.port, verbose=False)
    server.start()
    endpoint = f"http://{args.host}:{args.port}"
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="localaws-"))
    runner = EmrRunner(s3_client(endpoint), workdir)
    runner.start()
    log.info("ready on %s (S3 and EMR), steps staged under %s", endpoint, workdir)

    stopped = threading.Event()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signal_number, lambda *_: stopped.set())
    stopped.wait()
    log.info("stopping")
    runner.stop()
    server.stop()


if __name__ == "__main__":
    main()
