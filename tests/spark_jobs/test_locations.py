"""An output that would destroy the input is refused before any Spark work."""

from __future__ import annotations

import pytest

from fruitspark.featurize import arguments as featurize
from fruitspark.locations import literal, normalized, overlap_error
from fruitspark.pca import arguments as pca


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("/data/features/", "file:///data/features"),
        ("file:/data/features", "file:///data/features"),
        ("file:///data/features/", "file:///data/features"),
        ("s3://fruits/features/", "s3://fruits/features"),
    ],
)
def test_uris_are_compared_in_one_form(uri, expected):
    assert normalized(uri) == expected


@pytest.mark.parametrize(
    ("input_uri", "output_uri", "refused"),
    [
        ("s3://b/features/", "s3://b/features", "is the input"),
        ("/data/features", "file:///data/features/", "is the input"),
        ("s3://b/features/", "s3://b/features/pca/", "is inside the input"),
        ("s3://b/features/model=x/", "s3://b/features/", "contains the input"),
        ("s3://b/features/", "s3://b/features-pca/", None),  # a sibling, not inside
        ("s3://b/features/", "s3://other/features/", None),
    ],
)
def test_overlap(input_uri, output_uri, refused):
    error = overlap_error(input_uri, output_uri)
    assert (error is None) if refused is None else (refused in error)


@pytest.mark.parametrize("job", [featurize, pca])
def test_both_jobs_refuse_to_overwrite_their_input(job, capsys):
    size = ["--k", "2"] if job is pca else []
    with pytest.raises(SystemExit) as exit_info:
        job.parse_args(["--input", "/data/x", "--output", "/data/x/", *size])
    assert exit_info.value.code == 2
    assert "--output /data/x/ is the input" in capsys.readouterr().err


def test_glob_characters_are_read_literally():
    assert literal("s3://b/Fruits [2024]/{a,b}*?") == r"s3://b/Fruits \[2024\]/\{a,b\}\*\?"
    assert literal("s3://b/images/") == "s3://b/images/"
