"""Test inputs: real photographs shipped inside scikit-image, and broken files of each kind."""

from __future__ import annotations

import io
from pathlib import Path

import pillow_heif
import skimage
from PIL import Image

pillow_heif.register_heif_opener()  # encode(..., "HEIF") writes iPhone-style .heic files

PHOTO_DIR = Path(skimage.__file__).parent / "data"
# name -> (file in skimage's data folder, what it tests)
REAL_PHOTOS = {
    "astronaut": "astronaut.png",  # 512x512 RGB
    "camera": "camera.png",  # 512x512 greyscale (L)
    "coffee": "coffee.png",  # 600x400 RGB
    "rocket": "rocket.jpg",  # 427x640 RGB JPEG
    "logo": "logo.png",  # 500x500 RGBA
}


def real_photo(name: str) -> Image.Image:
    with Image.open(PHOTO_DIR / REAL_PHOTOS[name]) as image:
        image.load()
        return image


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def fruit_jpeg() -> bytes:
    return encode(Image.new("RGB", (100, 100), (200, 30, 30)), "JPEG")


def broken_files() -> dict[str, tuple[bytes, str]]:
    """file name -> (bytes, the reason code the job must give)."""
    jpeg = encode(real_photo("coffee"), "JPEG")
    png = encode(real_photo("coffee"), "PNG")
    bomb = encode(Image.new("L", (8000, 8000)), "PNG")  # 62 KB that would decode to 64 MP
    return {
        "empty.jpg": (b"", "empty"),
        "notes-renamed.png": (b"shopping list: apples, pears", "not_an_image"),
        "cut-short.jpg": (jpeg[: len(jpeg) // 2], "truncated"),
        "cut-short.png": (png[: len(png) // 2], "truncated"),
        "scrambled.png": (png[:60] + b"\x13" * 64 + png[124:], "corrupt"),
        "bomb.png": (bomb, "decompression_bomb"),
    }


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
