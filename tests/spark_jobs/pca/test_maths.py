"""PCA's statistics, fit, input checks, refit policy and report, on plain values: no Spark."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from fruitspark.pca import moments as mm
from fruitspark.pca.history import Summary, plan
from fruitspark.pca.load import build_report, manifest
from fruitspark.pca.maths import PcaInputError, check_input, fit, kept_variance
from fruitspark.pca.policy import Decision, Policy, decide, fitted_with

MODEL_ID = "sha256:" + "a" * 64
NOW = datetime(2026, 12, 2, tzinfo=UTC)


def rows(count: int, size: int = 6, seed: int = 0, offset: float = 0.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (
        offset
        + rng.normal(size=(count, 3)) @ rng.normal(size=(3, size))
        + rng.normal(scale=0.05, size=(count, size))
    )


def moments_of(matrix: np.ndarray, labels=("Apple",), model_id=MODEL_ID) -> mm.Moments:
    return mm.of_rows(matrix, labels, [model_id] * len(matrix))


def test_merged_days_equal_the_moments_of_all_their_rows():
    days = [rows(count, seed=seed) for seed, count in enumerate((1, 7, 30, 2))]
    merged = mm.merge_all(moments_of(day) for day in days)
    everything = np.vstack(days)
    assert merged.count == len(everything)
    np.testing.assert_allclose(merged.mean, everything.mean(axis=0), rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(merged.covariance, np.cov(everything, rowvar=False), rtol=1e-11)


def test_the_pairwise_merge_keeps_small_variances_far_from_zero():
    """Raw sums of squares would cancel: at a mean of 1e8, a variance of 1e-2 is below their
    float64 resolution."""
    days = [rows(500, seed=seed, offset=1e8) for seed in range(4)]
    merged = mm.merge_all(moments_of(day) for day in days)
    centred = np.vstack(days) - np.vstack(days).mean(axis=0)
    np.testing.assert_allclose(merged.comoment, centred.T @ centred, rtol=1e-6)
    raw = sum(day.T @ day for day in days) - len(centred) * np.outer(merged.mean, merged.mean)
    assert np.max(np.abs(raw - centred.T @ centred) / np.abs(centred.T @ centred)) > 1e-3


def test_moments_survive_their_file_format():
    original = mm.of_rows(rows(9), ["Apple", "Kiwi"], [MODEL_ID, None, *[MODEL_ID] * 7])
    again = mm.from_bytes(mm.to_bytes(original))
    assert (again.count, again.labels, again.model_ids, again.unrecorded) == (
        9,
        {"Apple", "Kiwi"},
        {MODEL_ID},
        1,
    )
    np.testing.assert_array_equal(again.comoment, original.comoment)
    assert mm.merge(mm.EMPTY, again) is again


def test_a_run_merges_a_bounded_number_of_summaries_whatever_the_history():
    start = datetime(2024, 1, 1)
    fingerprints = {(start + timedelta(days)).date().isoformat(): "f" for days in range(1065)}
    assert max(fingerprints) == "2026-11-30"
    summaries = plan(fingerprints)
    assert [(s.kind, s.key) for s in summaries] == [
        ("year", "2024"),
        ("year", "2025"),
        *(("month", f"2026-{month:02}") for month in range(1, 11)),
        ("days", "2026-11-01..2026-11-29"),
        ("day", "2026-11-30"),
    ]
    assert sum(len(year.members) for year in summaries[:2]) == 24


def test_the_latest_months_days_are_one_running_rollup_of_yesterdays_plus_one():
    fingerprints = {f"2026-11-0{day}": str(day) for day in range(1, 6)}
    *_, running, latest = plan(fingerprints)
    assert (running.key, latest.key) == ("2026-11-01..2026-11-04", "2026-11-05")
    before, day = running.members
    assert (before.key, day.key) == ("2026-11-01..2026-11-03", "2026-11-04")
    tomorrow = plan({**fingerprints, "2026-11-06": "6"})
    assert tomorrow[0].members[0] == running, "tomorrow's rollup is today's plus one day"
    assert plan({"2026-11-01": "1"}) == [Summary("day", "2026-11-01", "1")]


def test_a_changed_day_changes_its_month_and_year_and_nothing_else():
    days = {"2025-03-01": "a", "2025-03-02": "b", "2025-04-01": "c", "2026-01-05": "d"}
    before = {s.file_name for s in plan(days)}
    after = {s.file_name for s in plan({**days, "2025-03-02": "changed"})}
    (year_before,) = [name for name in before - after]
    (year_after,) = [name for name in after - before]
    assert year_before.startswith("year=2025.")
    assert year_after.startswith("year=2025.")
    assert {s.key for s in plan(days)} == {"2025", "2026-01-05"}
    assert isinstance(plan(days)[0].members[0], Summary)


GOOD = moments_of(rows(100))


def test_features_pca_can_reduce_pass():
    check_input(GOOD, "mobilenet_v2", "s3://b/features/", k=6)
    check_input(GOOD, "mobilenet_v2", "s3://b/features/", k=None)


@pytest.mark.parametrize(
    ("moments", "k", "message"),
    [
        (mm.EMPTY, None, "no mobilenet_v2 features under s3://b/features/"),
        (moments_of(rows(1)), None, "PCA needs at least 2 mobilenet_v2 images; there is 1"),
        (replace(GOOD, unrecorded=7), None, "7 mobilenet_v2 feature rows under s3://b/features/"),
        (
            replace(GOOD, model_ids=frozenset({MODEL_ID, "sha256:" + "b" * 64})),
            None,
            f"come from 2 model files ({MODEL_ID} ... sha256:{'b' * 64})",
        ),
        (GOOD, 7, "--k 7 is larger than the feature size 6"),
        (moments_of(np.ones((20, 6))), None, "all 20 mobilenet_v2 feature vectors are identical"),
    ],
    ids=["no rows", "one row", "no model id", "two model files", "k too large", "identical"],
)
def test_each_input_pca_cannot_reduce_is_refused_naming_why(moments, k, message):
    with pytest.raises(PcaInputError) as refused:
        check_input(moments, "mobilenet_v2", "s3://b/features/", k)
    assert message in str(refused.value)


def test_the_published_components_keep_what_they_were_fitted_to_keep_of_the_same_rows():
    fitted = fit(GOOD, None, 0.9)
    assert kept_variance(GOOD, fitted) == pytest.approx(float(fitted.explained.sum()), abs=1e-12)
    other = moments_of(rows(100, seed=5))
    assert kept_variance(other, fitted) < fitted.explained.sum() - 0.05


POLICY = Policy(k=None, variance=0.9, drift=0.005, refit_days=30)
FIT = fit(GOOD, None, 0.9)
PUBLISHED = {
    "version": "v=1",
    "variance": float(FIT.explained.sum()),
    "model_id": MODEL_ID,
    "fitted_with": fitted_with(POLICY),
    "created_at": (NOW - timedelta(days=3)).isoformat(),
    "segments": {},
}


def decision(policy=POLICY, published=PUBLISHED, kept=0.9, fresh=FIT, model_id=MODEL_ID):
    return decide(policy, published, FIT, kept, fresh, model_id, NOW)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"published": None}, "first run: nothing is published yet"),
        ({"policy": replace(POLICY, forced=True)}, "full mode: a refit was asked for"),
        (
            {"published": {k: v for k, v in PUBLISHED.items() if k != "segments"}},
            "the published version predates daily appends",
        ),
        ({"model_id": "sha256:" + "b" * 64}, "the features now come from another model file"),
        (
            {"policy": replace(POLICY, variance=0.95)},
            "the size asked changed to --variance 0.95 (published: --variance 0.9)",
        ),
        ({"fresh": replace(FIT, components=FIT.components[:, :1])}, "k would change from"),
        ({"kept": 0.894}, "keep 89.40% of the variance, more than 0.50% below 90.00%"),
        (
            {"published": {**PUBLISHED, "created_at": (NOW - timedelta(days=30)).isoformat()}},
            "the published fit is 30 days old (refit every 30)",
        ),
    ],
    ids=["first", "forced", "old format", "model file", "request", "k", "drift", "age"],
)
def test_each_reason_for_a_refit_is_named(changes, reason):
    made = decision(**changes)
    assert made.refit
    assert reason in made.reason


def test_without_a_reason_the_published_model_holds_and_says_why():
    made = decision(kept=0.896)
    assert not made.refit
    assert made.drift == pytest.approx(PUBLISHED["variance"] - 0.896)
    assert "keep 89.60% of the variance (" in made.reason
    assert "when fitted; a refit below 89.50%), and k would stay" in made.reason
    fixed = Policy(k=3, variance=None, drift=0.005, refit_days=30)
    published = {**PUBLISHED, "fitted_with": fitted_with(fixed), "variance": 0.8}
    assert decide(fixed, published, FIT, 0.798, FIT, MODEL_ID, NOW).refit is False
    assert decide(fixed, published, FIT, 0.79, FIT, MODEL_ID, NOW).refit is True


def test_the_report_and_its_manifest_state_the_fit_and_the_decision():
    made = Decision(False, "holds", 0.89, 0.01)
    projected = {
        "2026-12-01": {"folder": "rows-1/ingest_date=2026-12-01", "rows": 4, "fingerprint": "f"}
    }
    report = build_report(
        "mobilenet_v2", "s3://b/features/", 0.9, "v=1", GOOD, FIT, made, projected, ["a warning"]
    )
    assert report["k"] == FIT.k
    np.testing.assert_allclose(report["cumulative_variance"], np.cumsum(FIT.explained))
    assert (report["rows"], report["classes"], report["feature_size"]) == (100, 1, 6)
    assert (report["model_id"], report["target_variance"]) == (MODEL_ID, 0.9)
    assert (report["refit"], report["refit_reason"], report["drift"]) == (False, "holds", 0.01)
    assert (report["days_projected"], report["rows_projected"]) == (["2026-12-01"], 4)
    published = manifest(report, projected, fitted_with(POLICY), "2026-11-01T00:00:00+00:00")
    assert published["rows"] == 4
    assert published["created_at"] == "2026-11-01T00:00:00+00:00"
    assert published["updated_at"] == report["created_at"]
    assert published["segments"] == projected
    assert (published["kept_variance"], published["fitted_with"]) == (0.89, fitted_with(POLICY))
