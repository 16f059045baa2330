from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest

from adplan.lake import Lake, atomic_directory
from adplan.warehouse import Warehouse


@pytest.fixture
def lake(tmp_path):
    return Lake(tmp_path / "lake")


def test_partition_layout_and_rerun_replaces(lake):
    lake.write_partition("curated", "curated_orders", "2026-11-28", pa.table({"id": [1, 2, 3]}))
    lake.write_partition("curated", "curated_orders", "2026-11-28", pa.table({"id": [7]}))
    path = lake.root / "curated" / "curated_orders" / "dt=2026-11-28" / "data.parquet"
    assert path.is_file()
    assert duckdb.sql(f"SELECT id FROM '{path}'").fetchall() == [(7,)]
    assert lake.partitions("curated", "curated_orders") == ["2026-11-28"]


def test_failed_write_keeps_the_old_partition(lake):
    lake.write_partition("raw", "raw_orders", "2026-11-28", pa.table({"id": [1, 2]}))
    con = duckdb.connect()
    with pytest.raises(duckdb.Error):
        lake.write_partition("raw", "raw_orders", "2026-11-28", "SELECT no_such_column FROM range(3)", con)
    partition = lake.partition_dir("raw", "raw_orders", "2026-11-28")
    assert sorted(p.name for p in partition.iterdir()) == ["data.parquet"]
    assert duckdb.sql(f"SELECT count(*) FROM '{partition / 'data.parquet'}'").fetchall() == [(2,)]


def test_write_from_sql_relation_and_frame(lake):
    con = duckdb.connect()
    lake.write_partition("analytics", "t_sql", "2026-11-01", "SELECT range AS n FROM range(5)", con)
    lake.write_partition("analytics", "t_rel", "2026-11-01", con.sql("SELECT 1 AS n"))
    lake.write_partition("analytics", "t_pd", "2026-11-01", pa.table({"n": [1]}).to_pandas())
    assert [table for _, table in lake.tables()] == ["t_pd", "t_rel", "t_sql"]


def test_landing_is_not_a_table_zone(lake):
    with pytest.raises(ValueError, match="landing"):
        lake.write_partition("landing", "orders", "2026-11-28", pa.table({"id": [1]}))
    with pytest.raises(ValueError, match="unknown lake zone"):
        lake.table_dir("nowhere", "x")


def test_atomic_directory_swaps_whole_or_not_at_all(tmp_path):
    target = tmp_path / "exports" / "segment_a"
    with atomic_directory(target) as tmp:
        (tmp / "part-1.csv").write_text("a\n")
    with pytest.raises(RuntimeError), atomic_directory(target) as tmp:
        (tmp / "part-1.csv").write_text("half\n")
        raise RuntimeError("killed")
    assert [p.name for p in target.iterdir()] == ["part-1.csv"]
    assert (target / "part-1.csv").read_text() == "a\n"
    assert [p.name for p in target.parent.iterdir()] == ["segment_a"]


def test_warehouse_views_union_partitions_with_string_dt(tmp_path, lake):
    lake.write_partition("curated", "curated_orders", "2026-11-27", pa.table({"id": [1]}))
    lake.write_partition("curated", "curated_orders", "2026-11-28", pa.table({"id": [2, 3]}))
    warehouse = Warehouse(lake, tmp_path / "warehouse.duckdb")
    con = warehouse.connect()
    rows = con.execute("SELECT dt, count(*) FROM curated_orders GROUP BY dt ORDER BY dt").fetchall()
    assert rows == [("2026-11-27", 1), ("2026-11-28", 2)]
    warehouse.refresh_catalog()
    catalog = duckdb.connect(str(warehouse.catalog_path), read_only=True)
    assert catalog.execute("SELECT count(*) FROM curated_orders").fetchall() == [(3,)]


def test_inside_an_airflow_task_s3_uses_the_projects_aws_connection(monkeypatch):
    from adplan.s3files import s3_client

    monkeypatch.setenv("AIRFLOW_CTX_DAG_ID", "media_attribution")
    monkeypatch.setenv(
        "AIRFLOW_CONN_AWS_DEFAULT", '{"conn_type": "aws", "login": "AKIDFROMCONN", "password": "s"}'
    )
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    client = s3_client("us-east-1")
    assert client._request_signer._credentials.access_key == "AKIDFROMCONN"
    monkeypatch.delenv("AIRFLOW_CTX_DAG_ID")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDFROMENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s")
    assert s3_client("us-east-1")._request_signer._credentials.access_key == "AKIDFROMENV"
