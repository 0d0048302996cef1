"""Fixtures shared by every test folder: one local Spark for the whole session."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile

import pytest

from fruitspark.session import JAVA_OPTIONS_VARIABLE
from localaws import s3_authorization
from tests import airflow_env

# moto authorizes DeleteObjects at the bucket, S3 key by key: the tests enforcing IAM
# in-process check the policies as S3 would.
s3_authorization.apply()

# Each process (pytest's, and each xdist worker) has its own Airflow home.
SESSION_FOLDERS = [airflow_env.configure()]
# ONNX exports of the CNNs, shared by the session's tests and the jobs they start. xdist's
# workers inherit the folder of the process that starts them: each CNN is exported once.
if "FRUITSPARK_MODEL_CACHE" not in os.environ:
    SESSION_FOLDERS.append(tempfile.mkdtemp(prefix="fruits-onnx-"))
    os.environ["FRUITSPARK_MODEL_CACHE"] = SESSION_FOLDERS[-1]
# The tests' Spark work is small: C2's compilations would cost more CPU than they save.
os.environ.setdefault(JAVA_OPTIONS_VARIABLE, "-XX:TieredStopAtLevel=1")


def pytest_unconfigure(config):
    """The Airflow home and the ONNX exports: hundreds of MB a session, left in /tmp else.
    Each process removes what it made, the exports after every worker has ended."""
    for folder in SESSION_FOLDERS:
        shutil.rmtree(folder, ignore_errors=True)


# The end-to-end modules, longest first, by their wall time in a whole `make test` (about 650,
# 550, 420, 300, 200 and 100 s): each worker starts on one of the three longest, and the
# next worker to be nearly done takes the next one (xdist's loadfile, without its reordering by
# number of tests: `--no-loadscope-reorder` in the Makefile). tests/test_checks.py keeps
# every end-to-end module listed.
E2E_LONGEST_FIRST = tuple(
    f"tests/e2e/{module}.py"
    for module in (
        "test_ui_trigger",
        "test_pipeline",
        "test_erasure",
        "test_catch_up",
        "test_interruptions",
        "test_hostile_uploads",
    )
)


def start_rank(item: pytest.Item) -> int:
    """Where item's file starts: the end-to-end modules first, longest first."""
    path = item.nodeid.split("::")[0]
    return E2E_LONGEST_FIRST.index(path) if path in E2E_LONGEST_FIRST else len(E2E_LONGEST_FIRST)


def pytest_collection_modifyitems(items):
    """Each module's tests keep their order (a stable sort): an end-to-end module's days
    are one story."""
    items.sort(key=start_rank)


@pytest.fixture(scope="session")
def spark():
    from pyspark.sql import SparkSession

    from fruitspark.session import local_jvm_conf, ship_package

    # Python workers must run this venv's interpreter, not the system python3.
    os.environ["PYSPARK_PYTHON"] = sys.executable
    session = (
        SparkSession.builder.master("local[2]")
        .appName("fruits-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.session.timeZone", "UTC")
        .config(map=local_jvm_conf())
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    ship_package(session)  # UDFs of fruitspark, used without a job's main(), need it too
    yield session
    session.stop()


@pytest.fixture(scope="session")
def dagbag():
    """dags/ loaded the way Airflow loads it."""
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(airflow_env.ROOT / "dags"))


@pytest.fixture(scope="session")
def dag(dagbag):
    return dagbag.dags["fruit_features"]
