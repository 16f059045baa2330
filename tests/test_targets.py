"""The aws builders configure the provider's operators from the settings, never from DAG files."""

from __future__ import annotations

import pytest
from airflow.sdk import DAG

from adplan.dag_defaults import dag_kwargs
from adplan.settings import get_settings
from adplan.targets import builders


@pytest.fixture
def aws(monkeypatch):
    monkeypatch.setenv("ADPLAN_BUCKET", "acme-lake")
    monkeypatch.setenv("ADPLAN_AWS_CONN_ID", "acme_aws")
    monkeypatch.setenv("ADPLAN_REGION", "eu-west-1")
    monkeypatch.setenv("ADPLAN_ATHENA_WORKGROUP", "planning")
    get_settings.cache_clear()
    yield builders("aws")
    get_settings.cache_clear()


def test_query_into_a_table_clears_the_partition_then_unloads(aws):
    with DAG("t", **dag_kwargs()) as dag:
        aws.query("kpis", "insights/kpis.sql", output_table="campaign_kpis_daily", params={"model": "markov"})
    clear, unload = dag.get_task("kpis.clear_partition"), dag.get_task("kpis.unload")
    assert clear.bucket == "acme-lake"
    assert clear.prefix == "analytics/campaign_kpis_daily/dt={{ run_ds() }}/"
    assert unload.upstream_task_ids == {"kpis.clear_partition"}
    assert unload.query.startswith("{% set ds = run_ds() %}UNLOAD (\n{% include 'insights/kpis.sql' %}\n)")
    assert "TO 's3://acme-lake/analytics/campaign_kpis_daily/dt={{ run_ds() }}/'" in unload.query
    assert unload.workgroup == "planning"
    assert unload.params["model"] == "markov"
    assert unload.aws_conn_id == "acme_aws"
    assert unload.region_name == "eu-west-1"


def test_plain_query_is_one_athena_operator_on_the_file(aws):
    with DAG("t", **dag_kwargs()) as dag:
        aws.query("check", "hygiene/check.sql")
    (task,) = dag.tasks
    assert type(task).__name__ == "AthenaOperator"
    assert task.query == "{% set ds = run_ds() %}{% include 'hygiene/check.sql' %}"
    assert task.output_location == "s3://acme-lake/athena-results/"


def test_job_runs_the_generic_glue_job_with_the_job_name_and_date(aws):
    with DAG("t", **dag_kwargs()) as dag:
        aws.job("ingest", "hygiene.ingest", params={"source": "orders"})
    (task,) = dag.tasks
    assert task.job_name == "adplan-job"
    assert task.script_args["--job"] == "hygiene.ingest"
    assert task.script_args["--ds"] == "{{ run_ds() }}"
    assert task.script_args["--params"] == '{"source": "orders"}'
    assert task.script_args["--lake"] == "s3://acme-lake"
    assert task.deferrable is True


def test_state_machine_run_starts_and_waits(aws):
    with DAG("t", **dag_kwargs()) as dag:
        aws.state_machine_run(
            "creative", "arn:aws:states:eu-west-1:1:stateMachine:x", local_job="creative.generate"
        )
    start, wait = dag.get_task("creative.start"), dag.get_task("creative.wait")
    assert start.state_machine_arn == "arn:aws:states:eu-west-1:1:stateMachine:x"
    assert wait.upstream_task_ids == {"creative.start"}


def test_dashboard_refresh_ingests_each_dataset(aws):
    with DAG("t", **dag_kwargs()) as dag:
        aws.dashboard_refresh("refresh", ["kpis", "roas"], local_job="insights.report")
    assert {task.task_id for task in dag.tasks} == {
        "refresh.ingest_kpis",
        "refresh.wait_kpis",
        "refresh.ingest_roas",
        "refresh.wait_roas",
    }


def test_local_builders_make_python_tasks():
    local = builders("local")
    with DAG("t", **dag_kwargs()) as dag:
        local.job("ingest", "hygiene.ingest", params={"source": "orders"})
        local.query("kpis", "insights/kpis.sql", output_table="campaign_kpis_daily")
    assert {type(task).__name__ for task in dag.tasks} == {"_PythonDecoratedOperator"}


def test_aws_quality_checks_crawl_the_zone_then_check_the_runs_partition_on_athena(aws):
    with DAG("t", **dag_kwargs()) as dag:
        aws.quality_checks(
            "check_graph",
            "curated",
            "identity_graph",
            column_checks={"person_id": {"null_check": {"equal_to": 0}}},
            table_checks={"has_rows": {"check_statement": "COUNT(*) > 0"}},
        )
    crawl, columns, table = (
        dag.get_task(f"check_graph.{name}") for name in ("update_catalog", "columns", "table")
    )
    assert crawl.crawler_name == "adplan-curated"
    assert columns.upstream_task_ids == {"check_graph.update_catalog"}
    assert table.upstream_task_ids == {"check_graph.columns"}
    assert columns.conn_id == "adplan_athena"
    assert columns.table == '"adplan"."identity_graph"'
    assert table.partition_clause == "dt = '{{ run_ds() }}'"
