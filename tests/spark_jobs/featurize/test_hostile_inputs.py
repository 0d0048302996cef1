"""The names, layouts and formats real users produce, in one featurize run on local Spark.

Every image file under the input is featurized or rejected with a reason, exactly once, and
keeps the label of its folder. The DAG-level cases on the local AWS are in
tests/e2e/test_hostile_uploads.py.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fruitspark.featurize.arguments import parse_args
from fruitspark.featurize.job import run
from tests.spark_jobs.photos import encode, fruit_jpeg, real_photo, write

COMPOSED, DECOMPOSED = "Cl\u00e9mentine", "Cle\u0301mentine"  # as phones and macOS write it
GREY = real_photo("camera").resize((100, 100))  # 8-bit greyscale (L)


@dataclass
class HostileTree:
    root: Path
    featurized: dict[str, str] = field(default_factory=dict)  # path -> label
    rejected: dict[str, str] = field(default_factory=dict)  # path -> reason code

    def image(self, relative: str, data: bytes, label: str) -> str:
        path = f"file:{write(self.root / relative, data)}"
        self.featurized[path] = label
        return path

    def reject(self, relative: str, data: bytes | None, code: str) -> str:
        if data is not None:
            write(self.root / relative, data)
        path = f"file:{self.root / relative}"
        self.rejected[path] = code
        return path


def build(root: Path) -> HostileTree:
    tree = HostileTree(root)
    jpeg = fruit_jpeg()
    tree.image("Kiwi/_DSC0001.JPG", jpeg, "Kiwi")  # Nikon's and Sony's default name
    tree.image("Kiwi/.hidden.jpg", jpeg, "Kiwi")
    tree.image("Kiwi/IMG 2024-01-01 12:00:00.jpg", jpeg, "Kiwi")  # a colon: no Hadoop Path
    tree.image("Kiwi/a%20b #1?=;'\"[x]{y}*.jpeg", jpeg, "Kiwi")
    tree.image(f"Kiwi/{'long-name-' * 24}.jpg", jpeg, "Kiwi")
    tree.image("_Lime/1.jpg", jpeg, "_Lime")
    tree.image(".Lemon/1.jpg", jpeg, ".Lemon")
    tree.image(f"{COMPOSED}/phone.jpg", jpeg, COMPOSED)
    tree.image(f"{DECOMPOSED}/mac.jpg", jpeg, COMPOSED)
    tree.image("Orchard/2024/Kiwi/deep.jpg", jpeg, "Kiwi")  # the parent folder, at any depth
    tree.image("Grey/8-bit.png", encode(GREY, "PNG"), "Grey")
    wide = Image.fromarray(np.asarray(GREY, dtype=np.uint16) * 257)  # white stays 65535
    tree.image("Grey/16-bit.png", encode(wide, "PNG"), "Grey")
    photo = real_photo("astronaut").resize((160, 160))
    tree.image("Formats/photo.png", encode(photo, "PNG"), "Formats")
    tree.image("Formats/photo.WebP", encode(photo, "WEBP", lossless=True), "Formats")
    tree.image("Formats/photo.HEIC", encode(photo, "HEIF", quality=90), "Formats")

    tree.reject("loose.jpg", jpeg, "no_label")
    tree.reject("Kiwi/._DSC0001.JPG", b"\x00\x05\x16\x07" + bytes(4092), "not_an_image")
    tree.reject("Kiwi/empty.jpg", b"", "empty")
    os.symlink("loop.jpg", root / "Kiwi" / "loop.jpg")
    tree.reject("Kiwi/loop.jpg", None, "unreadable")
    os.symlink("/nonexistent/photo.jpg", root / "Kiwi" / "dangling.jpg")
    tree.reject("Kiwi/dangling.jpg", None, "unreadable")
    os.mkfifo(root / "Kiwi" / "pipe.jpg")  # opened, it would wait for a writer forever
    tree.reject("Kiwi/pipe.jpg", None, "unreadable")

    os.symlink("..", root / "Kiwi" / "again")  # a folder loop: not followed
    write(root / "Kiwi" / "notes.txt", b"not an image: never listed")
    write(root / "Kiwi" / "anim.gif", encode(Image.new("P", (8, 8)), "GIF"))
    return tree


@pytest.fixture(scope="module")
def hostile(spark, tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    tree = build(folder / "Fruits [2024] {raw}")  # glob characters in the input itself
    output = folder / "features"
    args = parse_args(["--input", str(tree.root), "--output", str(output)])
    summary = run(spark, args)
    features = {row.path: row for row in spark.read.parquet(str(output)).collect()}
    rejected = {row.path: row for row in spark.read.parquet(f"{output}/_rejected").collect()}
    return tree, summary, features, rejected


def test_every_image_file_is_featurized_or_rejected_exactly_once(hostile):
    tree, summary, features, rejected = hostile
    assert set(features) == set(tree.featurized)
    assert set(rejected) == set(tree.rejected)
    counts = {name: summary[name] for name in ("found", "featurized", "rejected")}
    assert counts == {
        "found": len(tree.featurized) + len(tree.rejected),
        "featurized": len(tree.featurized),
        "rejected": len(tree.rejected),
    }


def test_labels_are_the_parent_folder_in_nfc(hostile):
    tree, _, features, _ = hostile
    assert {path: row.label for path, row in features.items()} == tree.featurized


def test_rejections_carry_their_reason(hostile):
    tree, _, _, rejected = hostile
    assert {path: row.reason.split(":")[0] for path, row in rejected.items()} == tree.rejected
    loop = rejected[f"file:{tree.root}/Kiwi/loop.jpg"]
    assert loop.reason == "unreadable: Too many levels of symbolic links"
    assert loop.label == "Kiwi"
    assert rejected[f"file:{tree.root}/loose.jpg"].label is None


def test_a_symlinked_folder_is_not_followed(hostile):
    _, _, features, rejected = hostile
    assert not [path for path in [*features, *rejected] if "/again/" in path]


def test_wide_and_new_formats_decode_to_the_same_pixels(hostile):
    tree, _, features, _ = hostile

    def vector(relative: str) -> np.ndarray:
        return np.asarray(features[f"file:{tree.root}/{relative}"].features)

    def distance(first: str, second: str) -> float:
        """Relative to the features' scale: seeded random weights give tiny values."""
        a, b = vector(first), vector(second)
        return float(np.abs(a - b).max() / np.abs(b).max())

    assert distance("Grey/8-bit.png", "Formats/photo.png") > 0.1  # other pictures differ
    assert distance("Grey/16-bit.png", "Grey/8-bit.png") < 1e-4
    assert distance("Formats/photo.WebP", "Formats/photo.png") < 1e-4
    assert distance("Formats/photo.HEIC", "Formats/photo.png") < 0.1  # lossy, same picture
