"""When a PCA refit is due, as far as it is known before the day's features are read: one
rule, read by the DAG (to size the cluster for the re-projection) and by the PCA job (which
then also checks what only the data shows: drift, a changed k or model file).

A refit re-projects all history, so these thresholds follow the model, not the calendar.
"""

from __future__ import annotations

from datetime import datetime

# A refit is due when the published components keep this much less of the variance than due:
# half a percent is within a day's noise on Fruits-360-like data, a full percent is not.
DRIFT = 0.005
# ... and at least this often, so that a slow drift never goes unrefitted for long.
REFIT_DAYS = 30
# PCA versions kept, the published one included: enough to step back two refits.
KEEP_VERSIONS = 3

FIRST_RUN = "first run: nothing is published yet"
FULL_MODE = "full mode: a refit was asked for"
PREDATES_APPENDS = "the published version predates daily appends"


def fit_age_days(manifest: dict, now: datetime) -> int:
    """How many whole days ago the published version was fitted."""
    return (now - datetime.fromisoformat(manifest["created_at"])).days


def known_refit_reason(
    manifest: dict | None, full: bool, now: datetime, refit_days: int = REFIT_DAYS
) -> str | None:
    """Why a refit is certain before any feature is read (manifest: PCA's _LATEST, None
    before the first run; full: a full rebuild), or None when only the data can tell."""
    if manifest is None:
        return FIRST_RUN
    if full:
        return FULL_MODE
    if "segments" not in manifest:
        return PREDATES_APPENDS
    age = fit_age_days(manifest, now)
    if age >= refit_days:
        return f"the published fit is {age} days old (refit every {refit_days})"
    return None
