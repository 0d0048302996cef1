"""Which of PCA's summary files an erased image's day is in: those the erase step deletes, for
PCA to compute again without it (the whole erasure: test_job.py)."""

from __future__ import annotations

import pytest

from fruitspark.erase.statistics import covers

FINGERPRINT = ".3f2a.npz"


@pytest.mark.parametrize(
    ("name", "day", "held"),
    [
        ("day=2026-11-17", "2026-11-17", True),
        ("day=2026-11-17", "2026-11-18", False),
        ("days=2026-11-10..2026-11-17", "2026-11-10", True),
        ("days=2026-11-10..2026-11-17", "2026-11-17", True),
        ("days=2026-11-10..2026-11-17", "2026-11-18", False),
        ("days=2026-11-10..2026-11-17", "2026-11-09", False),
        ("month=2026-11", "2026-11-30", True),
        ("month=2026-11", "2026-12-01", False),
        ("year=2026", "2026-01-01", True),
        ("year=2026", "2025-12-31", False),
        ("paths=2026-11-17", "2026-11-17", False),  # a path index, not a summary
    ],
)
def test_a_summary_covers_the_days_it_was_computed_from(name, day, held):
    assert covers(name + FINGERPRINT, day) is held
