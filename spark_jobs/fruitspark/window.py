"""The modification-time window a daily run featurizes: its data interval."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Window:
    after: datetime | None
    before: datetime | None

    @property
    def is_full(self) -> bool:
        """No bound at all: a rebuild of every image."""
        return self.after is None and self.before is None

    def contains(self, moment: datetime) -> bool:
        """[after, before): the start is inclusive, the end exclusive."""
        return (self.after is None or self.after <= moment) and (
            self.before is None or moment < self.before
        )

    def __str__(self) -> str:
        if self.is_full:
            return "all files"
        return f"modified in [{self.after or '-inf'}, {self.before or '+inf'})"
