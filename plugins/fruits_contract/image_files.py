"""What counts as an image file: the one definition the DAG's sensor and featurize share.

Standard library only: the Airflow side imports it at DAG parse time.
"""

from __future__ import annotations

# Matched in any letter case: cameras write IMG_0001.JPG, phones .heic, the web .webp.
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".heic", ".heif")
# macOS writes "._<name>" beside a file copied to a foreign disk: its metadata, not an image.
APPLE_DOUBLE_PREFIX = "._"


def is_image(key: str) -> bool:
    """A file name, path or S3 key ends with an image extension."""
    return key.lower().endswith(IMAGE_EXTENSIONS)


def is_apple_double(key: str) -> bool:
    return key.rsplit("/", 1)[-1].startswith(APPLE_DOUBLE_PREFIX)
