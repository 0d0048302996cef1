"""Listing and reading input files on a disk: whatever a folder holds, each file is listed
once with what can be known of it, and reading never blocks or reads past the limit."""

from __future__ import annotations

import os

import pytest

from fruitspark import listing
from fruitspark.batches import featurize_files
from fruitspark.listing import ChangedFile, list_files, read_file
from tests.spark_jobs.photos import fruit_jpeg, write


def identity_featurizer(batch):
    return batch.reshape(len(batch), -1)[:, :4].astype("float32")


def test_a_fifo_named_like_an_image_is_listed_with_an_error_and_never_opened(tmp_path):
    write(tmp_path / "Pear" / "a.jpg", fruit_jpeg())
    os.mkfifo(tmp_path / "Pear" / "x.jpg")  # opening it to read would wait for a writer
    listed = {file.path.rsplit("/", 1)[-1]: file for file in list_files(str(tmp_path))}
    assert listed["a.jpg"].error is None
    assert "not a regular file" in listed["x.jpg"].error
    assert listed["x.jpg"].length is None


def test_a_folder_that_cannot_be_listed_is_one_entry_with_its_error(tmp_path, monkeypatch):
    """Root reads every folder, so the refusal is played: os.walk reports it to onerror."""
    write(tmp_path / "Pear" / "a.jpg", fruit_jpeg())
    (tmp_path / "Locked").mkdir()
    walk = os.walk

    def refusing_walk(top, onerror=None, **kwargs):
        for parent, folders, names in walk(top, onerror=onerror, **kwargs):
            if parent.endswith("Locked"):
                onerror(PermissionError(13, "Permission denied", parent))
                continue
            yield parent, folders, names

    monkeypatch.setattr(listing.os, "walk", refusing_walk)
    listed = {file.path.rsplit("/", 1)[-1]: file for file in list_files(str(tmp_path))}
    assert set(listed) == {"a.jpg", "Locked"}
    assert listed["Locked"].folder
    assert "cannot be listed: Permission denied" in listed["Locked"].error


def test_an_input_folder_that_cannot_be_read_is_the_jobs_own_error(tmp_path, monkeypatch):
    def refuse(path):
        raise PermissionError(13, "Permission denied", path)

    monkeypatch.setattr(listing.os, "listdir", refuse)
    with pytest.raises(PermissionError):
        list(list_files(str(tmp_path)))


def test_a_file_read_with_another_size_than_listed_is_a_changed_file(tmp_path):
    path = write(tmp_path / "Pear" / "a.jpg", fruit_jpeg())
    with pytest.raises(ChangedFile, match="listed with 10 bytes"):
        read_file(f"file:{path}", length=10)
    assert read_file(f"file:{path}", length=path.stat().st_size) == path.read_bytes()


def test_a_file_grown_past_the_limit_is_rejected_and_read_no_further(tmp_path):
    data = fruit_jpeg()
    path = write(tmp_path / "Pear" / "a.jpg", data)
    assert len(read_file(f"file:{path}", max_bytes=100)) == 101
    result = featurize_files([f"file:{path}"], identity_featurizer, lengths=[50], max_bytes=100)
    assert result["reason"].tolist() == [
        "too_large: grew past the 100 byte limit after it was listed"
    ]


def test_a_changed_file_is_rejected_for_the_run_that_sees_its_new_time(tmp_path):
    path = write(tmp_path / "Pear" / "a.jpg", fruit_jpeg())
    result = featurize_files([f"file:{path}"], identity_featurizer, lengths=[10])
    assert result["reason"][0].startswith("changed: listed with 10 bytes")


def test_a_daily_listing_enters_only_its_days_folders_and_what_is_outside_the_layout(
    tmp_path, monkeypatch
):
    for relative in (
        "2026-11-10/Kiwi/old.jpg",
        "2026-11-19/Kiwi/late.jpg",
        "2026-11-20/Kiwi/new.jpg",
        "2026-11-20/loose-in-a-day.jpg",
        "2026-11-21/Kiwi/tomorrow.jpg",
        "Banana/flat.jpg",
        "loose.jpg",
    ):
        write(tmp_path / relative, b"x")
    entered = []
    walk = os.walk
    monkeypatch.setattr(
        listing.os, "walk", lambda top, **kw: entered.append(top) or walk(top, **kw)
    )
    listed = listing.list_landing(str(tmp_path), ["2026-11-19", "2026-11-20"])
    assert sorted(file.path.removeprefix(f"file:{tmp_path}/") for file in listed) == [
        "2026-11-19/Kiwi/late.jpg",
        "2026-11-20/Kiwi/new.jpg",
        "2026-11-20/loose-in-a-day.jpg",
        "Banana/flat.jpg",
        "loose.jpg",
    ]
    assert sorted(os.path.basename(top) for top in entered) == [
        "2026-11-19",
        "2026-11-20",
        "Banana",
    ]
