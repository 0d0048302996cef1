"""Where new images land, and what featurize has taken of them, so that a day's discovery
follows the day's images and no landed image is left behind.

An image is uploaded to <images prefix><YYYY-MM-DD>/<label>/<file>, the date being the UTC
day of its upload by the client's clock. Anything else under the prefix (a class folder in
the older flat images/<label>/ form, an image directly under it) is outside the layout:
listed at every run, at the cost the layout avoids.

A day folder is **open** until a run as of two days after it has listed it (the day before
and the day itself can still receive uploads from clocks behind UTC, and uploads that
straddle midnight); then it is **closed**, and daily runs no longer list it. Every run lists
every open folder, future ones included (a client clock ahead of UTC), and takes each image
that is not featurized or rejected yet: after an outage, a failed run or a skipped one, the
next run takes everything left, on one cluster. featurize records, per model, the last
folder closed and what it listed of each open folder (LandingState); the sensor reads it to
know whether anything new landed, without reading a feature.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

DAY_FORMAT = "%Y-%m-%d"
OPEN_DAYS = 2  # a folder is closed by a run as of this many days after its day
OUTSIDE = ""  # the images outside the dated layout, counted as one folder
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


def folder_of(key: str, images_prefix: str) -> str:
    """The landing folder of an image key: its day folder, or OUTSIDE."""
    first, slash, _ = key.removeprefix(images_prefix).partition("/")
    return first if slash and is_day_folder(first) else OUTSIDE


@dataclass(frozen=True)
class FolderSeen:
    """What a run listed of a folder: its images, and the newest LastModified among them."""

    images: int
    newest: str  # ISO 8601, UTC


@dataclass(frozen=True)
class LandingState:
    """What featurize has listed of the landing folders for one model."""

    closed_through: str | None = None  # the latest closed day folder; None: none yet
    folders: dict[str, FolderSeen] = field(default_factory=dict)  # open ones, and OUTSIDE

    @classmethod
    def from_json(cls, text: str | None) -> LandingState:
        if not text:
            return cls()
        data = json.loads(text)
        return cls(
            data["closed_through"],
            {name: FolderSeen(**seen) for name, seen in data["folders"].items()},
        )

    def to_json(self) -> str:
        folders = {name: vars(seen) for name, seen in sorted(self.folders.items())}
        return json.dumps({"closed_through": self.closed_through, "folders": folders}, indent=2)

    def is_open(self, day: str) -> bool:
        return self.closed_through is None or day > self.closed_through

    def new_in(self, folder: str, images: list[tuple[str, datetime]]) -> list[str]:
        """The keys of images (key, LastModified) of folder that landed since it was listed:
        all of a folder never listed; else those modified after the newest it listed, and when
        the folder holds more images than that accounts for (some landed during the listing,
        with older times), as many more of the newest others."""
        seen = self.folders.get(folder)
        if seen is None:
            return [key for key, _ in images]
        newest = datetime.fromisoformat(seen.newest) if seen.newest else datetime.min
        newest = newest.replace(tzinfo=newest.tzinfo or UTC)
        later = [key for key, modified in images if modified > newest]
        unseen = len(images) - seen.images - len(later)
        if unseen <= 0:
            return later
        others = sorted((item for item in images if item[1] <= newest), key=lambda item: item[1])
        return later + [key for key, _ in others[-unseen:]]

    def after(self, as_of: datetime, listed: dict[str, list[datetime]]) -> LandingState:
        """The state once a run as of `as_of` has listed every open folder (folder -> its
        images' LastModified) and taken what was new."""
        closing = (as_of.astimezone(UTC).date() - timedelta(days=OPEN_DAYS)).isoformat()
        closed = max(filter(None, (self.closed_through, closing)))
        return LandingState(
            closed,
            {
                folder: FolderSeen(
                    len(times), max(times).astimezone(UTC).isoformat() if times else ""
                )
                for folder, times in listed.items()
                if folder == OUTSIDE or folder > closed
            },
        )
