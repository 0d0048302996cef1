"""docker-compose.yaml as data: its services, and values interpolated as Compose does."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from dotenv import dotenv_values

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yaml"
ENV_EXAMPLE = ROOT / ".env.example"
AIRFLOW_SERVICES = (
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
)
# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}; $$ is a literal $.
VARIABLE = re.compile(
    r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
)


class MissingVariable(KeyError):
    pass


def load() -> dict:
    """The compose file with its YAML anchors and merge keys resolved."""
    return yaml.safe_load(COMPOSE_FILE.read_text())


def variables_used(text: str) -> set[str]:
    return {match["name"] for match in VARIABLE.finditer(text) if match["name"]}


def interpolate(value: str, variables: dict[str, str | None]) -> str:
    """value with ${...} replaced from variables, by the Compose Specification's rules."""

    def replace(match: re.Match) -> str:
        if match[0] == "$$":
            return "$"
        name, op, arg = match["name"], match["op"], match["arg"]
        current = variables.get(name)
        unset_or_empty = not current if op and op.startswith(":") else current is None
        if op and op.endswith("-") and unset_or_empty:
            return arg
        if op and op.endswith("?") and unset_or_empty:
            raise MissingVariable(f"{name}: {arg}")
        return current or ""

    return VARIABLE.sub(replace, value)


def env_file(path: Path) -> dict[str, str]:
    """A .env file read as Compose reads it (quotes removed, comments dropped)."""
    return {name: value or "" for name, value in dotenv_values(path, interpolate=False).items()}


def service_environment(service: str, dotenv: dict[str, str]) -> dict[str, str]:
    """The environment a container of service gets, interpolated from the .env values."""
    environment = load()["services"][service].get("environment") or {}
    return {name: interpolate(str(value), dotenv) for name, value in environment.items()}
