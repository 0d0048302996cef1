"""Staging s3:// arguments for local Spark, and syncing the results back (moto in-process)."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import boto3
import pytest
from moto import mock_aws

from localaws.staging import Stager

BUCKET = "data"


@pytest.fixture
def s3():
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        for key in ("images/Apple Red/1.jpg", "images/Kiwi/2.jpg", "jobs/job.py", "out/old.txt"):
            client.put_object(Bucket=BUCKET, Key=key, Body=key.encode())
        yield client


def test_arguments_point_at_staged_copies_with_their_s3_times(s3, tmp_path):
    stager = Stager(s3, tmp_path)
    arguments = stager.stage_arguments(
        [
            "--py-files",
            f"s3://{BUCKET}/jobs/job.py",
            f"--input=s3://{BUCKET}/images/",
            f"--output=s3://{BUCKET}/pca/model=vgg16/",
        ]
    )
    assert arguments == [
        "--py-files",
        f"file://{tmp_path}/{BUCKET}/jobs/job.py",
        f"--input=file://{tmp_path}/{BUCKET}/images/",
        f"--output=file://{tmp_path}/{BUCKET}/pca/model=vgg16/",
    ]
    image = tmp_path / BUCKET / "images" / "Apple Red" / "1.jpg"
    assert image.read_bytes() == b"images/Apple Red/1.jpg"
    modified = s3.head_object(Bucket=BUCKET, Key="images/Apple Red/1.jpg")["LastModified"]
    assert datetime.fromtimestamp(image.stat().st_mtime, UTC) == modified


def test_sync_back_uploads_new_and_changed_files_and_deletes_removed_ones(s3, tmp_path):
    stager = Stager(s3, tmp_path)
    stager.stage_arguments([f"s3://{BUCKET}/out/", f"s3://{BUCKET}/images/"])
    out = tmp_path / BUCKET / "out"
    (out / "old.txt").unlink()
    (out / "model=x").mkdir()
    (out / "model=x" / "part-0.parquet").write_bytes(b"new")
    (out / "model=x" / ".part-0.parquet.crc").write_bytes(b"checksum")
    counts = stager.sync_back()

    keys = {item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert "out/model=x/part-0.parquet" in keys
    assert "out/old.txt" not in keys
    assert "out/model=x/.part-0.parquet.crc" not in keys
    assert counts == {"uploaded": 1, "deleted": 1}, "unchanged inputs are not uploaded again"


def test_a_missing_uri_is_an_empty_prefix(s3, tmp_path):
    (argument,) = Stager(s3, tmp_path).stage_arguments([f"s3://{BUCKET}/nothing/here"])
    assert argument == f"file://{tmp_path}/{BUCKET}/nothing/here"
    assert os.path.isdir(argument.removeprefix("file://"))


def test_sync_back_uploads_in_the_order_the_step_wrote(s3, tmp_path, monkeypatch):
    stager = Stager(s3, tmp_path)
    stager.stage_arguments([f"s3://{BUCKET}/pca/"])
    pca = tmp_path / BUCKET / "pca"
    for number, name in enumerate(["v=2/part-0.parquet", "v=2/_report/report.json", "_LATEST"]):
        (pca / name).parent.mkdir(parents=True, exist_ok=True)
        (pca / name).write_text(name)
        os.utime(pca / name, ns=(10**18 + number, 10**18 + number))
    uploaded = []
    monkeypatch.setattr(s3, "upload_file", lambda *args, **kw: uploaded.append(args[2]))
    stager.sync_back()
    assert uploaded == ["pca/v=2/part-0.parquet", "pca/v=2/_report/report.json", "pca/_LATEST"]


def test_folder_markers_stage_as_folders_and_survive_the_sync(s3, tmp_path):
    s3.put_object(Bucket=BUCKET, Key="images/Kiwi/", Body=b"")  # the S3 console's folder
    s3.put_object(Bucket=BUCKET, Key="images/Empty Class/", Body=b"")
    stager = Stager(s3, tmp_path)
    stager.stage_arguments([f"s3://{BUCKET}/images/"])
    assert (tmp_path / BUCKET / "images" / "Kiwi" / "2.jpg").read_bytes() == b"images/Kiwi/2.jpg"
    assert stager.sync_back() == {"uploaded": 0, "deleted": 0}
    keys = {item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert {"images/Kiwi/", "images/Empty Class/"} <= keys
