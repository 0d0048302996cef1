"""Each module of this repository is imported by exactly one name, wherever it runs."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.import_names import PACKAGES, ROOT

# Imports every module of every package, then does what Airflow does with dags/ and
# plugins/, in one process: a file reached by two routes would be loaded twice.
EVERYTHING = f"""
import pkgutil, importlib, json
from tests import airflow_env
airflow_env.configure()
for package in {PACKAGES!r}:
    root = importlib.import_module(package)
    for module in pkgutil.walk_packages(root.__path__, package + "."):
        importlib.import_module(module.name)
from airflow import plugins_manager
from airflow.dag_processing.dagbag import DagBag
plugins_manager._get_plugins()
assert DagBag(dag_folder=str(airflow_env.ROOT / "dags")).import_errors == {{}}
from tests.import_names import duplicate_imports
print(json.dumps(duplicate_imports()))
"""
PATH_EDIT = re.compile(r"\bsys\.path\s*(?:\.\s*(?:insert|append|extend)|\[|\+?=)")


def test_every_module_and_the_dag_and_airflows_plugin_loading_use_one_name_each():
    done = subprocess.run(
        [sys.executable, "-c", EVERYTHING],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "{}"


def test_nothing_edits_sys_path():
    tracked = subprocess.run(
        ["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    edits = [
        f"{path}:{number}"
        for path in tracked
        if path != "tests/test_import_names.py"
        for number, line in enumerate((ROOT / path).read_text().splitlines(), start=1)
        if PATH_EDIT.search(line)
    ]
    assert edits == []
