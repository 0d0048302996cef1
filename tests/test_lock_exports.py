"""uv.lock is the single source of versions: whatever installs packages elsewhere must match it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from scripts.export_requirements import EXPORTS, ROOT, render
from tests.spark_jobs.test_cli import WITHOUT_TENSORFLOW


def locked_versions() -> dict[str, str]:
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    return {package["name"]: package.get("version") for package in lock["package"]}


@pytest.mark.parametrize("relative_path", sorted(EXPORTS))
def test_exported_requirements_match_the_lock(relative_path):
    committed = (ROOT / relative_path).read_text()
    assert committed == render(EXPORTS[relative_path]), (
        f"{relative_path} has drifted from uv.lock: run `make requirements`"
    )


def test_emr_requirements_pin_what_the_steps_import_and_nothing_to_build_models():
    pins = dict(
        re.findall(
            r"^([a-z0-9][a-z0-9._-]*)==([^ ;\\]+)",
            (ROOT / "spark_jobs/requirements-emr.txt").read_text(),
            re.M,
        )
    )
    locked = locked_versions()
    for package in ("onnxruntime", "pillow", "pillow-heif", "numpy", "pandas", "pyarrow"):
        assert pins[package] == locked[package]
    for package in ("pyspark", "py4j"):  # EMR brings Spark
        assert package not in pins
    for package in ("tensorflow", "tensorflow-cpu", "keras", "tf2onnx", "onnx"):
        assert package not in pins, "the cluster runs ONNX Runtime only"


def test_the_makefile_bootstraps_the_locked_uv():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^UV_VERSION\s*:=\s*(\S+)", makefile, re.M)[1] == locked_versions()["uv"]


def test_the_bootstrap_checks_the_steps_imports_without_tensorflow(tmp_path):
    """The bootstrap's last line fails the cluster when a step's import is missing: it must
    import what the steps need, and pass where TensorFlow is not installed."""
    script = (ROOT / "spark_jobs/bootstrap/install-python-env.sh").read_text()
    check = re.search(r'^"\$root/opt/fruits/env/bin/python" -I -c "(.+)"$', script, re.M)[1]
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(WITHOUT_TENSORFLOW)
    done = subprocess.run(
        [sys.executable, "-c", check],
        env={**os.environ, "PYTHONPATH": str(site)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "onnxruntime" in check


def test_the_emr_requirements_install_on_graviton(tmp_path):
    """The m6g, m6gd and m7g core types (fruit_pipeline.prices) are offered because every
    pinned package has an aarch64 wheel: uv resolves requirements-emr.txt for aarch64 Linux
    as the bootstrap installs it (hashes checked, no dependency resolved, no source build),
    and each native library it unpacks is an aarch64 ELF file."""
    uv = Path(sys.executable).with_name("uv")
    target = tmp_path / "aarch64"
    command = [str(uv), "pip", "install", "--python-platform", "aarch64-manylinux_2_28"]
    command += ["--python-version", "3.11", "--target", str(target), "--no-deps"]
    command += ["--only-binary", ":all:", "--require-hashes"]
    command += ["-r", str(ROOT / "spark_jobs/requirements-emr.txt")]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    pins = re.findall(
        r"^([a-z0-9][a-z0-9._-]*)==", (ROOT / "spark_jobs/requirements-emr.txt").read_text(), re.M
    )
    installed = {
        path.name.split("-")[0].lower().replace("_", "-") for path in target.glob("*.dist-info")
    }
    assert {pin.replace("_", "-") for pin in pins} <= installed
    libraries = list(target.rglob("*.so*"))
    assert any("onnxruntime" in str(path) for path in libraries)
    for library in libraries:
        header = library.read_bytes()[:20]
        if header[:4] == b"\x7fELF":
            assert int.from_bytes(header[18:20], "little") == 0xB7, f"{library} is not aarch64"
