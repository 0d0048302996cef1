"""docker-compose.yaml, the Dockerfiles and .env.example, checked without a Docker engine."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from fruit_pipeline.config import PipelineConfig, load_config
from scripts.new_env import fill_secrets
from tests.airflow_env import run_bare_python
from tests.docker import compose
from tests.docker.compose import ROOT

CHECK_JSONSCHEMA = Path(sys.executable).with_name("check-jsonschema")
SECRETS = (
    "POSTGRES_PASSWORD",
    "AIRFLOW_ADMIN_PASSWORD",
    "AIRFLOW_JWT_SECRET",
    "AIRFLOW_FERNET_KEY",
)
FRUITS_VARIABLES = {f"FRUITS_{name.upper()}" for name in PipelineConfig.model_fields}


def validate_against_compose_spec(path: Path) -> subprocess.CompletedProcess:
    command = [str(CHECK_JSONSCHEMA), "--builtin-schema", "vendor.compose-spec", str(path)]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def locked_version(package: str) -> str:
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    return next(p["version"] for p in lock["package"] if p["name"] == package)


def documented_variables() -> set[str]:
    """Every NAME in .env.example, set (NAME=...) or shown with its default (# NAME=...)."""
    text = compose.ENV_EXAMPLE.read_text()
    return set(re.findall(r"^(?:# )?([A-Z][A-Z0-9_]*)=", text, re.M))


def dockerfile(service: str) -> tuple[Path, str]:
    build = compose.load()["services"][service]["build"]
    path = ROOT / build["context"] / build["dockerfile"]
    return path, path.read_text()


def test_the_compose_file_is_valid_against_the_compose_specification():
    checked = validate_against_compose_spec(compose.COMPOSE_FILE)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_schema_check_catches_a_broken_compose_file(tmp_path):
    broken = compose.COMPOSE_FILE.read_text().replace(
        "condition: service_healthy", "condition: when_it_feels_like_it", 1
    )
    (tmp_path / "docker-compose.yaml").write_text(broken)
    assert validate_against_compose_spec(tmp_path / "docker-compose.yaml").returncode != 0


def test_airflow_runs_as_in_its_official_file_with_the_local_aws_beside_it():
    """The official file's layout: Postgres, a one-shot init, the four Airflow components on
    the LocalExecutor, each healthy only once its check passes and started only after
    Postgres is healthy and init has completed."""
    services = compose.load()["services"]
    assert set(services) == {
        "postgres",
        "airflow-init",
        *compose.AIRFLOW_SERVICES,
        "localaws",
        "localaws-seed",
    }
    for name in compose.AIRFLOW_SERVICES:
        service = services[name]
        assert service["environment"]["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert service["depends_on"]["airflow-init"]["condition"] == (
            "service_completed_successfully"
        )
        assert service["depends_on"]["localaws-seed"]["required"] is False
    one_shots = {name for name, service in services.items() if service.get("restart") == "no"}
    assert one_shots == {"airflow-init", "localaws-seed"}
    for name, service in services.items():
        if name not in one_shots:
            assert service["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL"), name
    assert services["localaws-seed"]["depends_on"]["localaws"]["condition"] == "service_healthy"


@pytest.mark.parametrize("dotenv", ["unset", ".env.example"])
def test_published_ports_listen_on_this_machine_only_unless_widened(dotenv):
    """The local AWS takes any credentials and runs any spark-submit: never on the LAN by
    default. Each port is HOST_IP:HOST_PORT:CONTAINER_PORT once interpolated."""
    values = {} if dotenv == "unset" else compose.env_file(compose.ENV_EXAMPLE)
    published = {
        name: [compose.interpolate(port, values) for port in service.get("ports", [])]
        for name, service in compose.load()["services"].items()
    }
    assert published["airflow-apiserver"] == ["127.0.0.1:8080:8080"]
    assert published["localaws"] == ["127.0.0.1:4566:4566"]
    assert all(len(port.split(":")) == 3 for ports in published.values() for port in ports)
    widened = compose.interpolate(
        compose.load()["services"]["airflow-apiserver"]["ports"][0],
        {**values, "AIRFLOW_UI_BIND": "0.0.0.0"},
    )
    assert widened == "0.0.0.0:8080:8080"


def test_every_airflow_service_runs_with_the_same_configuration():
    services = compose.load()["services"]
    shared = services["airflow-scheduler"]["environment"]
    for name in compose.AIRFLOW_SERVICES:
        assert services[name]["environment"] == shared
        assert services[name]["image"] == services["airflow-scheduler"]["image"]
    assert services["airflow-init"]["environment"] == {
        **shared,
        "AIRFLOW_ADMIN_PASSWORD": "${AIRFLOW_ADMIN_PASSWORD:?set AIRFLOW_ADMIN_PASSWORD in .env}",
    }


def test_build_contexts_dockerfiles_and_copied_files_exist():
    for service in ("airflow-scheduler", "localaws"):
        path, text = dockerfile(service)
        assert path.is_file(), path
        for source in re.findall(r"^COPY (?:--\S+ )*(\S+) \S+$", text, re.M):
            assert (ROOT / source).exists(), f"{path.name}: COPY {source}"


def test_mounted_host_paths_exist_and_include_the_code_folders():
    mounted = set()
    for service in compose.load()["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (ROOT / source).is_dir(), volume
                mounted.add(source)
    assert {"./dags", "./plugins"} <= mounted


def test_the_dag_imports_resolve_in_the_containers_layout(tmp_path):
    """Rebuild the containers' file layout from the mounts and PYTHONPATH, then import the
    plugin the way Airflow does: every first-party module it needs must be mounted."""
    service = compose.load()["services"]["airflow-scheduler"]
    container = tmp_path / "container"
    for volume in service["volumes"]:
        source, target = volume.split(":")[:2]
        if source.startswith("."):
            (container / target.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
            (container / target.lstrip("/")).symlink_to(ROOT / source)
    assert "PYTHONPATH" not in service["environment"]  # dags/ and plugins/ are enough
    search_path = [container / "opt/airflow/plugins"]
    code = "import fruit_pipeline.sensors, fruit_pipeline.assets, fruit_pipeline.emr_requests"
    done = run_bare_python(search_path, code)
    assert done.returncode == 0, done.stderr


def test_every_variable_is_documented_in_env_example():
    used = compose.variables_used(compose.COMPOSE_FILE.read_text())
    documented = documented_variables()
    assert used - documented == set(), "used by docker-compose.yaml, missing from .env.example"
    assert documented >= FRUITS_VARIABLES
    # COMPOSE_PROFILES is read by Compose itself; everything else must be used.
    assert documented - used - {"COMPOSE_PROFILES"} == set(), "stale in .env.example"


def test_every_pipeline_setting_reaches_the_containers():
    fruits_environment = compose.load()["x-fruits-env"]
    assert set(fruits_environment) == FRUITS_VARIABLES
    for name, value in fruits_environment.items():
        assert value == f"${{{name}:-}}"  # empty when unset: the config's default applies


def test_env_example_has_no_secret_values_and_its_settings_are_valid():
    values = compose.env_file(compose.ENV_EXAMPLE)
    for name in SECRETS:
        assert values[name] == "", f"{name} must stay empty in .env.example"
    config = load_config(values)
    assert config.data_bucket == "fruits-local"
    # Compose refuses to start until `make env` (or the user) has set them.
    with pytest.raises(compose.MissingVariable, match=r"set \w+_(PASSWORD|SECRET|KEY) in \.env"):
        compose.service_environment("airflow-init", values)


def test_make_env_fills_every_secret_and_only_those(tmp_path):
    example = compose.ENV_EXAMPLE.read_text()
    filled, names = fill_secrets(example)
    assert sorted(names) == sorted(SECRETS)
    (tmp_path / ".env").write_text(filled)
    values = compose.env_file(tmp_path / ".env")
    assert all(len(values[name]) >= 32 for name in SECRETS)
    assert fill_secrets(example)[0] != filled  # fresh values every time
    example_values = compose.env_file(compose.ENV_EXAMPLE)
    assert {k: v for k, v in values.items() if k not in SECRETS} == {
        k: v for k, v in example_values.items() if k not in SECRETS
    }
    environment = compose.service_environment("airflow-init", values)
    assert environment["AIRFLOW_ADMIN_PASSWORD"] == values["AIRFLOW_ADMIN_PASSWORD"]


def test_make_env_never_overwrites_an_existing_env(tmp_path):
    existing = tmp_path / ".env"
    existing.write_text("POSTGRES_PASSWORD=mine\n")
    command = [sys.executable, str(ROOT / "scripts/new_env.py"), "--output", str(existing)]
    refused = subprocess.run(command, capture_output=True, text=True, check=False)
    assert refused.returncode != 0
    assert existing.read_text() == "POSTGRES_PASSWORD=mine\n"


def test_the_airflow_image_is_the_official_one_with_the_locked_versions():
    _, text = dockerfile("airflow-scheduler")
    base = re.search(r"^FROM apache/airflow:(\S+)-python(\S+)$", text, re.M)
    assert base, "FROM the official apache/airflow image"
    assert base[1] == locked_version("apache-airflow")
    assert base[2] == "3.11"
    assert compose.load()["x-airflow-common"]["image"].endswith(f":{base[1]}")
    assert "pip install --no-cache-dir --require-hashes -r /opt/airflow/requirements.txt" in text
    requirements = (ROOT / "docker/airflow/requirements.txt").read_text()
    for package in ("apache-airflow", "apache-airflow-providers-amazon", "aiobotocore"):
        assert f"\n{package}=={locked_version(package)} " in requirements


def test_the_local_aws_image_installs_the_locked_spark_side():
    _, text = dockerfile("localaws")
    assert re.search(r"^FROM python:3\.11-", text, re.M)
    assert "openjdk-17-jre-headless" in text
    assert "--require-hashes -r /tmp/requirements.txt" in text
    requirements = (ROOT / "docker/localaws/requirements.txt").read_text()
    for package in ("pyspark", "onnxruntime", "tensorflow-cpu", "tf2onnx", "moto", "boto3"):
        assert f"\n{package}=={locked_version(package)} " in requirements


def test_nothing_is_installed_at_container_start():
    for path in [compose.COMPOSE_FILE, *ROOT.glob("docker/*/Dockerfile"), compose.ENV_EXAMPLE]:
        assert "_PIP_ADDITIONAL_REQUIREMENTS" not in path.read_text(), path


def test_the_local_aws_images_layout_imports_its_entry_points_by_their_one_name(tmp_path):
    """/app rebuilt from the Dockerfile's COPY lines, the path from its PYTHONPATH and its
    working folder (`python -m` starts there): the service and the seed import all they use."""
    _, text = dockerfile("localaws")
    (workdir,) = re.findall(r"^WORKDIR (\S+)$", text, re.M)
    container = tmp_path / "container"
    for source, target in re.findall(r"^COPY (\S+) (\S+)$", text, re.M):
        if not target.startswith("/"):
            target = f"{workdir}/{target}"
        destination = container / target.lstrip("/")
        destination.parent.mkdir(parents=True, exist_ok=True)
        if not destination.exists():
            destination.symlink_to(ROOT / source.rstrip("/"))
    (python_path,) = re.findall(r"PYTHONPATH=(\S+)", text)
    search_path = [container / workdir.lstrip("/")]
    search_path += [container / folder.lstrip("/") for folder in python_path.split(":")]
    code = "import localaws.__main__, localaws.emr_runner, scripts.seed_local, fruitspark.session"
    done = run_bare_python(search_path, code)
    assert done.returncode == 0, done.stderr
