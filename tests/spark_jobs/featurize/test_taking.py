"""featurize --take new and --take missing on local Spark: each landed image once, whatever
the runs' dates, with every landing day accounted for (fruits_contract.landing)."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

import pytest

from fruits_contract.landing import LandingState
from fruitspark.featurize import job
from scripts.fruits_sample import generate
from tests.spark_jobs.conftest import key
from tests.spark_jobs.photos import write


def landed(root: Path, day: str, label: str, count: int, seed: int) -> list[Path]:
    """count images of label in day's folder, modified at noon that day."""
    folder = root / day
    paths = [
        path
        for path in generate(folder, classes=1, per_class=count, seed=seed, start=seed * 10)
        if path.exists()
    ]
    moved = []
    for path in paths:
        target = folder / label / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        path.rename(target)
        moment = datetime.fromisoformat(f"{day}T12:00:00+00:00").timestamp()
        os.utime(target, (moment, moment))
        moved.append(target)
    for leftover in folder.iterdir():
        if leftover.is_dir() and not any(leftover.iterdir()):
            leftover.rmdir()
    return moved


def take(spark, root: Path, output: Path, as_of: str, ingest_date: str, what: str = "new") -> dict:
    arguments = ["--input", str(root), "--output", str(output), "--take", what]
    arguments += ["--as-of", f"{as_of}T00:00:00Z", "--ingest-date", ingest_date]
    assert job.main(arguments, spark) == 0
    summary = output / "_summary" / "model=mobilenet_v2" / f"ingest_date={ingest_date}.json"
    return json.loads(summary.read_text())


def rows_by_date(spark, output: Path) -> dict[str, set[str]]:
    table = spark.read.parquet(str(output)).collect()
    assert len(table) == len({row.path for row in table}), "no image featurized twice"
    by_date: dict[str, set[str]] = {}
    for row in table:
        by_date.setdefault(str(row.ingest_date), set()).add(key(row.path))
    return by_date


@pytest.fixture
def landing(tmp_path):
    root = tmp_path / "images"
    before = landed(root, "2026-11-16", "Apple", 2, seed=1)
    today = landed(root, "2026-11-17", "Banana", 2, seed=2)
    ahead = landed(root, "2026-11-18", "Cherry", 1, seed=3)  # a clock ahead of UTC
    write(root / "2026-11-17" / "Kiwi" / "broken.jpg", b"\xff\xd8 not a jpeg")
    return root, {"before": before, "today": today, "ahead": ahead}


def test_a_first_run_takes_every_landed_image_and_accounts_for_each_day(spark, landing, tmp_path):
    root, _ = landing
    output = tmp_path / "features"
    summary = take(spark, root, output, as_of="2026-11-18", ingest_date="2026-11-17")

    assert {day: len(paths) for day, paths in rows_by_date(spark, output).items()} == {
        "2026-11-17": 5
    }
    assert summary["landing"] == {
        "2026-11-16": {
            "listed": 2,
            "taken": 2,
            "featurized": 2,
            "rejected": 0,
            "timing": "on_time",
        },
        "2026-11-17": {
            "listed": 3,
            "taken": 3,
            "featurized": 2,
            "rejected": 1,
            "timing": "on_time",
        },
        "2026-11-18": {"listed": 1, "taken": 1, "featurized": 1, "rejected": 0, "timing": "ahead"},
    }
    state = LandingState.from_json((output / "_landing" / "model=mobilenet_v2.json").read_text())
    assert state.closed_through == "2026-11-16"
    assert set(state.folders) == {"2026-11-17", "2026-11-18"}


def test_the_next_run_takes_only_what_landed_since_and_a_rerun_nothing(spark, landing, tmp_path):
    root, _ = landing
    output = tmp_path / "features"
    take(spark, root, output, as_of="2026-11-18", ingest_date="2026-11-17")
    late = landed(root, "2026-11-16", "Apple", 1, seed=4)  # into a closed folder
    landed(root, "2026-11-18", "Cherry", 2, seed=5)
    second = take(spark, root, output, as_of="2026-11-19", ingest_date="2026-11-18")

    by_date = rows_by_date(spark, output)
    assert {day: len(paths) for day, paths in by_date.items()} == {"2026-11-17": 5, "2026-11-18": 2}
    assert second["landing"]["2026-11-18"]["taken"] == 2
    assert "2026-11-16" not in second["landing"], "closed: not even listed"

    again = take(spark, root, output, as_of="2026-11-19", ingest_date="2026-11-18")
    assert (again["found"], again["featurized"]) == (0, 0)
    assert rows_by_date(spark, output) == by_date

    reconciled = take(spark, root, output, "2026-11-19", "2026-11-18", what="missing")
    assert reconciled["landing"]["2026-11-16"] == {
        "listed": 3,
        "taken": 1,
        "featurized": 1,
        "rejected": 0,
        "timing": "late",
    }
    after = rows_by_date(spark, output)
    assert after["2026-11-18"] == by_date["2026-11-18"] | {key(str(late[0]))}, "kept, and added"


def test_an_outage_is_caught_up_by_one_run(spark, landing, tmp_path):
    root, images = landing
    output = tmp_path / "features"
    take(spark, root, output, as_of="2026-11-17", ingest_date="2026-11-16")
    missed = [
        landed(root, day, "Banana", 1, seed=10 + n)
        for n, day in enumerate(("2026-11-19", "2026-11-20", "2026-11-21"))
    ]
    summary = take(spark, root, output, as_of="2026-11-22", ingest_date="2026-11-21")

    taken = {day: entry["taken"] for day, entry in summary["landing"].items() if entry["taken"]}
    assert taken == {"2026-11-19": 1, "2026-11-20": 1, "2026-11-21": 1}
    everything = {key(str(path)) for paths in (*images.values(), *missed) for path in paths}
    stored = set().union(*rows_by_date(spark, output).values())
    assert stored == everything
    assert summary["landing"]["2026-11-19"]["timing"] == "late"
