"""One build at a time of a cached file, across processes: parallel test workers, or two
deploys on one machine, would each spend minutes building the same file."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def build_lock(target: Path) -> Iterator[None]:
    """Held while target is built; another process waits, then finds it built. The kernel
    releases the lock of a process that dies."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.with_name(f"{target.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield
