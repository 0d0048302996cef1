"""fruitspark.session: the class-data archive that local Spark JVMs start from."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from fruitspark.session import (
    CLASS_ARCHIVE_VARIABLE,
    JAVA_OPTIONS_VARIABLE,
    class_archive,
    local_jvm_conf,
)

SPARK_JOBS = Path(__file__).resolve().parents[2] / "spark_jobs"


def test_the_archive_is_in_the_venv_unless_the_variable_names_another(monkeypatch, tmp_path):
    monkeypatch.delenv(CLASS_ARCHIVE_VARIABLE, raising=False)
    monkeypatch.delenv(JAVA_OPTIONS_VARIABLE, raising=False)
    assert class_archive() == Path(sys.prefix) / "spark-classes.jsa"
    elsewhere = tmp_path / "classes.jsa"
    elsewhere.write_bytes(b"archive")
    monkeypatch.setenv(CLASS_ARCHIVE_VARIABLE, str(elsewhere))
    assert local_jvm_conf() == {
        "spark.driver.extraJavaOptions": f"-XX:SharedArchiveFile={elsewhere}"
    }
    assert local_jvm_conf(["-XX:TieredStopAtLevel=1"]) == {
        "spark.driver.extraJavaOptions": f"-XX:SharedArchiveFile={elsewhere} "
        "-XX:TieredStopAtLevel=1"
    }


def test_no_archive_when_the_variable_is_empty_or_the_file_missing(monkeypatch, tmp_path):
    monkeypatch.setenv(CLASS_ARCHIVE_VARIABLE, "")
    monkeypatch.delenv(JAVA_OPTIONS_VARIABLE, raising=False)
    assert class_archive() is None
    assert local_jvm_conf() == {}
    monkeypatch.setenv(CLASS_ARCHIVE_VARIABLE, str(tmp_path / "absent.jsa"))
    assert local_jvm_conf() == {}
    assert local_jvm_conf(["-Xss4m"]) == {"spark.driver.extraJavaOptions": "-Xss4m"}


def test_the_variables_options_follow_the_callers(monkeypatch):
    monkeypatch.setenv(CLASS_ARCHIVE_VARIABLE, "")
    monkeypatch.setenv(JAVA_OPTIONS_VARIABLE, " -XX:TieredStopAtLevel=1  -Xss4m ")
    assert local_jvm_conf(["-Xmx1g"]) == {
        "spark.driver.extraJavaOptions": "-Xmx1g -XX:TieredStopAtLevel=1 -Xss4m"
    }


@pytest.mark.slow
def test_a_local_job_session_maps_sparks_classes_from_the_archive_make_venv_built(tmp_path):
    """get_session as `python spark_jobs/fruits_featurize.py` calls it. -Xshare:on makes a JVM
    that cannot map the archive fail, and the class-load log says where every class came from;
    the JVM also runs with the job's own options."""
    assert local_jvm_conf(), f"no archive at {class_archive()}: `make venv` builds it"
    classes_log = tmp_path / "classes.log"
    script = (
        "from fruitspark.featurize.job import LOCAL_JAVA_OPTIONS\n"
        "from fruitspark.session import get_session\n"
        "spark = get_session('fruits-archive-test', LOCAL_JAVA_OPTIONS)\n"
        "assert spark.range(10).count() == 10\n"
        "runtime = spark._jvm.java.lang.management.ManagementFactory.getRuntimeMXBean()\n"
        "assert '-XX:TieredStopAtLevel=1' in list(runtime.getInputArguments())\n"
        "spark.stop()\n"
    )
    environment = {
        # Only the job's options: not those the tests give every JVM.
        **{name: value for name, value in os.environ.items() if name != JAVA_OPTIONS_VARIABLE},
        "PYSPARK_PYTHON": sys.executable,
        # The driver JVM's own options, added to spark.driver.extraJavaOptions.
        "SPARK_SUBMIT_OPTS": f"-Xshare:on -Xlog:class+load=info:file={classes_log}",
    }
    subprocess.run(
        [sys.executable, "-c", script], cwd=SPARK_JOBS, env=environment, check=True, timeout=120
    )
    spark_classes = [
        line for line in classes_log.read_text().splitlines() if " org.apache.spark." in line
    ]
    from_archive = [line for line in spark_classes if "shared objects file (top)" in line]
    from_jars = [line for line in spark_classes if "source: file:" in line]
    assert len(from_archive) > 3000, len(from_archive)
    assert len(from_jars) < len(from_archive) / 50, from_jars[:5]
