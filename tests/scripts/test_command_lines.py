"""The command lines people and `make` run, as they run them: `python -m scripts.<name>`."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys

import pytest

from localaws.client import CREDENTIALS, REGION, client
from localaws.process import LocalAws
from scripts.new_env import ROOT


def run(*arguments: str, environment: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", *arguments],
        env={**os.environ, **(environment or {})},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_new_env_writes_a_private_file_with_every_empty_value_filled(tmp_path):
    """(tests/docker/test_compose.py checks that it never overwrites a file.)"""
    env = tmp_path / ".env"
    done = run("scripts.new_env", "--example", str(ROOT / ".env.example"), "--output", str(env))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"wrote {env} with new random values for ")
    assert stat.S_IMODE(env.stat().st_mode) == 0o600
    assert not re.search(r"^\w+=$", env.read_text(), re.M), "every empty value is filled"


def test_fruits_sample_writes_the_classes_asked_and_refuses_too_many(tmp_path):
    done = run("scripts.fruits_sample", str(tmp_path), "--classes", "2", "--per-class", "3")
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"wrote 6 images in 2 classes under {tmp_path}\n"
    assert sorted(len(list(folder.iterdir())) for folder in tmp_path.iterdir()) == [3, 3]
    refused = run("scripts.fruits_sample", str(tmp_path / "none"), "--classes", "0")
    assert refused.returncode == 1
    assert "ValueError: classes must be between 1 and" in refused.stderr


def test_deploy_refuses_what_it_cannot_deploy_before_any_request(tmp_path):
    not_s3 = run("scripts.deploy", "--artifacts-uri", "/tmp/artifacts/")
    assert not_s3.returncode == 2
    assert "--artifacts-uri must be an s3:// URI" in not_s3.stderr
    weights = tmp_path / "weights.h5"
    two_cnns = run(
        "scripts.deploy", "--artifacts-uri", "s3://b/a/", "--weights", str(weights),
        "--cnn", "mobilenet_v2", "resnet50",
    )  # fmt: skip
    assert two_cnns.returncode == 2
    assert "a weights file is the weights of one CNN" in two_cnns.stderr


@pytest.mark.slow
def test_deploy_uploads_what_it_was_asked_to_the_s3_it_names(tmp_path):
    local_aws = LocalAws(tmp_path / "localaws.log")
    try:
        s3 = client("s3", local_aws.endpoint)
        s3.create_bucket(
            Bucket="deployed", CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        done = run(
            "scripts.deploy", "--artifacts-uri", "s3://deployed/artifacts/",
            "--endpoint-url", local_aws.endpoint, "--region", REGION, "--weights", "random",
            "--cnn", "mobilenet_v2", "--architecture", "x86_64", environment=CREDENTIALS,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        listed = s3.list_objects_v2(Bucket="deployed", Prefix="artifacts/")["Contents"]
        keys = {item["Key"] for item in listed}
    finally:
        local_aws.stop()
    printed = {line.removeprefix("uploaded s3://deployed/") for line in done.stdout.splitlines()}
    assert printed == keys
    assert {key.split("/")[1] for key in keys} >= {"models", "node-env"}
    assert not any("resnet50" in key or "aarch64" in key for key in keys)
