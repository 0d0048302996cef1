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

from moto.server import ThreadedMotoServer

from localaws import moto_patches, s3_authorization
from localaws.client import client
from localaws.emr_runner import EmrRunner

log = logging.getLogger("localaws")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4566)
    parser.add_argument("--workdir", type=Path, help="where steps stage their data")
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # The server's access log writes each request's line, and a request's line names its key:
    # a photo's, which an erasure must leave in no log (docs/operations.md#privacy).
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    moto_patches.apply()
    s3_authorization.apply()
    server = ThreadedMotoServer(ip_address=args.host, port=args.port, verbose=False)
    server.start()
    endpoint = f"http://{args.host}:{args.port}"
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="localaws-"))
    runner = EmrRunner(client("s3", endpoint), workdir)
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
