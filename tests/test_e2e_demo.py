"""End to end on the local target: `adplan demo` generates a world and runs every DAG through Airflow."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from adplan.airflow_run import PIPELINE
from adplan.settings import PROJECT_DIR

pytestmark = pytest.mark.slow(minutes=3)

DS = "2026-11-28"


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("demo-home")
    env = {**os.environ, "ADPLAN_HOME": str(home)}
    # The lineage folder follows ADPLAN_HOME: drop the value this test process set for its own home.
    env.pop("AIRFLOW__OPENLINEAGE__TRANSPORT", None)
    adplan = Path(sys.executable).with_name("adplan")
    result = subprocess.run(
        [str(adplan), "demo", "--people", "1500", "--date", DS],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return home, result.stdout


def test_every_dag_ran_and_succeeded(demo_home):
    _, output = demo_home
    for dag_id in PIPELINE:
        if (PROJECT_DIR / "dags" / f"{dag_id}.py").exists():
            assert f"{dag_id}: success" in output


def test_hygiene_counts_reconcile(demo_home):
    home, _ = demo_home
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    rows = con.execute(
        f"SELECT source, rows_in, accepted, quarantined FROM hygiene_reconciliation WHERE dt = '{DS}'"
    ).fetchall()
    assert len(rows) == 11
    for source, rows_in, accepted, quarantined in rows:
        assert rows_in == accepted + quarantined, source
        assert quarantined > 0, f"{source}: the generator plants malformed rows in every source"
    quarantined = con.execute(f"SELECT count(*) FROM quarantine WHERE dt = '{DS}'").fetchall()[0][0]
    assert quarantined == sum(row[3] for row in rows)


def test_every_record_of_the_identity_sources_has_a_person(demo_home):
    home, _ = demo_home
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    graph = con.execute(
        f"SELECT count(*) FROM identity_graph WHERE dt = '{DS}' AND person_id IS NULL"
    ).fetchall()
    assert graph == [(0,)]
    crm = con.execute(
        f"""SELECT count(*) FROM curated_crm_customers c
            LEFT JOIN identity_graph g ON g.source = 'crm_customers' AND g.record_id = c.customer_id AND g.dt = c.dt
            WHERE c.dt = '{DS}' AND g.person_id IS NULL"""
    ).fetchall()
    assert crm == [(0,)]


def test_no_raw_pii_in_analytics_or_creative_zones(demo_home):
    home, _ = demo_home
    con = duckdb.connect()
    crm = home / "lake" / "curated" / "curated_crm_customers" / f"dt={DS}" / "data.parquet"
    emails = {row[0] for row in con.execute(f"SELECT email FROM '{crm}' WHERE email IS NOT NULL").fetchall()}
    assert emails
    for zone in ("analytics", "creative", "cleanrooms"):
        for path in (home / "lake" / zone).rglob("*"):
            if path.suffix in {".parquet", ".csv", ".json", ".html"}:
                text = (
                    json.dumps(con.execute(f"SELECT * FROM '{path}'").fetchall(), default=str)
                    if path.suffix == ".parquet"
                    else path.read_text(errors="replace")
                )
                leaked = [email for email in list(emails)[:200] if email in text]
                assert not leaked, f"{path} holds raw emails"


def test_lineage_events_link_each_dag_to_the_tables_it_publishes_without_pii(demo_home):
    home, _ = demo_home
    con = duckdb.connect()
    crm = home / "lake" / "curated" / "curated_crm_customers" / f"dt={DS}" / "data.parquet"
    emails = [
        row[0]
        for row in con.execute(f"SELECT email FROM '{crm}' WHERE email IS NOT NULL LIMIT 200").fetchall()
    ]
    outputs: dict[str, set[str]] = {}
    for path in (home / "lineage").iterdir():
        text = path.read_text()
        assert not [email for email in emails if email in text], f"{path} holds raw emails"
        event = json.loads(text)
        if event.get("eventType") == "COMPLETE":
            dag_id = event["job"]["name"].split(".")[0]
            outputs.setdefault(dag_id, set()).update(
                f"{o['namespace']}/{o['name']}" for o in event["outputs"]
            )
    assert "s3://adplan-lake/curated/curated_crm_customers" in outputs["ingest_and_hygiene"]
    # The graph is published by its quality checks, so that is where its lineage points.
    assert "s3://adplan-lake/curated/identity_graph" in outputs["identity_resolution"]
    assert "s3://adplan-lake/analytics/attribution_credits" in outputs["media_attribution"]
    assert "s3://adplan-lake/creative/creatives" in outputs["personalization"]


def test_demo_writes_the_static_dashboard(demo_home):
    home, output = demo_home
    report = home / "lake" / "analytics" / "report" / f"dt={DS}" / "report.html"
    assert f"dashboard (open in a browser): {report}" in output
    html = report.read_text()
    assert '<script src="http' not in html
    assert "campaign" in html.lower()


def test_rerun_of_one_source_from_the_ui_params_replaces_only_that_source(demo_home):
    home, _ = demo_home
    lake = home / "lake"
    orders = lake / "raw" / "raw_orders" / f"dt={DS}" / "data.parquet"
    crm = lake / "raw" / "raw_crm_customers" / f"dt={DS}" / "data.parquet"
    before = {path: (path.stat().st_mtime_ns, path.read_bytes()) for path in (orders, crm)}
    adplan = Path(sys.executable).with_name("adplan")
    result = subprocess.run(
        [str(adplan), "run", "ingest_and_hygiene", "--date", DS, "--conf", '{"sources": "orders"}'],
        env={**os.environ, "ADPLAN_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert orders.stat().st_mtime_ns > before[orders][0], "the selected source is rewritten"
    assert orders.read_bytes() == before[orders][1], "a rerun for the same date gives the same table"
    assert crm.stat().st_mtime_ns == before[crm][0], "sources left out are not touched"
