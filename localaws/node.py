"""A local EMR cluster's node: a sandbox folder where its bootstrap actions run for real.

EMR runs each bootstrap action's script as hadoop on every node, before Spark starts; a
script that exits non-zero ends the cluster TERMINATED_WITH_ERRORS. Here a cluster has one
node, the folder <workdir>/<cluster id>/node, and its scripts run with bash there:

- FRUITS_NODE_ROOT is the folder: the node's /opt, /tmp and /home/hadoop are inside it;
- `sudo` runs its command as this user; `dnf install` succeeds only for what this machine
  already has (python3.11), as the node has no package repository; `aws s3 cp` copies from
  and to this local S3 (localaws.node_commands);
- a script's stdout and stderr go to the cluster's LogUri, where EMR puts them:
  <LogUri>/<cluster id>/node/<instance>/bootstrap-actions/<number>/stdout.gz and stderr.gz.

The steps then run with the Python the cluster's spark-env names, inside the node's folder.
The node's /opt/fruits/envs is shared by every node of this machine (NODE_ENVS): an
environment archive is unpacked once per digest, not once per cluster.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localaws.client import CREDENTIALS, REGION
from localaws.staging import split_uri

INSTANCE = "i-localnode"
NODE_ENVS = Path(
    os.environ.get("LOCALAWS_NODE_ENVS", Path.home() / ".cache" / "fruits" / "localaws-envs")
)
PACKAGE_ROOT = Path(__file__).resolve().parent.parent
SUDO = """#!/bin/bash
# The local node has one user: sudo runs its command as it.
while [[ "${1:-}" == -* ]]; do
    case "$1" in -u|-g) shift 2 ;; *) shift ;; esac
done
exec "$@"
"""


def command_shim(command: str) -> str:
    python, root = shlex.quote(sys.executable), shlex.quote(str(PACKAGE_ROOT))
    return (
        f"#!/bin/bash\nexec env PYTHONPATH={root} {python} -m localaws.node_commands "
        f'{command} "$@"\n'
    )


class BootstrapFailure(Exception):
    """A bootstrap action that did not succeed; the message becomes the cluster's reason."""


@dataclass(frozen=True)
class Node:
    root: Path
    envs: Path = NODE_ENVS  # the unpacked environments, by digest

    def prepare(self) -> None:
        shims = self.root / "usr" / "local" / "bin"
        for folder in (shims, self.root / "tmp", self.root / "home" / "hadoop"):
            folder.mkdir(parents=True, exist_ok=True)
        for name, text in (
            ("sudo", SUDO),
            ("dnf", command_shim("dnf")),
            ("aws", command_shim("aws")),
        ):
            (shims / name).write_text(text)
            (shims / name).chmod(0o755)
        self.envs.mkdir(parents=True, exist_ok=True)
        envs = self.root / "opt" / "fruits" / "envs"
        envs.parent.mkdir(parents=True, exist_ok=True)
        if not envs.is_symlink():
            envs.symlink_to(self.envs, target_is_directory=True)

    def path(self, node_path: str) -> str:
        """A path on the node, as this machine sees it."""
        return str(self.root / node_path.lstrip("/"))

    def environment(self, s3_endpoint: str) -> dict[str, str]:
        shims = self.root / "usr" / "local" / "bin"
        return {
            **os.environ,
            **CREDENTIALS,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ENDPOINT_URL": s3_endpoint,
            "FRUITS_NODE_ROOT": str(self.root),
            "HOME": self.path("/home/hadoop"),
            "TMPDIR": self.path("/tmp"),
            "PATH": f"{shims}{os.pathsep}{os.environ.get('PATH', '')}",
        }


def last_error_line(stderr: Path) -> str:
    lines = [line.strip() for line in stderr.read_text(errors="replace").splitlines()]
    return next((line for line in reversed(lines) if line), "(nothing on stderr)")


@dataclass(frozen=True)
class BootstrapRun:
    """One bootstrap action of a cluster, on its node."""

    node: Node
    number: int
    action: Any  # moto's BootstrapAction
    s3: Any

    @property
    def folder(self) -> Path:
        return self.node.root / "bootstrap-actions" / str(self.number)

    def describe(self) -> str:
        return f"bootstrap action {self.number} ({self.action.name})"

    def fetch_script(self) -> Path:
        bucket, key = split_uri(self.action.script_path)
        script = self.folder / Path(key).name
        self.folder.mkdir(parents=True, exist_ok=True)
        try:
            self.s3.download_file(bucket, key, str(script))
        except self.s3.exceptions.ClientError as error:
            raise BootstrapFailure(
                f"{self.describe()} script {self.action.script_path} does not exist"
            ) from error
        return script

    def start(self) -> subprocess.Popen:
        """The script with bash, its output in the action's folder (stdout, stderr)."""
        script = self.fetch_script()
        with (self.folder / "stdout").open("w") as out, (self.folder / "stderr").open("w") as err:
            return subprocess.Popen(
                ["bash", str(script), *self.action.args],
                cwd=self.node.path("/home/hadoop"),
                env=self.node.environment(self.s3.meta.endpoint_url),
                stdout=out,
                stderr=err,
            )

    def check(self, code: int) -> None:
        if code != 0:
            raise BootstrapFailure(
                f"{self.describe()} returned a non-zero return code ({code}): "
                f"{last_error_line(self.folder / 'stderr')}"
            )

    def log_files(self) -> list[tuple[Path, str]]:
        """(local file, key under the cluster's log folder) of its output, as EMR lays it."""
        where = f"node/{INSTANCE}/bootstrap-actions/{self.number}"
        return [
            (self.folder / name, f"{where}/{name}.gz")
            for name in ("stdout", "stderr")
            if (self.folder / name).exists()
        ]
