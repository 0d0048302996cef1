"""Metadata blocks with random damage: each file decodes or is rejected with a documented
reason, never an exception of another class (one such file would fail the whole day)."""

from __future__ import annotations

import random

import numpy as np
import pytest
from PIL import Image, ImageCms

from fruitspark.images import RejectedImage, image_to_array
from tests.spark_jobs.photos import encode

# docs/jobs.md, "Rejection reasons"
DOCUMENTED_CODES = {
    "empty",
    "not_an_image",
    "truncated",
    "corrupt",
    "decompression_bomb",
    "too_large",
}
MUTATIONS = 150
ORIENTATION, MAKE, X_RESOLUTION, GPS_INFO = 0x0112, 0x010F, 0x011A, 0x8825


def photo() -> Image.Image:
    pixels = np.random.default_rng(7).integers(0, 255, (64, 48, 3), dtype=np.uint8)
    return Image.fromarray(pixels, "RGB")


def exif_block() -> bytes:
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    exif[MAKE] = "Fruits phone"
    exif[X_RESOLUTION] = 72.0
    exif.get_ifd(GPS_INFO)[1] = "N"
    return exif.tobytes()


def with_metadata(fmt: str) -> tuple[bytes, tuple[int, int]]:
    """A file carrying EXIF and an ICC profile, and the bytes of those blocks inside it."""
    exif = exif_block()
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = encode(photo(), fmt, exif=exif, icc_profile=profile)
    tiff = exif[len(b"Exif\x00\x00") :]  # what every format keeps of the block
    start = data.index(tiff)
    return data, (start, start + len(tiff))


def mutations(data: bytes, span: tuple[int, int], seed: int):
    generator = random.Random(seed)
    start, end = span
    for _ in range(MUTATIONS):
        damaged = bytearray(data)
        for _ in range(generator.randint(1, 4)):
            damaged[generator.randrange(start, end)] = generator.randrange(256)
        yield bytes(damaged)


def decoded_or_documented(data: bytes) -> str:
    try:
        array = image_to_array(data)
    except RejectedImage as rejection:
        code = rejection.code
    else:
        assert array.shape == (224, 224, 3)
        code = "decoded"
    assert code in {*DOCUMENTED_CODES, "decoded"}
    return code


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_damaged_exif_decodes_or_is_rejected_with_a_documented_reason(fmt):
    data, span = with_metadata(fmt)
    outcomes = {decoded_or_documented(damaged) for damaged in mutations(data, span, seed=1)}
    assert "decoded" in outcomes


def test_a_mistyped_exif_tag_is_a_rejection_not_a_crash():
    """Orientation declared as RATIONAL (type 5) instead of SHORT: exif_transpose rewrites
    the EXIF and Pillow's struct.pack fails."""
    exif = bytearray(exif_block())
    entry = exif.index(ORIENTATION.to_bytes(2, "big") + (3).to_bytes(2, "big"))  # Pillow: MM
    exif[entry + 2 : entry + 4] = (5).to_bytes(2, "big")
    data = encode(photo(), "JPEG", exif=bytes(exif))
    assert decoded_or_documented(data) in DOCUMENTED_CODES | {"decoded"}


def test_damaged_icc_profiles_and_png_chunks_never_escape():
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = encode(photo(), "PNG", icc_profile=profile)
    iccp = data.index(b"iCCP")
    for damaged in mutations(data, (iccp, iccp + 60), seed=2):
        decoded_or_documented(damaged)
