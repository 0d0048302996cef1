"""`make env`: write .env from .env.example, each empty secret filled with a fresh random value.

    python3 scripts/new_env.py [--example .env.example] [--output .env]

Refuses to overwrite an existing file, and never prints a secret. Standard library only, so it
runs before any virtualenv exists.
"""

from __future__ import annotations

import argparse
import base64
import os
import re
import secrets
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EMPTY_ASSIGNMENT = re.compile(r"^(?P<name>[A-Z][A-Z0-9_]*)=$", re.M)


def new_secret(name: str) -> str:
    if name == "AIRFLOW_FERNET_KEY":  # what cryptography's Fernet.generate_key() returns
        return base64.urlsafe_b64encode(os.urandom(32)).decode()
    return secrets.token_urlsafe(32)


def fill_secrets(example: str) -> tuple[str, list[str]]:
    """example with every `NAME=` line given a random value, and the names filled."""
    names = EMPTY_ASSIGNMENT.findall(example)
    filled = EMPTY_ASSIGNMENT.sub(
        lambda match: f"{match['name']}={new_secret(match['name'])}", example
    )
    return filled, names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--example", type=Path, default=ROOT / ".env.example")
    parser.add_argument("--output", type=Path, default=ROOT / ".env")
    args = parser.parse_args()
    if args.output.exists():
        sys.exit(f"{args.output} exists: edit it, or delete it to start again")
    text, names = fill_secrets(args.example.read_text())
    args.output.touch(mode=0o600)
    args.output.write_text(text)
    print(f"wrote {args.output} with new random values for {', '.join(names)}")


if __name__ == "__main__":
    main()
