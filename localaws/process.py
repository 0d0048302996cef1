"""The local AWS as a child process (python -m localaws), for the demo, tests and benchmarks."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
READY_TIMEOUT_SECONDS = 60


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LocalAws:
    """Starts python -m localaws on a free port and waits until it serves.

    Its log goes to log_file; on_step_event, if given, receives each line the EMR runner
    logs (a cluster's or step's state change), for a console that follows the run.
    """

    def __init__(self, log_file: Path, on_step_event: Callable[[str], None] | None = None) -> None:
        port = free_port()
        self.endpoint = f"http://127.0.0.1:{port}"
        self.log_file = log_file
        self.on_step_event = on_step_event
        workdir = log_file.parent / "localaws-work"  # each step's staged data, beside the log
        workdir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "localaws", "--port", str(port), "--workdir", str(workdir)],
            cwd=ROOT,
            # moto's recorder (localaws.recorder) writes beside the steps, not in the checkout.
            env={**os.environ, "MOTO_RECORDER_FILEPATH": str(workdir / "moto-recording.jsonl")},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.ready = threading.Event()
        threading.Thread(target=self._follow_log, daemon=True).start()
        if not self.ready.wait(READY_TIMEOUT_SECONDS):
            self.stop()
            raise RuntimeError(f"the local AWS did not start: see {log_file}")

    def _follow_log(self) -> None:
        with self.log_file.open("w") as log:
            for line in self.process.stdout or ():
                log.write(line)
                log.flush()
                if " ready on " in line:
                    self.ready.set()
                if self.on_step_event and "localaws.emr: " in line:
                    self.on_step_event(line.split("localaws.emr: ", 1)[1].strip())

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()

    def __enter__(self) -> LocalAws:
        return self

    def __exit__(self, *_) -> None:
        self.stop()
