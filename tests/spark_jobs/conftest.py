"""Image folders for the Spark job tests, generated once per session."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from scripts.fruits_sample import generate
from tests.spark_jobs.photos import broken_files, encode, fruit_jpeg, real_photo, write

MAX_IMAGE_BYTES = 1_000_000


@dataclass
class ImageTree:
    root: Path
    good: dict[str, str] = field(default_factory=dict)  # file name -> label
    rejected: dict[str, str] = field(default_factory=dict)  # file name -> reason code


@pytest.fixture(scope="session")
def image_tree(tmp_path_factory) -> ImageTree:
    """Fruits-like classes, real photos in several modes, broken files and files to ignore."""
    tree = ImageTree(tmp_path_factory.mktemp("images"))
    for path in generate(tree.root, classes=3, per_class=4, seed=1):
        tree.good[path.name + "@" + path.parent.name] = path.parent.name

    def add_good(label: str, name: str, data: bytes) -> None:
        write(tree.root / label / name, data)
        tree.good[f"{name}@{label}"] = label

    add_good("Pépino doux", "upper.JPG", fruit_jpeg())
    add_good("Pépino doux", "mixed.Jpeg", fruit_jpeg())
    add_good("Real Photos", "astronaut.png", encode(real_photo("astronaut"), "PNG"))
    add_good("Real Photos", "camera-grey.png", encode(real_photo("camera"), "PNG"))
    add_good("Real Photos", "logo-rgba.PNG", encode(real_photo("logo"), "PNG"))
    add_good("Real Photos", "rocket-cmyk.jpg", encode(real_photo("rocket").convert("CMYK"), "JPEG"))
    add_good("Real Photos", "coffee-palette.png", encode(real_photo("coffee").convert("P"), "PNG"))

    for name, (data, code) in broken_files().items():
        write(tree.root / "Broken" / name, data)
        tree.rejected[f"{name}@Broken"] = code
    noise = np.random.default_rng(0).integers(0, 256, (800, 800, 3), dtype=np.uint8)
    write(tree.root / "Huge" / "noise.png", encode(Image.fromarray(noise), "PNG"))
    tree.rejected["noise.png@Huge"] = "too_large"

    write(tree.root / "Banana" / "notes.txt", b"not an image, not even looked at")
    write(tree.root / "Banana" / "animation.gif", encode(Image.new("P", (10, 10)), "GIF"))
    return tree


def key(path: str) -> str:
    """file name@label, from a path as the jobs write it."""
    parts = path.split("/")
    return f"{parts[-1]}@{parts[-2]}"
