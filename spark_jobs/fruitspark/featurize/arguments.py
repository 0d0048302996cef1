"""featurize's command line, parsed into one frozen value before Spark starts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from fruitspark.arguments import at_least, frozen, job_parser, parse_job_args, timestamp
from fruitspark.batches import DEFAULT_CHUNK
from fruitspark.models import ModelFile
from fruitspark.window import Window

USAGE = """spark-submit spark_jobs/fruits_featurize.py --input URI --output URI
        [--model mobilenet_v2|resnet50|vgg16]
        [--model-file URI.onnx | --weights imagenet|random|FILE]
        [--modified-after TS] [--modified-before TS] [--ingest-date YYYY-MM-DD]
        [--take all|new|missing] [--as-of TS]"""
DESCRIPTION = "fruit photos -> CNN feature vectors"
INPUT_HELP = "folder of class folders of images"
OUTPUT_HELP = "features dataset root"
MAX_IMAGE_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class FeaturizeArgs:
    input: str
    output: str  # without a trailing /
    model: str
    model_file: ModelFile | None  # None: export the CNN with `weights` (scripts.keras_export)
    weights: str
    window: Window
    ingest_date: date
    max_image_bytes: int = MAX_IMAGE_BYTES
    chunk_size: int = DEFAULT_CHUNK
    take: str = "all"  # new: what no run took, in the open folders; missing: anywhere
    # the moment the landing folders are closed as of
    as_of: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def tracks_landing(self) -> bool:
        """Whether the run records what it listed (fruits_contract.landing.LandingState): a
        run that takes what is new or missing, and a full rebuild."""
        return self.take != "all" or self.window.is_full


def parse_args(argv: Sequence[str]) -> FeaturizeArgs:
    parser = job_parser("featurize", USAGE, DESCRIPTION, INPUT_HELP, OUTPUT_HELP)
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--model-file",
        type=ModelFile,
        help="the CNN's ONNX file (path or URI): what the DAG passes, no TensorFlow needed",
    )
    source.add_argument(
        "--weights",
        default="random",
        help="without --model-file: export the CNN to ONNX first, with TensorFlow: imagenet "
        "(Keras downloads), random (seeded, the default) or a Keras weights file",
    )
    parser.add_argument("--modified-after", type=timestamp, help="inclusive window start")
    parser.add_argument("--modified-before", type=timestamp, help="exclusive window end")
    parser.add_argument("--ingest-date", type=date.fromisoformat, help="default: today (UTC)")
    parser.add_argument(
        "--max-image-bytes", type=at_least(1), default=MAX_IMAGE_BYTES, help="larger: rejected"
    )
    parser.add_argument(
        "--chunk-size", type=at_least(1), default=DEFAULT_CHUNK, help="images per CNN call"
    )
    parser.add_argument(
        "--take",
        choices=("all", "new", "missing"),
        default="all",
        help="all: every image (in the window, if one is given), rewriting its ingest date; "
        "new: each image of the open landing folders not featurized or rejected yet (the DAG's "
        "daily runs); missing: the same in every folder (a reconcile)",
    )
    parser.add_argument(
        "--as-of",
        type=timestamp,
        help="the landing folders are closed as of this moment (default now; the DAG passes "
        "its data interval's end)",
    )
    parsed = parse_job_args(parser, argv)
    window = Window(parsed.modified_after, parsed.modified_before)
    if window.after and window.before and window.after >= window.before:
        parser.error("--modified-after must be earlier than --modified-before")
    if parsed.take != "all" and not window.is_full:
        parser.error("--take new|missing takes what no run took: it has no window")
    return frozen(
        FeaturizeArgs,
        parsed,
        output=parsed.output.rstrip("/"),
        window=window,
        ingest_date=parsed.ingest_date or datetime.now(UTC).date(),
        as_of=parsed.as_of or datetime.now(UTC),
    )
