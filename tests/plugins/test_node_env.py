"""plan_cluster's choice of the deployed archives: refused before any cluster starts when the
deployment lacks what the planned nodes need."""

from __future__ import annotations

import pytest

from fruit_pipeline.config import load_config
from fruit_pipeline.node_env import UnusableNodeEnv, architectures, planned_node_env
from fruits_contract.artifacts import node_env_archive

X86, ARM = "1" * 64, "2" * 64
CONFIG = load_config({"FRUITS_ARTIFACTS_URI": "s3://acme/artifacts/"})


def manifest(**digests: str) -> dict:
    return {
        "python": "3.11",
        "requirements_sha256": "3" * 64,
        "archives": {
            architecture: {
                "key": node_env_archive(architecture, digest),
                "sha256": digest,
                "bytes": 1000,
            }
            for architecture, digest in digests.items()
        },
    }


def plan(primary: str = "m5.xlarge", core: str = "m5.2xlarge", nodes: int = 2) -> dict:
    return {"primary_type": primary, "core_type": core, "core_nodes": nodes}


def test_the_nodes_get_the_archive_of_their_architecture_named_by_its_digest():
    archives, identity = planned_node_env(CONFIG, manifest(x86_64=X86, aarch64=ARM), plan())
    assert archives == [f"s3://acme/artifacts/node-env/x86_64/{X86}.tar.gz"]
    assert identity == f"x86_64={X86}"


def test_graviton_core_nodes_beside_an_x86_primary_get_both():
    archives, identity = planned_node_env(
        CONFIG, manifest(x86_64=X86, aarch64=ARM), plan(core="m6g.2xlarge")
    )
    assert [uri.split("/")[-2] for uri in archives] == ["aarch64", "x86_64"]
    assert identity == f"aarch64={ARM} x86_64={X86}"


def test_a_single_node_cluster_needs_its_primarys_architecture_only():
    assert architectures(plan(primary="m7g.xlarge", core="m5.2xlarge", nodes=0)) == ["aarch64"]


def test_no_manifest_is_refused_with_what_to_do():
    with pytest.raises(UnusableNodeEnv, match=r"python -m scripts\.deploy"):
        planned_node_env(CONFIG, None, plan())


def test_an_architecture_not_deployed_is_refused():
    with pytest.raises(UnusableNodeEnv, match=r"no aarch64 archive.*--architecture aarch64 x86_64"):
        planned_node_env(CONFIG, manifest(x86_64=X86), plan(core="m6g.2xlarge"))


def test_an_archive_not_named_by_its_digest_is_refused():
    broken = manifest(x86_64=X86)
    broken["archives"]["x86_64"]["key"] = "node-env/x86_64/latest.tar.gz"
    with pytest.raises(UnusableNodeEnv, match="not named by its SHA-256"):
        planned_node_env(CONFIG, broken, plan())
