"""Which deployed archive of the nodes' Python packages a cluster's nodes unpack.

scripts.deploy uploads one archive per architecture, named by its SHA-256, and a manifest
naming them (fruits_contract.artifacts). plan_cluster reads the manifest before any cluster
starts: a deployment without it, or without the archive of an architecture the planned
instance types need, is refused there. The archives' digests are the environment's identity:
a cluster tag, the cost record and the features event carry them.
"""

from __future__ import annotations

from typing import Any, Literal, Self

from pydantic import BaseModel, Field, ValidationError, model_validator

from fruit_pipeline.config import PipelineConfig
from fruit_pipeline.sizing import is_graviton
from fruits_contract.artifacts import NODE_ENV_MANIFEST, node_env_archive

Architecture = Literal["x86_64", "aarch64"]


class UnusableNodeEnv(ValueError):
    """The deployment has no usable archive for a planned node: a deploy must fix it."""


class Archive(BaseModel):
    key: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    bytes: int = Field(gt=0)


class NodeEnvManifest(BaseModel):
    python: Literal["3.11"]
    requirements_sha256: str
    archives: dict[Architecture, Archive]

    @model_validator(mode="after")
    def archives_are_named_by_their_digest(self) -> Self:
        """The bootstrap checks an archive against the digest its name holds."""
        for architecture, archive in self.archives.items():
            if archive.key != node_env_archive(architecture, archive.sha256):
                raise ValueError(f"{architecture}: {archive.key} is not named by its SHA-256")
        return self


def architecture_of(instance_type: str) -> Architecture:
    return "aarch64" if is_graviton(instance_type) else "x86_64"


def architectures(plan: dict[str, Any]) -> list[Architecture]:
    """The architectures of the planned nodes (plan_cluster's plan)."""
    types = [plan["primary_type"]] + ([plan["core_type"]] if plan["core_nodes"] else [])
    return sorted({architecture_of(name) for name in types})


def planned_node_env(
    config: PipelineConfig, manifest: dict[str, Any] | None, plan: dict[str, Any]
) -> tuple[list[str], str]:
    """The archives the planned nodes unpack (the bootstrap's arguments) and the
    environment's identity, "architecture=sha256" for each of them."""
    where = config.artifact(NODE_ENV_MANIFEST)
    if manifest is None:
        raise UnusableNodeEnv(
            f"no nodes' environment is deployed ({where} does not exist): deploy the "
            "artifacts with python -m scripts.deploy (docs/deploy.md)"
        )
    try:
        archives = NodeEnvManifest.model_validate(manifest).archives
    except ValidationError as error:
        raise UnusableNodeEnv(f"{where} is not a manifest scripts.deploy wrote: {error}") from error
    needed = architectures(plan)
    if missing := [name for name in needed if name not in archives]:
        raise UnusableNodeEnv(
            f"{where} has no {' or '.join(missing)} archive, which the planned instance types "
            f"need: deploy with --architecture {' '.join(needed)}"
        )
    uris = [config.artifact(archives[name].key) for name in needed]
    return uris, " ".join(f"{name}={archives[name].sha256}" for name in needed)
