"""The EMR nodes' Python packages, packed once per architecture from uv.lock's emr group.

uv installs spark_jobs/requirements-emr.txt (exported from the lock: hashes checked, wheels
only, no dependency resolved) for CPython 3.11 on manylinux x86_64 or aarch64 into a folder,
whatever this machine is. The folder's modules are compiled to bytecode that never goes stale
(unchecked-hash .pyc: the nodes' Python workers do not compile pandas at each start), and the
folder becomes a tar.gz whose bytes depend only on the files: sorted entries, fixed times,
owners and modes, no gzip timestamp. The same lock therefore gives the same archive and
SHA-256, and a deploy that changed nothing uploads nothing (scripts.deploy).

The bootstrap action (spark_jobs/bootstrap/install-python-env.sh) unpacks it into a venv of
the node's python3.11: see docs/deploy.md.
"""

from __future__ import annotations

import compileall
import gzip
import hashlib
import logging
import os
import py_compile
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from fruits_contract.artifacts import PYTHON_VERSION
from scripts.build_lock import build_lock

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "spark_jobs" / "requirements-emr.txt"
# The oldest glibc the wheels may need: Amazon Linux 2023 has 2.34.
PLATFORM = "{architecture}-manylinux_2_28"
# Bumped when the archive's layout changes: part of the cache key.
FORMAT = "site-packages tar.gz, unchecked-hash pyc, no console scripts, v2"
SCRIPTS = ("bin/", "../../bin/")  # how a --target install's RECORD names console scripts
FIXED_MTIME = 315532800  # 1980-01-01, the oldest time a zip can hold: nothing depends on it
CACHE_DIR = Path(
    os.environ.get("FRUITSPARK_NODE_ENV_CACHE", Path.home() / ".cache" / "fruits" / "node-env")
)


@dataclass(frozen=True)
class PackedEnv:
    architecture: str
    archive: Path
    sha256: str
    bytes: int


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def install(architecture: str, requirements: Path, target: Path) -> None:
    """The locked wheels for the nodes' platform, whatever this machine's."""
    uv = Path(sys.executable).with_name("uv")
    command = [str(uv), "pip", "install", "--quiet", "--target", str(target)]
    command += ["--python-platform", PLATFORM.format(architecture=architecture)]
    command += ["--python-version", PYTHON_VERSION, "--no-deps", "--only-binary", ":all:"]
    command += ["--require-hashes", "-r", str(requirements)]
    # compile_bytecode compiles reproducibly; uv's own .pyc (the Makefile asks uv for them
    # in the venv) would hold this machine's paths and times.
    environment = {
        name: value for name, value in os.environ.items() if name != "UV_COMPILE_BYTECODE"
    }
    subprocess.run(command, check=True, env=environment)


def compile_bytecode(folder: Path) -> None:
    """.pyc files whose content depends on the sources only: no timestamp, no build path."""
    compiled = compileall.compile_dir(
        folder,
        quiet=1,
        workers=0,
        stripdir=str(folder),
        prependdir="/",
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
    )
    if not compiled:
        raise RuntimeError(f"compiling {folder} failed: see the lines above")


def entry(path: Path, name: str) -> tarfile.TarInfo:
    """The tar entry of path, with nothing of this machine in it (owner, time, umask)."""
    info = tarfile.TarInfo(name)
    info.mtime = FIXED_MTIME
    if path.is_symlink():
        info.type, info.linkname, info.mode = tarfile.SYMTYPE, os.readlink(path), 0o777
    elif path.is_dir():
        info.type, info.mode = tarfile.DIRTYPE, 0o755
    else:
        info.size = path.stat().st_size
        info.mode = 0o755 if os.access(path, os.X_OK) else 0o644
    return info


def drop_console_scripts(folder: Path) -> None:
    """bin/ and the RECORD lines naming its files: their first line names this machine's
    Python (so do their hashes in RECORD), and no step runs them."""
    shutil.rmtree(folder / "bin", ignore_errors=True)
    for record in folder.glob("*.dist-info/RECORD"):
        lines = record.read_text().splitlines(keepends=True)
        record.write_text("".join(line for line in lines if not line.startswith(SCRIPTS)))


def pack(folder: Path, archive: Path) -> None:
    """folder's content as a reproducible tar.gz."""
    paths = sorted(folder.rglob("*"))
    with (
        archive.open("wb") as raw,
        gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6, mtime=0, filename="") as packed,
        tarfile.open(fileobj=packed, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for path in paths:
            info = entry(path, path.relative_to(folder).as_posix())
            if info.isfile():
                with path.open("rb") as file:
                    tar.addfile(info, file)
            else:
                tar.addfile(info)


def cache_key(architecture: str, requirements: Path) -> str:
    digest = hashlib.sha256(f"{FORMAT}\0{architecture}\0{PYTHON_VERSION}\0".encode())
    digest.update(requirements.read_bytes())
    return digest.hexdigest()[:16]


def build(architecture: str, requirements: Path, archive: Path) -> None:
    log.info("node environment %s: installing and packing the locked wheels", architecture)
    partial = archive.with_suffix(f".{os.getpid()}.partial")
    with tempfile.TemporaryDirectory(prefix=f"fruits-node-env-{architecture}-") as folder:
        install(architecture, requirements, Path(folder))
        drop_console_scripts(Path(folder))
        compile_bytecode(Path(folder))
        pack(Path(folder), partial)
    os.replace(partial, archive)  # a killed build never leaves half a file


def packed_env(
    architecture: str, requirements: Path = REQUIREMENTS, cache_dir: Path = CACHE_DIR
) -> PackedEnv:
    """The archive of the nodes' packages for architecture, built once per lock and cached."""
    archive = cache_dir / f"{architecture}-{cache_key(architecture, requirements)}.tar.gz"
    if not archive.exists():
        with build_lock(archive):
            if not archive.exists():  # else a concurrent process built it while we waited
                build(architecture, requirements, archive)
    log.info("node environment %s: archive %s", architecture, archive)
    return PackedEnv(architecture, archive, sha256_of(archive), archive.stat().st_size)
