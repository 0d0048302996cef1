"""Fixtures shared by every test folder: one local Spark for the whole session."""

from __future__ import annotations

import os
import sys
import tempfile

import pytest

from tests import airflow_env

airflow_env.configure()
# ONNX exports of the CNNs, shared by the session's tests and the jobs they start.
os.environ.setdefault("FRUITSPARK_MODEL_CACHE", tempfile.mkdtemp(prefix="fruits-onnx-"))


@pytest.fixture(scope="session")
def spark():
    from pyspark.sql import SparkSession

    # Python workers must run this venv's interpreter, not the system python3.
    os.environ["PYSPARK_PYTHON"] = sys.executable
    session = (
        SparkSession.builder.master("local[2]")
        .appName("fruits-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    from fruitspark.session import ship_package

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
