"""Colour as a reference decoder shows it: transparency keys onto white, embedded ICC
profiles converted to sRGB, CMYK with or without Adobe's marker."""

from __future__ import annotations

import numpy as np
from PIL import Image

from fruitspark.images import image_to_array
from tests.spark_jobs.icc import DISPLAY_P3, SRGB, display_profile
from tests.spark_jobs.photos import encode

KEY = (10, 200, 30)


def keyed(mode: str, key, fill, square) -> bytes:
    """A PNG whose tRNS chunk makes `key` transparent: `fill` everywhere, `square` inside."""
    image = Image.new(mode, (100, 100), fill)
    image.paste(square, (40, 40, 60, 60))
    return encode(image, "PNG", transparency=key)


def test_an_rgb_colour_key_is_composited_onto_white():
    array = image_to_array(keyed("RGB", KEY, KEY, (0, 0, 255)))
    assert array[5, 5].tolist() == [255, 255, 255]
    assert array[112, 112].tolist() == [0, 0, 255]


def test_a_16_bit_grey_colour_key_is_composited_onto_white():
    pixels = np.full((100, 100), 1000, dtype=np.uint16)
    pixels[40:60, 40:60] = 30000
    array = image_to_array(encode(Image.fromarray(pixels), "PNG", transparency=1000))
    assert array[5, 5].tolist() == [255, 255, 255]
    assert array[112, 112].tolist() == [117] * 3  # 30000 / 65535 of white


def srgb_encode(linear: np.ndarray) -> np.ndarray:
    linear = np.clip(linear, 0, 1)
    return np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055)


def test_a_display_p3_photo_is_converted_to_srgb():
    """The expected colour is computed here with the profiles' own matrices, not by lcms."""
    p3_colour = (200, 60, 40)
    image = Image.new("RGB", (64, 64), p3_colour)
    array = image_to_array(encode(image, "PNG", icc_profile=display_profile()))
    linear_p3 = (np.asarray(p3_colour) / 255) ** 2.2
    linear_srgb = np.linalg.solve(np.asarray(SRGB), np.asarray(DISPLAY_P3) @ linear_p3)
    expected = srgb_encode(linear_srgb) * 255
    np.testing.assert_allclose(array[32, 32], expected, atol=4)
    assert abs(int(array[32, 32, 0]) - p3_colour[0]) > 10, "not taken as sRGB"


def test_an_unreadable_or_mismatched_profile_is_ignored():
    colour = (200, 60, 40)
    broken = encode(Image.new("RGB", (64, 64), colour), "PNG", icc_profile=b"not a profile")
    np.testing.assert_allclose(image_to_array(broken)[32, 32], colour, atol=1)
    grey = encode(Image.new("L", (64, 64), 90), "PNG", icc_profile=display_profile())
    assert image_to_array(grey)[32, 32].tolist() == [90] * 3


def test_cmyk_reads_the_same_with_or_without_adobes_marker():
    """Pillow reads a CMYK JPEG's samples as stored whether or not it has Adobe's APP14
    marker; without a profile they become RGB by Pillow's formula: cyan is (0, 255, 255)."""
    adobe = encode(Image.new("CMYK", (64, 64), (255, 0, 0, 0)), "JPEG", quality=95)
    marker = adobe.index(b"\xff\xee")
    length = int.from_bytes(adobe[marker + 2 : marker + 4], "big")
    without_marker = adobe[:marker] + adobe[marker + 2 + length :]
    with_marker_array, without_marker_array = map(image_to_array, (adobe, without_marker))
    np.testing.assert_array_equal(with_marker_array, without_marker_array)
    np.testing.assert_allclose(with_marker_array[32, 32], [0, 255, 255], atol=3)
