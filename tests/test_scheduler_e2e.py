"""End to end through the scheduler: `airflow standalone` with this project, driven by its REST API.

What `adplan demo` cannot show (it runs each DAG with ``dag.test``): that the real scheduler, the
DAG processor and the executor run the project, that the nightly DAG's Asset events schedule every
downstream DAG, and that those Asset-triggered runs (which have no logical date in Airflow 3) work
on the partition the nightly run wrote.

`make e2e` runs this file alone.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from adplan import airflow_env
from adplan.airflow_run import PIPELINE
from adplan.lake import Lake
from adplan.settings import PROJECT_DIR, get_settings

pytestmark = pytest.mark.slow(minutes=5)

NIGHTLY = "ingest_and_hygiene"
DAG_IDS = [dag_id for dag_id in PIPELINE if (PROJECT_DIR / "dags" / f"{dag_id}.py").exists()]
# One table each DAG publishes, checked in the lake for the nightly run's date.
OUTPUTS = {
    "ingest_and_hygiene": ("curated", "curated_crm_customers"),
    "identity_resolution": ("curated", "identity_graph"),
    "audience_analysis": ("analytics", "segments"),
    "media_attribution": ("analytics", "attribution_credits"),
    "clean_room_collaboration": ("analytics", "segment_enrichment"),
    "campaign_insights": ("analytics", "campaign_kpis_daily"),
    "personalization": ("creative", "creatives"),
}
BIN = Path(sys.executable).parent


def latest_nightly_tick(now: datetime) -> datetime:
    """The nightly DAG's most recent 02:00 UTC tick: the date its scheduled run would work on."""
    tick = now.replace(hour=2, minute=0, second=0, microsecond=0)
    return tick if tick <= now else tick - timedelta(days=1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop(process: subprocess.Popen) -> None:
    """Standalone's components are children of it: signal the whole process group."""
    for sig, wait in ((signal.SIGINT, 20), (signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="module")
def standalone(tmp_path_factory):
    work = tmp_path_factory.mktemp("scheduler-e2e")
    home, airflow_home = work / "adplan", work / "airflow"
    tick = latest_nightly_tick(datetime.now(UTC))
    ds = tick.date().isoformat()
    port = free_port()
    # The project's Airflow environment for this home (its lineage folder among it).
    patch = pytest.MonkeyPatch()
    patch.setenv("ADPLAN_HOME", str(home))
    patch.setenv("AIRFLOW_HOME", str(airflow_home))
    get_settings.cache_clear()
    project_env = airflow_env.defaults()
    patch.undo()
    get_settings.cache_clear()
    (home / "lineage").mkdir(parents=True)
    env = {
        **os.environ,
        **project_env,
        "ADPLAN_HOME": str(home),
        "ADPLAN_TARGET": "local",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__CORE__PARALLELISM": "2",
        "AIRFLOW__SCHEDULER__MIN_FILE_PROCESS_INTERVAL": "600",
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    subprocess.run(
        [str(BIN / "adplan"), "generate", "--people", "800", "--days", "14", "--date", ds],
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    log = (work / "standalone.log").open("w")
    process = subprocess.Popen(
        [str(BIN / "airflow"), "standalone"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 480
        while True:
            assert process.poll() is None, (work / "standalone.log").read_text()[-4000:]
            try:
                if httpx.get(f"{base}/api/v2/monitor/health", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "airflow standalone did not become healthy in 480 s"
            time.sleep(2)
        passwords = airflow_home / "simple_auth_manager_passwords.json.generated"
        while not passwords.exists():
            time.sleep(1)
        password = json.loads(passwords.read_text())["admin"]
        token = httpx.post(
            f"{base}/auth/token", json={"username": "admin", "password": password}, timeout=30
        ).json()["access_token"]
        client = httpx.Client(
            base_url=f"{base}/api/v2", headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        yield client, tick, Lake(home / "lake"), work
    finally:
        stop(process)
        log.close()


def wait_for(condition, timeout: float, every: float = 5.0, message: str = ""):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, message
        time.sleep(every)


def runs(client: httpx.Client, dag_id: str) -> list[dict]:
    response = client.get(f"/dags/{dag_id}/dagRuns", params={"order_by": "run_after"})
    response.raise_for_status()
    return response.json()["dag_runs"]


@pytest.mark.timeout(1800)
def test_the_nightly_run_triggers_every_dag_through_assets(standalone):
    client, tick, lake, work = standalone
    ds = tick.date().isoformat()

    def parsed() -> bool:
        found = client.get("/dags", params={"tags": "adplan", "limit": 100}).json()["dags"]
        return {dag["dag_id"] for dag in found} >= set(DAG_IDS)

    wait_for(parsed, 180, message="the DAG processor did not parse every DAG in 180 s")
    # Trigger the nightly run for its latest tick while paused, then unpause every DAG: the scheduler
    # sees the run for that tick exists and does not create a second one.
    response = client.post(
        f"/dags/{NIGHTLY}/dagRuns",
        json={"dag_run_id": f"e2e__{ds}", "logical_date": tick.isoformat().replace("+00:00", "Z")},
    )
    assert response.status_code == 200, response.text
    for dag_id in reversed(DAG_IDS):
        client.patch(f"/dags/{dag_id}", json={"is_paused": False}).raise_for_status()

    def finished() -> dict[str, str] | None:
        states = {}
        for dag_id in DAG_IDS:
            dag_runs = runs(client, dag_id)
            if not dag_runs or dag_runs[-1]["state"] not in ("success", "failed"):
                return None
            states[dag_id] = dag_runs[-1]["state"]
        return states

    logs = work / "airflow" / "logs"
    states = wait_for(finished, 900, every=10, message=f"not every DAG ran within 15 min; logs in {logs}")
    assert states == dict.fromkeys(DAG_IDS, "success"), states

    nightly = runs(client, NIGHTLY)
    assert [run["dag_run_id"] for run in nightly] == [f"e2e__{ds}"]
    for dag_id in DAG_IDS[1:]:
        (run,) = runs(client, dag_id)
        assert run["run_type"] == "asset_triggered", (dag_id, run["run_type"])
        assert run["logical_date"] is None
    # The Asset-triggered runs worked on the nightly run's partition, not on the day they ran.
    for dag_id, (zone, table) in OUTPUTS.items():
        assert ds in lake.partitions(zone, table), f"{dag_id}: no {zone}/{table} partition for {ds}"
    # Every task run under the scheduler emitted OpenLineage events (to files, on this machine).
    events = [json.loads(path.read_text()) for path in (work / "adplan" / "lineage").iterdir()]
    assert {event["job"]["name"].split(".")[0] for event in events} >= set(DAG_IDS)
