"""detect-secrets finds no secret in the tracked files; placeholders stand in for real ones."""

from __future__ import annotations

import secrets
import subprocess

from detect_secrets import SecretsCollection
from detect_secrets.settings import default_settings

from tests.docker.compose import ROOT


def secrets_in(paths: list[str]) -> dict[str, list[str]]:
    collection = SecretsCollection(root=str(ROOT))
    with default_settings():
        for path in paths:
            collection.scan_file(path)
    return {
        path: [found["type"] for found in found_list]
        for path, found_list in collection.json().items()
    }


def tracked_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return [path for path in listed.stdout.split("\0") if path]


def test_no_tracked_file_holds_a_secret():
    files = tracked_files()
    assert "docker-compose.yaml" in files
    assert secrets_in(files) == {}


def test_the_scan_finds_a_leaked_key(tmp_path):
    # Made at run time, so that this file holds no secret of its own.
    name, value = "aws_secret_access_key", secrets.token_urlsafe(30)
    leaked = tmp_path / "settings.py"
    leaked.write_text(f'{name} = "{value}"\n')
    assert secrets_in([str(leaked)]) != {}


def test_env_is_ignored_by_git():
    ignored = subprocess.run(["git", "check-ignore", "--quiet", ".env"], cwd=ROOT, check=False)
    assert ignored.returncode == 0
