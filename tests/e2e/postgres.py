"""A throw-away PostgreSQL server from Debian's packages, set up as the compose postgres service."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg2

from localaws.process import free_port


def debian_binaries() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    if not found:
        raise RuntimeError("PostgreSQL is not installed: `make test` installs it (postgresql)")
    return Path(found[-1]).parent


@contextlib.contextmanager
def postgres_server(user: str, password: str, database: str, log: Path) -> Iterator[int]:
    """A server on a free loopback port whose superuser and database are the given ones."""
    binaries = debian_binaries()
    # PostgreSQL refuses to run as root; pytest's own temporary folders are root's only.
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    data = Path(tempfile.mkdtemp(prefix="fruits-postgres-"))
    password_file = data / "password"
    password_file.write_text(password)
    if as_postgres:
        for path in (data, password_file):
            shutil.chown(path, "postgres", "postgres")
    cluster = data / "cluster"
    port = free_port()
    initdb = [
        "-D",
        str(cluster),
        "-U",
        user,
        "--pwfile",
        str(password_file),
        "--auth=scram-sha-256",
    ]
    serve = ["-D", str(cluster), "-p", str(port), "-h", "127.0.0.1", "-k", str(data)]
    server = None
    try:
        with log.open("w") as output:
            subprocess.run(
                [*as_postgres, str(binaries / "initdb"), *initdb],
                stdout=output,
                stderr=subprocess.STDOUT,
                check=True,
            )
            server = subprocess.Popen(
                [*as_postgres, str(binaries / "postgres"), *serve],
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        connection = connect(user, password, port)
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{database}"')
        connection.close()
        yield port
    finally:
        if server:
            server.terminate()
            server.wait(timeout=30)
        shutil.rmtree(data, ignore_errors=True)


def connect(user: str, password: str, port: int, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while True:
        try:
            return psycopg2.connect(
                host="127.0.0.1", port=port, user=user, password=password, dbname="postgres"
            )
        except psycopg2.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
