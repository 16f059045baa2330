"""The Airflow environment of this project, in one place.

The CLI (``adplan run``, ``adplan demo``, ``adplan airflow``), the Makefile (through the CLI) and the
tests all start Airflow with these settings; a variable already set in the environment wins.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from adplan.settings import PROJECT_DIR


def airflow_home() -> Path:
    return Path(os.environ.get("AIRFLOW_HOME") or PROJECT_DIR / ".airflow")


def lineage_dir() -> Path:
    """Where the local OpenLineage events go: one JSON file per event (no two writers share a file)."""
    from adplan.settings import get_settings

    return get_settings().home / "lineage"


def defaults() -> dict[str, str]:
    return {
        "AIRFLOW_HOME": str(airflow_home()),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_DIR / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_DIR / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        # A laptop has few cores: the default parallelism forks 32 workers (about 1 GB).
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": "4",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        "AIRFLOW__API__EXPOSE_CONFIG": "False",
        "AIRFLOW__CORE__ALLOWED_DESERIALIZATION_CLASSES_REGEXP": r"(airflow|adplan)\..*",
        # OpenLineage: every task's inputs and outputs (its Assets, and the provider operators' own
        # facets) as events. Locally to files; a deployment points this at its lineage backend.
        "AIRFLOW__OPENLINEAGE__NAMESPACE": "adplan",
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(
            {"type": "file", "log_file_path": str(lineage_dir() / "event"), "append": False}
        ),
        # The local data-quality checks' database: an in-memory DuckDB per check task.
        "AIRFLOW_CONN_DUCKDB_DEFAULT": '{"conn_type": "duckdb"}',
    }


def apply() -> dict[str, str]:
    """Set the defaults in ``os.environ`` where they are not set; call before importing Airflow."""
    for key, value in defaults().items():
        os.environ.setdefault(key, value)
    airflow_home().mkdir(parents=True, exist_ok=True)
    lineage_dir().mkdir(parents=True, exist_ok=True)
    return {key: os.environ[key] for key in defaults()}


def database_ready() -> bool:
    return (airflow_home() / "airflow.db").exists()
