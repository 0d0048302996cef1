"""pca's command line, parsed into one frozen value before Spark starts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from fruits_contract.refit import DRIFT, KEEP_VERSIONS, REFIT_DAYS
from fruitspark.arguments import at_least, frozen, job_parser, parse_job_args, share

USAGE = """spark-submit spark_jobs/fruits_pca.py --input FEATURES_URI --output URI [--model NAME]
        (--k N | --variance 0.95) [--keep-versions 3] [--drift 0.005] [--refit-days 30]
        [--mode incremental|full] [--skip-too-few]"""
DESCRIPTION = "standardize features, keep principal components"
INPUT_HELP = "features dataset root (featurize output)"
OUTPUT_HELP = "root of the published versions"


@dataclass(frozen=True)
class PcaArgs:
    input: str
    output: str  # without a trailing /
    model: str
    k: int | None  # exactly one of k and variance
    variance: float | None
    keep_versions: int = KEEP_VERSIONS
    drift: float = DRIFT  # a refit is due when the kept variance falls by more
    refit_days: int = REFIT_DAYS  # a refit is due when the published fit is this old
    mode: str = "incremental"  # full: a refit whatever the drift, as a full rebuild asks
    skip_too_few: bool = False  # exit 0, publishing nothing, when there is nothing to fit


def parse_args(argv: Sequence[str]) -> PcaArgs:
    parser = job_parser("pca", USAGE, DESCRIPTION, INPUT_HELP, OUTPUT_HELP)
    size = parser.add_mutually_exclusive_group(required=True)
    size.add_argument("--k", type=at_least(1), help="number of components to keep")
    size.add_argument(
        "--variance", type=share, help="keep the fewest components that explain this share"
    )
    # The refit rule's thresholds (fruits_contract.refit): the DAG passes them explicitly.
    for flag, kind, default, meaning in (
        ("--keep-versions", at_least(1), KEEP_VERSIONS, "published versions kept"),
        (
            "--drift",
            share,
            DRIFT,
            "refit when the published components keep this much less of the variance than "
            "they were fitted to",
        ),
        ("--refit-days", at_least(1), REFIT_DAYS, "refit when the published fit is this old"),
    ):
        parser.add_argument(flag, type=kind, default=default, help=f"{meaning} (default {default})")
    parser.add_argument(
        "--mode",
        choices=("incremental", "full"),
        default="incremental",
        help="full: refit and re-project all history, whatever the drift (default incremental)",
    )
    parser.add_argument(
        "--skip-too-few",
        action="store_true",
        help="with no rows or one to fit, publish nothing, say why in <output>/_SKIPPED and "
        "exit 0 instead of failing (the DAG's runs: a fresh deployment, or a model an erasure "
        "left almost empty)",
    )
    parsed = parse_job_args(parser, argv)
    return frozen(PcaArgs, parsed, output=parsed.output.rstrip("/"))
