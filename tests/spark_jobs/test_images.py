"""The pure image function, bytes -> (224, 224, 3) uint8, without Spark."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from fruitspark.images import RejectedImage, image_to_array
from tests.spark_jobs.photos import REAL_PHOTOS, broken_files, encode, fruit_jpeg, real_photo


def test_fruit_jpeg_becomes_a_224_rgb_array():
    array = image_to_array(fruit_jpeg())
    assert array.shape == (224, 224, 3)
    assert array.dtype == np.uint8
    np.testing.assert_allclose(array[112, 112], [200, 30, 30], atol=25)


@pytest.mark.parametrize("name", sorted(REAL_PHOTOS))
def test_real_photos_of_any_size_are_resized(name):
    photo = real_photo(name)
    assert photo.size != (224, 224)
    array = image_to_array(encode(photo, "PNG"))
    assert array.shape == (224, 224, 3)
    assert array.std() > 10, "a real photo keeps its content"


@pytest.mark.parametrize("mode", ["L", "P", "RGBA", "LA", "CMYK", "I;16", "1"])
def test_every_mode_becomes_rgb(mode):
    photo = real_photo("astronaut").convert(mode)
    fmt = "JPEG" if mode == "CMYK" else "PNG"
    array = image_to_array(encode(photo, fmt))
    assert array.shape == (224, 224, 3)


def test_greyscale_gives_equal_channels():
    array = image_to_array(encode(real_photo("camera"), "PNG"))
    assert np.array_equal(array[..., 0], array[..., 1])
    assert np.array_equal(array[..., 1], array[..., 2])


def test_transparency_is_composited_onto_white():
    image = Image.new("RGBA", (100, 100), (0, 0, 0, 0))
    image.paste((0, 0, 255, 255), (40, 40, 60, 60))
    array = image_to_array(encode(image, "PNG"))
    assert array[5, 5].tolist() == [255, 255, 255]
    assert array[112, 112].tolist() == [0, 0, 255]


def test_exif_orientation_from_phones_is_applied():
    left_red_right_blue = Image.new("RGB", (200, 100), (255, 0, 0))
    left_red_right_blue.paste((0, 0, 255), (100, 0, 200, 100))
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    array = image_to_array(encode(left_red_right_blue, "JPEG", exif=exif, quality=95))
    red, blue = [255, 0, 0], [0, 0, 255]
    np.testing.assert_allclose(array[20, 112], red, atol=40, err_msg="red ends up on top")
    np.testing.assert_allclose(array[200, 112], blue, atol=40, err_msg="blue at the bottom")


@pytest.mark.parametrize(("name", "case"), sorted(broken_files().items()))
def test_unusable_files_are_rejected_with_a_reason(name, case):
    data, code = case
    with pytest.raises(RejectedImage) as rejection:
        image_to_array(data)
    assert rejection.value.code == code
    assert str(rejection.value).startswith(f"{code}: ")


def test_pixel_limit_is_a_parameter():
    with pytest.raises(RejectedImage, match="decompression_bomb: 100x100 pixels"):
        image_to_array(fruit_jpeg(), max_pixels=5_000)


@pytest.mark.parametrize("mode", ["I;16", "F"])
def test_wide_greyscale_is_scaled_to_8_bits_not_clipped(mode):
    """A 16-bit PNG (or a float image) keeps its grey levels: white stays white, mid-grey
    stays mid-grey, instead of everything above 255 saturating to white."""
    gradient = np.tile(np.linspace(0, 1, 224), (224, 1))
    full_scale = 1.0 if mode == "F" else 65535
    wide = Image.fromarray((gradient * full_scale).astype(np.float32), "F").convert(mode)
    data = encode(wide, "TIFF" if mode == "F" else "PNG")
    expected = np.rint(np.asarray(wide, dtype=np.float64) * 255 / full_scale).astype(np.uint8)
    pixels = image_to_array(data)
    for channel in range(3):
        np.testing.assert_array_equal(pixels[:, :, channel], expected)
    assert (pixels == 255).mean() < 0.01
