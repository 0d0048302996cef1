"""Turn the bytes of one image file into the 224x224 RGB array a CNN expects.

Pure Python and Pillow: no Spark, no TensorFlow. Anything that cannot be used raises
RejectedImage with a short reason code, so one bad file never fails a job.
"""

from __future__ import annotations

import contextlib
import io
import threading
import warnings
from collections.abc import Iterator

import numpy as np
import pillow_heif
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from fruits_contract.cnns import IMAGE_SIZE

# HEIC/HEIF, iPhones' default format, through libheif; Pillow reads WebP itself.
pillow_heif.register_heif_opener()

TARGET_SIZE = (IMAGE_SIZE, IMAGE_SIZE)
# Above any phone camera's photo (12-50 MP); a crafted "decompression bomb" past it would
# make Pillow allocate gigabytes for a few kilobytes of file.
MAX_PIXELS = 60_000_000
WHITE = (255, 255, 255)
SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
# The ICC colour space (the profile header's) that an embedded profile must have for a mode.
PROFILE_SPACES = {"RGB": "RGB ", "CMYK": "CMYK", "L": "GRAY"}
# Greyscale modes wider than 8 bits, and the value of white in each: 16-bit PNGs decode as
# I;16 or I (0-65535), floating-point images as F (0.0-1.0).
FULL_SCALE = {"I;16": 65535, "I;16B": 65535, "I;16L": 65535, "I": 65535, "F": 1.0}


class RejectedImage(ValueError):
    """A file that cannot be featurized; `code` is one of the documented reason codes."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code


class PixelBudget:
    """Pixels that may be decoded at once across threads: a decode waits until its image fits
    beside those in progress (alone, it always fits), so a chunk of large images is decoded a
    few at a time instead of all at once."""

    def __init__(self, pixels: int) -> None:
        self.pixels = pixels
        self.in_flight = 0
        self.changed = threading.Condition()

    @contextlib.contextmanager
    def hold(self, pixels: int) -> Iterator[None]:
        with self.changed:
            self.changed.wait_for(
                lambda: self.in_flight == 0 or self.in_flight + pixels <= self.pixels
            )
            self.in_flight += pixels
        try:
            yield
        finally:
            with self.changed:
                self.in_flight -= pixels
                self.changed.notify_all()


def image_to_array(
    data: bytes, max_pixels: int = MAX_PIXELS, budget: PixelBudget | None = None
) -> np.ndarray:
    """Decode `data` into a uint8 array of shape (224, 224, 3).

    Any mode (L, P, RGBA, CMYK, ...) becomes RGB; transparency (an alpha channel, or a
    tRNS colour key) is composited onto white, the background of the reference photos. An
    embedded ICC profile (phones' Display P3, a CMYK press profile) is converted to sRGB, as
    a browser would; without one, RGB is taken as sRGB and CMYK is converted by Pillow's
    formula. EXIF orientation from phones is applied.
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
                with (
                    budget.hold(image.width * image.height) if budget else contextlib.nullcontext()
                ):
                    rgb = _to_rgb(ImageOps.exif_transpose(image))
                    resized = rgb.resize(TARGET_SIZE, Image.Resampling.BILINEAR)
                    return np.asarray(resized, dtype=np.uint8)
    except RejectedImage:
        raise
    except UnidentifiedImageError as error:
        raise RejectedImage("not_an_image", "Pillow cannot identify the format") from error
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise RejectedImage("decompression_bomb", str(error)) from error
    except MemoryError as error:
        raise RejectedImage("too_large", "decoding it ran out of memory") from error
    except OSError as error:
        code = "truncated" if "truncated" in str(error).lower() else "corrupt"
        raise RejectedImage(code, str(error)) from error
    except Exception as error:
        # Pillow's and libheif's decoders raise what their parsers meet: struct.error from a
        # mistyped EXIF tag, KeyError, ZeroDivisionError, SyntaxError... A file's bytes must
        # never fail the job, whatever the class.
        raise RejectedImage("corrupt", f"{type(error).__name__}: {error}") from error


def _to_rgb(image: Image.Image) -> Image.Image:
    alpha = _alpha(image)
    if image.mode in FULL_SCALE:
        image = _to_8_bits(image)
    elif image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in ("RGBA", "LA", "PA"):
        alpha, image = image.getchannel("A"), image.convert(image.mode[:-1].replace("P", "RGB"))
    rgb = _to_srgb(image)
    if alpha is None:
        return rgb
    background = Image.new("RGB", rgb.size, WHITE)
    return Image.composite(rgb, background, alpha)


def _alpha(image: Image.Image) -> Image.Image | None:
    """The opacity a tRNS colour key gives an RGB, L or 16-bit grey image: the key's pixels
    transparent, the rest opaque. Other modes carry their own alpha, or have none."""
    key = image.info.get("transparency")
    if image.mode not in ("RGB", "L", *FULL_SCALE) or key is None or isinstance(key, bytes):
        return None
    pixels = np.asarray(image)
    keyed = np.all(pixels == np.asarray(key), axis=-1) if image.mode == "RGB" else pixels == key
    return Image.fromarray(np.where(keyed, 0, 255).astype(np.uint8), "L")


def _to_srgb(image: Image.Image) -> Image.Image:
    """RGB in sRGB: through the embedded ICC profile when it describes the pixels' colour
    space. One that cannot be read, or is of another space (an RGB profile left on a file
    saved as greyscale), is ignored, as browsers ignore it."""
    profile = image.info.get("icc_profile")
    if profile and PROFILE_SPACES.get(image.mode):
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
        except (OSError, ImageCms.PyCMSError):
            source = None
        if source is not None and source.profile.xcolor_space == PROFILE_SPACES[image.mode]:
            converted = ImageCms.profileToProfile(image, source, SRGB, outputMode="RGB")
            if converted is not None:  # None only when converting in place
                return converted
    return image.convert("RGB")


def _to_8_bits(image: Image.Image) -> Image.Image:
    """Scale a wide greyscale image to 8 bits; Pillow's convert() would clip it at 255.
    Row blocks of float32 keep a 60-megapixel image's copy small next to its own pixels."""
    scale = np.float32(255 / FULL_SCALE[image.mode])
    pixels = np.asarray(image)
    grey = np.empty(pixels.shape, dtype=np.uint8)
    for start in range(0, pixels.shape[0], 256):
        block = pixels[start : start + 256].astype(np.float32) * scale
        grey[start : start + 256] = np.clip(np.rint(block), 0, 255)
    return Image.fromarray(grey, "L")
