"""docker-compose.yaml and Dockerfile, checked as files (no Docker engine needed).

The stack follows Airflow's official docker-compose for Airflow 3 with LocalExecutor and Postgres;
the image is the official one at the lock's Airflow version with requirements.lock on top.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from adplan.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yaml"
DOCKERFILE = ROOT / "Dockerfile"
LOCK = ROOT / "requirements.lock"

AIRFLOW_SERVICES = (
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
)
LONG_RUNNING = ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer")
PROJECT_MOUNTS = ("dags", "plugins", "include", "sql")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def common(compose) -> dict:
    return compose["x-airflow-common"]


@pytest.fixture(scope="module")
def env(common) -> dict:
    return common["environment"]


def _dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    result = []
    for line in joined.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, arguments = line.partition(" ")
        result.append((instruction.upper(), arguments.strip()))
    return result


def _locked_version(name: str) -> str:
    match = re.search(rf"^{re.escape(name)}==(\S+)$", LOCK.read_text(), flags=re.MULTILINE)
    assert match, f"{name} is not pinned in requirements.lock"
    return match.group(1)


def _mount_target(volume: str) -> tuple[str, str]:
    """Source and container path of a short-syntax volume (`src:dst[:mode]`)."""
    parts = volume.split(":")
    if parts[-1] in ("ro", "rw", "z", "Z"):
        parts = parts[:-1]
    return ":".join(parts[:-1]), parts[-1]


def _published_ports(service: dict) -> set[str]:
    return {str(port) for port in service.get("ports", [])}


def _healthcheck_command(service: dict) -> str:
    test = service["healthcheck"]["test"]
    return " ".join(test) if isinstance(test, list) else test


def test_the_six_services_exist(compose):
    assert {"postgres", *AIRFLOW_SERVICES} <= set(compose["services"])


def test_every_airflow_service_uses_the_common_image_and_environment(compose, common, env):
    assert common["build"]["context"] == "."
    assert (ROOT / common["build"].get("dockerfile", "Dockerfile")).is_file()
    for name in AIRFLOW_SERVICES:
        service = compose["services"][name]
        assert service["image"] == common["image"], name
        assert service["build"] == common["build"], name
        assert service["volumes"] == common["volumes"], name
        # A service may add variables (airflow-init does) but never change a shared one.
        for key, value in env.items():
            assert key in service["environment"], f"{name} lacks {key}"
            assert service["environment"][key] == value, f"{name} overrides {key}"


def test_postgres_is_the_metadata_database_and_has_a_healthcheck(compose, env):
    postgres = compose["services"]["postgres"]
    assert "pg_isready" in _healthcheck_command(postgres)
    url = urlsplit(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    assert url.scheme.startswith("postgresql")
    assert url.hostname == "postgres"
    assert url.username == postgres["environment"]["POSTGRES_USER"]
    assert url.password == postgres["environment"]["POSTGRES_PASSWORD"]
    assert url.path.lstrip("/") == postgres["environment"]["POSTGRES_DB"]


def test_executor_execution_api_and_examples(compose, env):
    assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    assert str(env["AIRFLOW__CORE__LOAD_EXAMPLES"]).lower() == "false"
    url = urlsplit(env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"])
    # Tasks reach the execution API by the api-server's service name and container port.
    assert url.hostname == "airflow-apiserver"
    assert url.hostname in compose["services"]
    assert url.port == 8080
    assert url.path == "/execution/"


def test_api_server_publishes_8080_and_checks_health(compose):
    api = compose["services"]["airflow-apiserver"]
    assert api["command"] in ("api-server", ["api-server"])
    assert "8080:8080" in _published_ports(api)
    assert "/api/v2/monitor/health" in _healthcheck_command(api)
    assert "localhost:8080" in _healthcheck_command(api)


@pytest.mark.parametrize(
    ("name", "command"),
    [
        ("airflow-scheduler", "scheduler"),
        ("airflow-dag-processor", "dag-processor"),
        ("airflow-triggerer", "triggerer"),
    ],
)
def test_components_run_their_command_with_a_healthcheck(compose, name, command):
    service = compose["services"][name]
    assert service["command"] in (command, [command])
    assert _healthcheck_command(service)


@pytest.mark.parametrize("name", LONG_RUNNING)
def test_components_wait_for_init_and_a_healthy_database(compose, name):
    depends_on = compose["services"][name]["depends_on"]
    assert depends_on["airflow-init"]["condition"] == "service_completed_successfully"
    assert depends_on["postgres"]["condition"] == "service_healthy"


def test_init_migrates_the_database(compose):
    init = compose["services"]["airflow-init"]
    assert str(init["environment"]["_AIRFLOW_DB_MIGRATE"]).lower() == "true"
    assert "/entrypoint airflow" in init["command"][-1]


def test_project_folders_are_mounted_where_the_package_expects_them(common, env):
    mounts = dict(_mount_target(volume)[::-1] for volume in common["volumes"])
    for folder in PROJECT_MOUNTS:
        assert Path(mounts[f"/opt/airflow/{folder}"]) == Path(f"./{folder}"), folder
        assert (ROOT / folder).is_dir(), folder
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == "/opt/airflow/dags"
    assert env["AIRFLOW__CORE__PLUGINS_FOLDER"] == "/opt/airflow/plugins"
    # adplan.settings finds include/ and sql/ beside plugins/ (PROJECT_DIR = plugins/adplan/../..).
    assert env["ADPLAN_PROJECT_DIR"] == "/opt/airflow"


def test_adplan_home_is_a_named_volume(compose, common, env):
    assert env["ADPLAN_HOME"] == "/opt/airflow/adplan-home"
    mounts = dict(_mount_target(volume)[::-1] for volume in common["volumes"])
    source = mounts[env["ADPLAN_HOME"]]
    assert "/" not in source
    assert source in compose["volumes"]


def test_target_defaults_to_local_and_aws_settings_pass_through(env):
    assert env["ADPLAN_TARGET"] == "${ADPLAN_TARGET:-local}"
    # Every settings field that names an AWS resource is passed through from the shell (a key without
    # a value: unset in the container when unset outside, so the package default applies).
    set_by_compose = {"target", "home", "project_dir"}
    for field in dataclasses.fields(Settings):
        if field.name not in set_by_compose:
            key = f"ADPLAN_{field.name.upper()}"
            assert key in env, key
            assert env[key] is None, key
    assert "AIRFLOW_CONN_AWS_DEFAULT" in env
    assert env["AIRFLOW_CONN_AWS_DEFAULT"] is None


def test_simple_auth_manager_and_one_jwt_secret(compose, env):
    assert env["AIRFLOW__CORE__AUTH_MANAGER"] == (
        "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
    )
    assert env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"] == "admin:admin"
    assert env["AIRFLOW__API_AUTH__JWT_SECRET"]
    secrets = {
        compose["services"][name]["environment"]["AIRFLOW__API_AUTH__JWT_SECRET"] for name in LONG_RUNNING
    }
    assert secrets == {env["AIRFLOW__API_AUTH__JWT_SECRET"]}


def test_dockerfile_base_image_matches_the_lock_and_python():
    froms = [arguments for instruction, arguments in _dockerfile_instructions() if instruction == "FROM"]
    assert len(froms) == 1, froms
    match = re.fullmatch(
        r"apache/airflow:(?P<version>[\w.]+)-python(?P<python>\d+\.\d+)", froms[0].split()[0]
    )
    assert match, froms[0]
    assert match["version"] == _locked_version("apache-airflow")
    assert match["python"] == "3.11"
    requires_python = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert ">=3.11" in requires_python


def test_dockerfile_installs_the_lock_and_the_package():
    instructions = _dockerfile_instructions()
    copied = " ".join(arguments for instruction, arguments in instructions if instruction in ("COPY", "ADD"))
    runs = [arguments for instruction, arguments in instructions if instruction == "RUN"]
    assert "requirements.lock" in copied
    assert any(re.search(r"\buv pip install\b.*\s-r\s+\S*requirements\.lock\b", run) for run in runs), runs
    assert any(re.search(r"\bpip install\b.*--no-deps.*-e\s", run) for run in runs), runs
    assert "plugins/" in copied


def test_dockerignore_keeps_local_state_out_of_the_build_context():
    ignored = {
        line.strip().rstrip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".venv", ".adplan", ".airflow", "**/__pycache__"} <= ignored


def test_the_connections_and_pools_the_dags_use_exist_in_the_stack(compose, env):
    from adplan import airflow_env

    for key, value in airflow_env.defaults().items():
        if key.startswith("AIRFLOW_CONN_"):
            assert env.get(key) == value, key
    assert "airflow pools import /opt/airflow/include/airflow/pools.json" in str(
        compose["services"]["airflow-init"]
    )
