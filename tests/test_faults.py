"""Faults a nightly run meets, and what the user sees: a clear failure or a successful retry, and no
partial output published.

Covered here: a Glue job that fails, a worker killed in the middle of writing a partition, a task
that fails for good (its alert). Covered beside their engines: an Entity Resolution job that ends
FAILED (tests/aws/test_aws_entity_resolution.py: operator, sensor and trigger surface errorDetails),
a protected query that times out or is cancelled (tests/aws/test_aws_clean_rooms.py), throttled and
failing Bedrock calls (the state machine's retries: tests/creative/test_state_machine*.py; failed items
retried in the next round, then REJECTED: tests/creative/test_creative_rounds.py).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from types import SimpleNamespace

import duckdb
import pytest
from botocore.stub import Stubber

from adplan.lake import Lake

DS = "2026-11-28"


# --- a Glue job that fails ------------------------------------------------------------------------


@pytest.fixture
def glue_job(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing may leave the machine
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", '{"conn_type": "aws"}')
    monkeypatch.setenv("ADPLAN_TARGET", "aws")
    from adplan.settings import get_settings

    get_settings.cache_clear()
    from airflow.sdk import DAG

    from adplan.dag_defaults import dag_kwargs
    from adplan.targets import builders

    with DAG("glue_fault", schedule=None, **dag_kwargs()):
        task = builders("aws").job("attribute", "attribution.attribute", params={"models": "all"})
    yield task
    get_settings.cache_clear()


def test_a_failed_glue_job_run_fails_the_task_with_glues_error(glue_job):
    from airflow.exceptions import TaskDeferred

    # The builder's Glue task starts the run and defers; its trigger reports Glue's ErrorMessage.
    stub = Stubber(glue_job.hook.conn)
    stub.add_response("get_job", {"Job": {"Name": "adplan-job"}}, {"JobName": "adplan-job"})
    stub.add_response("start_job_run", {"JobRunId": "jr_1"})
    with stub, pytest.raises(TaskDeferred) as deferred:
        ti = SimpleNamespace(
            dag_id="media_attribution", task_id="attribute", run_id="r1", map_index=-1, try_number=1
        )
        ti.xcom_push = lambda **_: None
        glue_job.execute(context={"ti": ti})
    trigger = deferred.value.trigger
    assert trigger.run_id == "jr_1"
    assert "JobRun.ErrorMessage" in trigger.status_queries
    # The trigger's failure event fails the task with the service's message.
    message = "AWS Glue job failed.: ValueError: curated_spend has no partition for 2026-11-28"
    with pytest.raises(Exception, match="curated_spend has no partition"):
        glue_job.execute_complete(context={}, event={"status": "error", "message": message, "run_id": "jr_1"})


def test_a_failed_job_run_publishes_nothing(tmp_path):
    # A Glue job writes through the lake: its failure before the rename leaves the old partition.
    lake = Lake(tmp_path / "lake")
    con = duckdb.connect()
    lake.write_partition("analytics", "channel_roas", DS, "SELECT 'search' AS channel, 2.5 AS roas", con)
    with pytest.raises(duckdb.Error):
        lake.write_partition("analytics", "channel_roas", DS, "SELECT 1 / 'x' AS broken", con)
    assert con.execute(
        f"SELECT channel, roas FROM '{lake.partition_file('analytics', 'channel_roas', DS)}'"
    ).fetchall() == [("search", 2.5)]


# --- a worker killed in the middle of a write ------------------------------------------------------

WRITER = textwrap.dedent(
    """
    import sys, duckdb
    from pathlib import Path
    from adplan.lake import Lake
    lake = Lake(Path(sys.argv[1]))
    con = duckdb.connect()
    con.execute("SET threads = 1")
    print("writing", flush=True)
    # A slow query: the kill lands while its Parquet file is being written.
    lake.write_partition(
        "curated", "identity_graph", sys.argv[2],
        "SELECT range AS record_id, md5(range::VARCHAR || repeat('x', 200)) AS person_id "
        "FROM range(400000000)",
        con,
    )
    print("finished", flush=True)
    """
)


def test_a_worker_killed_mid_write_leaves_the_old_partition_and_a_rerun_replaces_it(tmp_path):
    lake = Lake(tmp_path / "lake")
    con = duckdb.connect()
    old = "SELECT 'crm' AS source, '1' AS record_id, 'p1' AS person_id"
    path = lake.write_partition("curated", "identity_graph", DS, old, con)
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(lake.root), DS],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert writer.stdout.readline().strip() == "writing"
    partition_dir = path.parent
    deadline = time.monotonic() + 60
    # Kill once the half-written file exists beside the partition (SIGKILL: no cleanup runs).
    while not any(p.name.startswith(".tmp") for p in partition_dir.iterdir()):
        assert writer.poll() is None and time.monotonic() < deadline, "the writer never started writing"
        time.sleep(0.05)
    os.killpg(writer.pid, signal.SIGKILL)
    writer.wait(timeout=30)
    assert writer.returncode == -signal.SIGKILL

    # Readers see the previous partition whole, and only it: the half-written file is hidden.
    assert lake.partitions("curated", "identity_graph") == [DS]
    glob = lake.table_glob("curated", "identity_graph")
    assert con.execute(f"SELECT source, record_id, person_id FROM '{glob}'").fetchall() == [
        ("crm", "1", "p1")
    ]
    # The retry writes the partition in full.
    new = "SELECT 'crm' AS source, '1' AS record_id, 'p9' AS person_id"
    lake.write_partition("curated", "identity_graph", DS, new, con)
    assert con.execute(f"SELECT person_id FROM '{path}'").fetchall() == [("p9",)]


# --- a task that fails for good --------------------------------------------------------------------


def test_a_task_that_fails_for_good_is_announced_without_its_error_text(caplog):
    from adplan.alerts import AlertsConfig, Channel, TaskFailureNotifier

    ti = SimpleNamespace(
        dag_id="identity_resolution", task_id="match", run_id="asset_triggered__x", try_number=3
    )
    error = ValueError("crm_customers.csv row 7 field email: jane@example.com is not an email")
    notifier = TaskFailureNotifier(config=AlertsConfig(channels=(Channel("log"),)))
    with caplog.at_level(logging.WARNING, logger="adplan.alerts"):
        notifier.notify({"ti": ti, "exception": error, "ds": DS})
    (record,) = [r for r in caplog.records if r.name == "adplan.alerts"]
    message = record.getMessage()
    assert "identity_resolution.match failed for 2026-11-28" in message and "ValueError" in message
    assert "jane@example.com" not in message  # the error text can carry values; the alert does not
