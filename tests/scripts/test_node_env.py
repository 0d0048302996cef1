"""scripts.node_env and the deploy of its archives: the same lock gives the same bytes, and a
deploy that changed nothing uploads nothing but the manifest."""

from __future__ import annotations

import json
import re
import sys
import tarfile

import pytest

from fruits_contract.artifacts import NODE_ENV_MANIFEST
from scripts.deploy import deploy_node_envs
from scripts.node_env import FIXED_MTIME, REQUIREMENTS, packed_env
from tests.moto_buckets import versioned_bucket


def pins(tmp_path, *names: str):
    """The lock's pins of names, with their hashes: a small environment that builds in a
    second."""
    text = REQUIREMENTS.read_text()
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(
        "".join(re.search(rf"^{name}==.*?(?=^\S)", text, re.M | re.S)[0] for name in names)
    )
    return requirements


@pytest.fixture
def six_only(tmp_path):
    return pins(tmp_path, "six")


def test_the_same_lock_packs_the_same_archive(six_only, tmp_path):
    first = packed_env("x86_64", six_only, tmp_path / "first")
    again = packed_env("x86_64", six_only, tmp_path / "again")
    assert first.archive != again.archive
    assert first.sha256 == again.sha256
    assert first.bytes == again.bytes


def test_the_archive_holds_the_packages_with_bytecode_that_never_goes_stale(six_only, tmp_path):
    with tarfile.open(packed_env("aarch64", six_only, tmp_path).archive) as archive:
        members = {member.name: member for member in archive.getmembers()}
        pyc = archive.extractfile(members["__pycache__/six.cpython-311.pyc"]).read()
    assert "six.py" in members
    assert not any(name.startswith("bin") for name in members), "console scripts are left out"
    assert {(member.mtime, member.uid, member.gid) for member in members.values()} == {
        (FIXED_MTIME, 0, 0)
    }
    # PEP 552: flags 0b01, hash-based and unchecked: valid whatever the files' times.
    assert int.from_bytes(pyc[4:8], "little") == 0b01


def test_nothing_in_the_archive_names_the_python_that_built_it(tmp_path):
    """jmespath has a console script: uv writes this machine's interpreter into it, and its
    hash into RECORD. Neither may reach the archive, or its digest depends on the machine."""
    requirements = pins(tmp_path, "jmespath")
    with tarfile.open(packed_env("x86_64", requirements, tmp_path / "cache").archive) as archive:
        files = {m.name: archive.extractfile(m).read() for m in archive.getmembers() if m.isfile()}
    assert "jmespath/__init__.py" in files
    record = files["jmespath-1.1.0.dist-info/RECORD"].decode()
    assert "bin/" not in record
    assert not [name for name, body in files.items() if sys.executable.encode() in body]


@pytest.mark.slow
def test_a_deploy_that_changed_nothing_uploads_only_the_manifest():
    with versioned_bucket("acme") as s3:
        first = deploy_node_envs(s3, "acme", "artifacts/", ["x86_64", "aarch64"])
        again = deploy_node_envs(s3, "acme", "artifacts/", ["x86_64", "aarch64"])
        manifest = json.loads(
            s3.get_object(Bucket="acme", Key=f"artifacts/{NODE_ENV_MANIFEST}")["Body"].read()
        )
    assert len(first) == 3
    assert again == [f"s3://acme/artifacts/{NODE_ENV_MANIFEST}"]
    for architecture, archive in manifest["archives"].items():
        assert f"s3://acme/artifacts/{archive['key']}" in first
        assert archive["key"] == f"node-env/{architecture}/{archive['sha256']}.tar.gz"
