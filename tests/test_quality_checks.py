"""Data-quality checks: the common-sql check operators on the local lake's Parquet through DuckDB."""

from __future__ import annotations

import duckdb
import pytest
from airflow.providers.common.sql.operators.sql import SQLColumnCheckOperator, SQLTableCheckOperator
from airflow.sdk import DAG, Asset

from adplan import airflow_env
from adplan.targets.local import _check_group


@pytest.fixture
def partition(tmp_path, monkeypatch):
    for key, value in airflow_env.defaults().items():
        if key.startswith("AIRFLOW_CONN_"):
            monkeypatch.setenv(key, value)
    path = tmp_path / "identity_graph.parquet"
    return path


def write(path, rows: str) -> str:
    duckdb.execute(
        f"COPY (SELECT * FROM (VALUES {rows}) t(source, record_id, person_id)) TO '{path}' (FORMAT parquet)"
    )
    return f"read_parquet('{path}')"


def checks(table: str) -> list:
    with DAG("quality_checks_test", schedule=None):
        group = _check_group(
            "check",
            "duckdb_default",
            table,
            None,
            {"person_id": {"null_check": {"equal_to": 0}}},
            {
                "one_person_per_record": {
                    "check_statement": "COUNT(*) = COUNT(DISTINCT source || '/' || record_id)"
                }
            },
            [Asset("s3://adplan-lake/curated/identity_graph/")],
        )
    return list(group.children.values())


def test_a_clean_partition_passes_and_only_the_last_check_publishes_the_asset(partition):
    columns, table = checks(write(partition, "('crm', '1', 'p1'), ('crm', '2', 'p1'), ('pub', '1', 'p2')"))
    assert isinstance(columns, SQLColumnCheckOperator) and isinstance(table, SQLTableCheckOperator)
    assert columns.outlets == [] and [a.uri for a in table.outlets] == [
        "s3://adplan-lake/curated/identity_graph"
    ]
    assert table in columns.downstream_list
    columns.execute(context={})
    table.execute(context={})


def test_a_null_person_fails_the_column_check_naming_it(partition):
    columns, _ = checks(write(partition, "('crm', '1', 'p1'), ('crm', '2', NULL)"))
    with pytest.raises(Exception, match="person_id"):
        columns.execute(context={})


def test_a_record_in_two_clusters_fails_the_table_check_naming_it(partition):
    _, table = checks(write(partition, "('crm', '1', 'p1'), ('crm', '1', 'p2')"))
    with pytest.raises(Exception, match="one_person_per_record"):
        table.execute(context={})
