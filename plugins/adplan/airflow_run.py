"""Running DAGs of this project through Airflow, in-process (``adplan run``, ``adplan demo``, tests)."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from adplan import airflow_env
from adplan.settings import PROJECT_DIR

# Pools the DAGs use (``airflow pools import`` format); the aws target's AWS operators share ``adplan_aws``.
POOLS_FILE = PROJECT_DIR / "include" / "airflow" / "pools.json"

# The use-case DAGs in the order their inputs need; `adplan demo` runs those that exist.
PIPELINE = (
    "ingest_and_hygiene",
    "identity_resolution",
    "audience_analysis",
    "media_attribution",
    "clean_room_collaboration",
    "campaign_insights",
    "personalization",
)


def existing_pipeline(dags_dir: Path) -> list[str]:
    return [dag_id for dag_id in PIPELINE if (dags_dir / f"{dag_id}.py").exists()]


def migrate_database() -> None:
    """``airflow db migrate`` and the project's pools, in subprocesses (the Airflow CLI configures
    logging for the whole process)."""
    env = {**_os_environ(), **airflow_env.apply()}
    airflow = str(Path(sys.executable).with_name("airflow"))
    subprocess.run([airflow, "db", "migrate"], check=True, env=env, stdout=subprocess.DEVNULL)
    with tempfile.TemporaryDirectory() as folder:
        pools = Path(folder) / "pools.json"
        pools.write_text(json.dumps(project_pools()))
        subprocess.run(
            [airflow, "pools", "import", str(pools)], check=True, env=env, stdout=subprocess.DEVNULL
        )


def project_pools() -> dict[str, Any]:
    """The pools of ``POOLS_FILE``, the AWS one under the name the settings give it (ADPLAN_AWS_POOL)."""
    from adplan.settings import get_settings

    pools = json.loads(POOLS_FILE.read_text())
    aws = pools.pop("adplan_aws")
    return {**pools, get_settings().aws_pool: aws}


def run_dag(dag_id: str, run_date: date, conf: dict[str, Any] | None = None) -> str:
    """Run one DAG for ``run_date`` with ``dag.test()`` and return the run's final state."""
    return run_dags([dag_id], run_date, conf)[dag_id]


def run_dags(dag_ids: list[str], run_date: date, conf: dict[str, Any] | None = None) -> dict[str, str]:
    """Run DAGs one after another for ``run_date``, stopping at the first that does not succeed (the
    next ones would read what it failed to write). Returns the final state of each DAG that ran."""
    airflow_env.apply()
    if not airflow_env.database_ready():
        migrate_database()
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=airflow_env.defaults()["AIRFLOW__CORE__DAGS_FOLDER"])
    if bag.import_errors:
        raise RuntimeError(f"DAG import errors: {bag.import_errors}")
    unknown = [dag_id for dag_id in dag_ids if bag.get_dag(dag_id) is None]
    if unknown:
        raise KeyError(f"no DAG {', '.join(map(repr, unknown))}; DAGs here: {', '.join(sorted(bag.dag_ids))}")
    states: dict[str, str] = {}
    for dag_id in dag_ids:
        states[dag_id] = _test_run(bag.get_dag(dag_id), run_date, conf)
        if states[dag_id] != "success":
            break
    return states


def _test_run(dag: Any, run_date: date, conf: dict[str, Any] | None) -> str:
    logical_date = datetime.combine(run_date, time(), tzinfo=UTC)
    # dag.test() in Airflow 3.3.2 fails at the end of a run of a DAG with a DeadlineAlert: it looks the
    # alerts up by the DAG object's DeadlineAlert instances where the scheduler uses their stored ids
    # ("'dict' object has no attribute 'hex'"). A deadline alerts on a scheduled run, not on this one.
    dag.deadline = None
    dag_run = dag.test(logical_date=logical_date, run_conf=conf or None, use_executor=False)
    return str(dag_run.state)


def _os_environ() -> dict[str, str]:
    import os

    return dict(os.environ)
