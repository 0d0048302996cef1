"""The jobs' command lines parse into frozen values, with explicit fields and defaults."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime

import pytest

from fruitspark.featurize.arguments import MAX_IMAGE_BYTES, FeaturizeArgs
from fruitspark.featurize.arguments import parse_args as featurize_args
from fruitspark.models import ModelFile
from fruitspark.pca.arguments import PcaArgs
from fruitspark.pca.arguments import parse_args as pca_args
from fruitspark.window import Window


def test_a_daily_featurize_command_line_is_one_frozen_value():
    args = featurize_args(
        [
            "--input=s3://b/images/",
            "--output=s3://b/features/",
            "--model=vgg16",
            "--model-file=s3://b/artifacts/models/vgg16.onnx",
            "--take=new",
            "--as-of=2026-11-21T00:00:00Z",
            "--ingest-date=2026-11-20",
            "--chunk-size=8",
        ]
    )
    assert args == FeaturizeArgs(
        input="s3://b/images/",
        output="s3://b/features",
        model="vgg16",
        model_file=ModelFile("s3://b/artifacts/models/vgg16.onnx"),
        weights="random",
        window=Window(None, None),
        ingest_date=date(2026, 11, 20),
        max_image_bytes=MAX_IMAGE_BYTES,
        chunk_size=8,
        take="new",
        as_of=datetime(2026, 11, 21, tzinfo=UTC),
    )
    assert args.tracks_landing
    with pytest.raises(dataclasses.FrozenInstanceError):
        args.model = "resnet50"


def test_a_window_is_a_manual_run_that_records_no_landing_state():
    args = featurize_args(
        [
            "--input=in",
            "--output=out",
            "--modified-after=2026-11-20T00:00:00+00:00",
            "--modified-before=2026-11-21T00:00:00Z",
        ]
    )
    start = datetime(2026, 11, 20, tzinfo=UTC)
    assert args.window == Window(start, datetime(2026, 11, 21, tzinfo=UTC))
    assert (args.take, args.tracks_landing) == ("all", False)


def test_taking_what_is_new_has_no_window(capsys):
    with pytest.raises(SystemExit):
        featurize_args(["--input=in", "--output=out", "--take=new", "--modified-after=2026-11-20"])
    assert "--take new|missing takes what no run took: it has no window" in capsys.readouterr().err


def test_empty_window_bounds_are_a_full_rebuild_filed_today():
    before = datetime.now(UTC).date()
    args = featurize_args(
        ["--input", "in", "--output", "out/", "--modified-after=", "--modified-before="]
    )
    assert args.window.is_full
    assert args.ingest_date in {before, datetime.now(UTC).date()}, "the day of the call"
    assert (args.model, args.model_file, args.output) == ("mobilenet_v2", None, "out")


def test_a_pca_command_line_is_one_frozen_value():
    assert pca_args(["--input=f/", "--output=p/", "--variance=0.9"]) == PcaArgs(
        input="f/", output="p", model="mobilenet_v2", k=None, variance=0.9, keep_versions=3
    )
    refit = pca_args(["--input=f", "--output=p", "--k=4", "--mode=full", "--refit-days=7"])
    assert (refit.mode, refit.refit_days, refit.drift) == ("full", 7, 0.005)
    assert pca_args(["--input=f", "--output=p", "--k=4", "--keep-versions=1"]).k == 4


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        (["--k", "0"], "--k: must be at least 1, not 0"),
        (["--variance", "1.5"], "--variance: must be in (0, 1], not 1.5"),
        (["--variance", "much"], "--variance: not a number: 'much'"),
        (["--k", "2", "--keep-versions", "0"], "--keep-versions: must be at least 1"),
        (["--k", "2", "--drift", "0"], "--drift: must be in (0, 1], not 0.0"),
        (["--k", "2", "--mode", "rebuild"], "--mode: invalid choice: 'rebuild'"),
    ],
)
def test_pca_refuses_out_of_range_values_naming_them(arguments, named, capsys):
    with pytest.raises(SystemExit) as exit_info:
        pca_args(["--input", "in", "--output", "out", *arguments])
    assert exit_info.value.code == 2
    assert named in capsys.readouterr().err
