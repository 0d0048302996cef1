"""make demo never deletes what it did not create, and refuses bad IMAGES before it starts."""

from __future__ import annotations

import subprocess
import sys

import pytest

from scripts.demo import MARKER, prepare_output
from tests.airflow_env import ROOT
from tests.spark_jobs.photos import fruit_jpeg, write


def demo(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "scripts.demo", *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_a_folder_it_did_not_make_is_refused_and_kept(tmp_path):
    mine = write(tmp_path / "thesis" / "chapter1.txt", b"months of work")
    refused = demo("--output", str(tmp_path / "thesis"))
    assert refused.returncode != 0
    assert "is not empty and was not made by the demo" in refused.stderr
    assert mine.read_bytes() == b"months of work"


def test_images_inside_the_output_folder_are_refused_before_anything_is_deleted(tmp_path):
    output = tmp_path / "demo-output"
    prepare_output(output)
    image = write(output / "sample-images" / "Pear" / "1.jpg", fruit_jpeg())
    refused = demo("--output", str(output), "--images", str(output / "sample-images"))
    assert refused.returncode != 0
    assert "is inside the output folder" in refused.stderr
    assert image.is_file()


@pytest.mark.parametrize("holds", ["nothing", "no image"])
def test_missing_or_image_less_images_stop_with_one_line(tmp_path, holds):
    images = tmp_path / "images"
    if holds == "no image":
        write(images / "Pear" / "notes.txt", b"not a photo")
    refused = demo("--output", str(tmp_path / "out"), "--images", str(images))
    assert refused.returncode != 0
    (line,) = refused.stderr.strip().splitlines()
    assert line.startswith(f"make demo: IMAGES={images}")
    assert not (tmp_path / "out").exists(), "nothing started"


def test_a_folder_of_an_earlier_demo_is_emptied_and_marked_again(tmp_path):
    output = tmp_path / "demo-output"
    prepare_output(output)
    write(output / "airflow.log", b"an earlier run")
    prepare_output(output)
    assert sorted(path.name for path in output.iterdir()) == [MARKER]


def test_the_folder_of_a_demo_from_before_the_marker_is_recognised_by_its_entries(tmp_path):
    output = tmp_path / "demo-output"
    write(output / "airflow.log", b"an earlier run")
    write(output / "sample-images" / "Pear" / "1.jpg", fruit_jpeg())
    prepare_output(output)
    assert sorted(path.name for path in output.iterdir()) == [MARKER]
