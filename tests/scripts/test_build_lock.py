"""scripts.build_lock: processes that need the same cached file build it once. Parallel test
workers and two deploys on one machine wait for the build under way and use its file."""

from __future__ import annotations

import fcntl
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from scripts import keras_export, node_env
from scripts.build_lock import build_lock
from scripts.keras_export import Weights, export_onnx
from scripts.node_env import packed_env

# Long enough for a caller that did not wait to have started its own build.
CONCURRENT_BUILD_SECONDS = 0.5


def never(*_):
    raise AssertionError("built again: the caller did not wait for the build under way")


def built_while_it_waits(target, call):
    """call's result when another holder of target's lock builds target meanwhile."""
    with ThreadPoolExecutor(1) as pool, build_lock(target):
        result = pool.submit(call)
        time.sleep(CONCURRENT_BUILD_SECONDS)
        target.write_bytes(b"built by the other process")
    return result.result(timeout=30)


def test_an_export_waits_for_the_one_under_way_and_uses_its_file(tmp_path, monkeypatch):
    monkeypatch.setattr(keras_export, "_export_in_child", never)
    monkeypatch.setattr(keras_export, "_export", never)
    weights = Weights("random")
    target = tmp_path / f"mobilenet_v2-{keras_export.cache_key('mobilenet_v2', weights)}.onnx"
    assert built_while_it_waits(target, lambda: export_onnx("mobilenet_v2", weights, tmp_path)) == (
        target
    )


def test_a_node_env_build_waits_for_the_one_under_way_and_uses_its_archive(tmp_path, monkeypatch):
    monkeypatch.setattr(node_env, "build", never)
    key = node_env.cache_key("x86_64", node_env.REQUIREMENTS)
    target = tmp_path / f"x86_64-{key}.tar.gz"
    packed = built_while_it_waits(target, lambda: packed_env("x86_64", cache_dir=tmp_path))
    assert packed.archive == target
    assert packed.sha256 == node_env.sha256_of(target)


def test_the_lock_is_released_when_its_holder_fails(tmp_path):
    target = tmp_path / "file"
    with pytest.raises(RuntimeError), build_lock(target):
        raise RuntimeError("the build failed")
    with target.with_name("file.lock").open() as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # BlockingIOError if still held
