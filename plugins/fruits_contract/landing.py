"""Where new images land, so that a day's discovery follows the day's images.

An image is uploaded to <images prefix><YYYY-MM-DD>/<label>/<file>, the date being the UTC
day of its upload. A daily run lists only the day folders its data interval touches and the
day before it (an upload that straddles midnight lands in the folder of the day it started
and is modified in the next), each image being taken by the run whose interval holds its
LastModified. Other days' folders are never listed. Anything else under the prefix (a class
folder in the older flat images/<label>/ form, an image directly under it) is outside the
layout: still listed at every daily run and featurized, at the cost the layout avoids.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

DAY_FORMAT = "%Y-%m-%d"
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def day_folder(moment: datetime) -> str:
    """The folder of the UTC day of moment."""
    return moment.astimezone(UTC).strftime(DAY_FORMAT)


def is_day_folder(name: str) -> bool:
    """name is a day folder of the layout: YYYY-MM-DD, a real date."""
    if not _DAY.fullmatch(name):
        return False
    try:
        date.fromisoformat(name)
    except ValueError:
        return False
    return True


def days_to_list(start: datetime, end: datetime) -> list[str]:
    """The day folders that may hold images modified in [start, end): the days the interval
    touches, and the day before its start."""
    first = start.astimezone(UTC).date() - timedelta(days=1)
    last = (end.astimezone(UTC) - timedelta(microseconds=1)).date()
    return [(first + timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]


def landing_key(images_prefix: str, uploaded_at: datetime, relative: str) -> str:
    """The key of an upload: images/2026-12-02/Banana/IMG_0001.jpg."""
    return f"{images_prefix}{day_folder(uploaded_at)}/{relative}"
