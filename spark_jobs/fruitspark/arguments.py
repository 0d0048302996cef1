"""argparse types shared by the jobs: a bad value is refused, named, before Spark starts."""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

from fruits_contract.cnns import CNNS, DEFAULT_CNN
from fruitspark.locations import overlap_error

Frozen = TypeVar("Frozen", bound="DataclassInstance")


def at_least(minimum: int):
    """An int of at least minimum."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from error
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, not {value}")
        return value

    return parse


def share(text: str) -> float:
    """A share in (0, 1]: of the variance, say."""
    try:
        value = float(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from error
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], not {value}")
    return value


def timestamp(text: str) -> datetime | None:
    """ISO 8601; a timestamp without an offset is UTC; an empty value means no bound."""
    if text == "":
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 timestamp: {text!r}") from error
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def frozen(cls: type[Frozen], parsed: argparse.Namespace, **values) -> Frozen:
    """The dataclass cls, from the parsed arguments named as its fields, and from values."""
    fields = {field.name for field in dataclasses.fields(cls)}
    named = {name: value for name, value in vars(parsed).items() if name in fields}
    return cls(**{**named, **values})


def job_parser(prog: str, usage: str, description: str, input_help: str, output_help: str):
    """A job's parser, with the arguments every job has: --input, --output and --model."""
    parser = argparse.ArgumentParser(prog=prog, usage=usage, description=description)
    parser.add_argument("--input", required=True, help=input_help)
    parser.add_argument("--output", required=True, help=output_help)
    parser.add_argument("--model", choices=sorted(CNNS), default=DEFAULT_CNN)
    return parser


def parse_job_args(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.Namespace:
    """parser's arguments, refused when the output would overwrite the input."""
    parsed = parser.parse_args(argv)
    if overlap := overlap_error(parsed.input, parsed.output):
        parser.error(overlap)
    return parsed
