"""The local node's `aws` and `dnf`: what a bootstrap script may ask, and the failures of the
real commands for the rest (the end-to-end bootstrap is tests/localaws/test_node_bootstrap.py)."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from localaws.client import REGION
from localaws.node_commands import aws, dnf


@pytest.fixture
def s3(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        client = boto3.client("s3")
        client.create_bucket(
            Bucket="node", CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        yield client


def test_s3_cp_copies_both_ways(s3, tmp_path):
    upload = tmp_path / "up.txt"
    upload.write_text("fruit")
    assert aws(["s3", "cp", "--only-show-errors", str(upload), "s3://node/a/up.txt"]) == 0
    assert aws(["s3", "cp", "--quiet", "s3://node/a/up.txt", str(tmp_path / "down.txt")]) == 0
    assert (tmp_path / "down.txt").read_text() == "fruit"


def test_s3_cp_downloads_a_large_object_in_one_get(s3, tmp_path, monkeypatch):
    """moto reads a whole object for each ranged GET: the archive comes in one GET."""
    body = bytes(range(256)) * (40 * 2**12)  # 40 MiB: five of the transfer's default parts
    s3.put_object(Bucket="node", Key="env.tar.gz", Body=body)
    gets = []
    session = boto3.Session()  # the one the command's boto3.client("s3") uses
    session.events.register("before-call.s3.GetObject", lambda **_: gets.append(1))
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", session)
    assert aws(["s3", "cp", "s3://node/env.tar.gz", str(tmp_path / "env.tar.gz")]) == 0
    assert (tmp_path / "env.tar.gz").read_bytes() == body
    assert len(gets) == 1


def test_s3_cp_fails_as_the_cli_does(s3, tmp_path, capsys):
    assert aws(["s3", "cp", "s3://node/missing.tar.gz", str(tmp_path / "x")]) == 1
    assert capsys.readouterr().err.startswith("fatal error: ")
    assert aws(["s3", "cp", str(tmp_path / "a"), str(tmp_path / "b")]) == 2
    assert "one side of s3 cp must be s3://" in capsys.readouterr().err


def test_other_aws_commands_are_refused(capsys):
    assert aws(["s3", "ls", "s3://node/"]) == 2
    assert "only `aws s3 cp SOURCE DESTINATION`" in capsys.readouterr().err


def test_dnf_installs_only_what_this_machine_has(capsys):
    assert dnf(["install", "-y", "-q", "python3.11"]) == 0
    assert dnf(["install", "-y", "python3.11-pip"]) == 1
    assert capsys.readouterr().err == "Error: Unable to find a match: python3.11-pip\n"
    assert dnf(["remove", "python3.11"]) == 2
    assert "only `dnf install`" in capsys.readouterr().err
