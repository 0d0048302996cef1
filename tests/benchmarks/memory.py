"""Peak memory of PySpark's Python workers, read from /proc while they are alive."""

from __future__ import annotations

import threading
from pathlib import Path


def python_worker_peak_mb() -> float:
    """Peak resident memory (VmHWM) of the largest PySpark Python worker alive now."""
    peaks = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            cmdline = (status.parent / "cmdline").read_bytes()
            if b"pyspark.daemon" in cmdline or b"pyspark/daemon" in cmdline:
                fields = dict(line.split(":", 1) for line in status.read_text().splitlines())
                peaks.append(int(fields["VmHWM"].split()[0]) / 1024)
        except (OSError, KeyError, ValueError):
            continue
    return max(peaks, default=float("nan"))


class WorkerMemoryWatch(threading.Thread):
    """Samples python_worker_peak_mb() every second, for workers that end before the watcher
    is read (those of a spark-submit step, for example)."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak_mb = 0.0
        self._stopped = threading.Event()

    def run(self) -> None:
        while not self._stopped.wait(1.0):
            sampled = python_worker_peak_mb()
            if sampled == sampled:  # not NaN: some worker was alive
                self.peak_mb = max(self.peak_mb, sampled)

    def stop(self) -> float:
        self._stopped.set()
        self.join()
        return self.peak_mb
