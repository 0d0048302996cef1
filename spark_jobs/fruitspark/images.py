"""Turn the bytes of one image file into the 224x224 RGB array a CNN expects.

Pure Python and Pillow: no Spark, no TensorFlow. Anything that cannot be used raises
RejectedImage with a short reason code, so one bad file never fails a job.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
import pillow_heif
from PIL import Image, ImageOps, UnidentifiedImageError

# HEIC/HEIF, iPhones' default format, through libheif; Pillow reads WebP itself.
pillow_heif.register_heif_opener()

TARGET_SIZE = (224, 224)
# Above any phone camera's photo (12-50 MP); a crafted "decompression bomb" past it would
# make Pillow allocate gigabytes for a few kilobytes of file.
MAX_PIXELS = 60_000_000
WHITE = (255, 255, 255)
# Greyscale modes wider than 8 bits, and the value of white in each: 16-bit PNGs decode as
# I;16 or I (0-65535), floating-point images as F (0.0-1.0).
FULL_SCALE = {"I;16": 65535, "I;16B": 65535, "I;16L": 65535, "I": 65535, "F": 1.0}


class RejectedImage(ValueError):
    """A file that cannot be featurized; `code` is one of the documented reason codes."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code


def image_to_array(data: bytes, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Decode `data` into a uint8 array of shape (224, 224, 3).

    Any mode (L, P, RGBA, CMYK, ...) becomes RGB; transparency is composited onto white,
    the background of the reference photos. EXIF orientation from phones is applied.
    """
    if not data:
        raise RejectedImage("empty", "the file has no bytes")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                if width * height > max_pixels:
                    raise RejectedImage(
                        "decompression_bomb",
                        f"{width}x{height} pixels is over the {max_pixels:,} pixel limit",
                    )
                # JPEG only: decode straight at a reduced scale that still covers 224x224.
                image.draft("RGB", TARGET_SIZE)
                rgb = _to_rgb(ImageOps.exif_transpose(image))
                resized = rgb.resize(TARGET_SIZE, Image.Resampling.BILINEAR)
                return np.asarray(resized, dtype=np.uint8)
    except RejectedImage:
        raise
    except UnidentifiedImageError as error:
        raise RejectedImage("not_an_image", "Pillow cannot identify the format") from error
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise RejectedImage("decompression_bomb", str(error)) from error
    except OSError as error:
        code = "truncated" if "truncated" in str(error).lower() else "corrupt"
        raise RejectedImage(code, str(error)) from error
    except (SyntaxError, ValueError, EOFError, IndexError, TypeError) as error:
        raise RejectedImage("corrupt", f"{type(error).__name__}: {error}") from error


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode == "RGB":
        return image
    if image.mode in FULL_SCALE:
        image = _to_8_bits(image)
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (*WHITE, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def _to_8_bits(image: Image.Image) -> Image.Image:
    """Scale a wide greyscale image to 8 bits; Pillow's convert() would clip it at 255."""
    pixels = np.asarray(image, dtype=np.float64) * (255 / FULL_SCALE[image.mode])
    return Image.fromarray(np.clip(np.rint(pixels), 0, 255).astype(np.uint8), "L")
