"""The dashboard's Athena reader (aws target) against a botocore Stubber that answers like Athena.

moto's Athena runs no SQL, so the Stubber is fed as the calls come: each ``StartQueryExecution`` is
checked (workgroup, database, result location, ``ResultReuseConfiguration``) and its Athena SQL is
transpiled back to DuckDB and run on the test world's warehouse; ``GetQueryResults`` then serves that
result the way Athena does (text cells, a header row first, typed column metadata, pages of
``MaxResults`` rows with a ``NextToken``). The reader's frames must equal the local reader's.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import botocore.session
import pytest
import sqlglot
from botocore.stub import ANY, Stubber
from fastapi.testclient import TestClient
from insights_world import DS

from adplan import sqlfiles
from adplan.insights import jobs
from adplan.insights.athena import AthenaQueryError, AthenaReader, to_athena
from adplan.insights.data import _QUERIES, CAMPAIGNS_SQL, KPIS_DAILY_SQL, _at_latest, load_dashboard_data
from adplan.insights.web import create_app
from adplan.settings import get_settings
from adplan.warehouse import Warehouse

WORKGROUP = "adplan-insights"
BUCKET = "adplan-test-lake"
REUSE = {"ResultReuseByAgeConfiguration": {"Enabled": True, "MaxAgeInMinutes": 60}}


def athena_type(duckdb_type: str) -> str:
    kind = duckdb_type.upper()
    for prefix, name in (
        ("HUGEINT", "bigint"),
        ("BIGINT", "bigint"),
        ("INTEGER", "integer"),
        ("DOUBLE", "double"),
        ("FLOAT", "real"),
        ("DECIMAL", "decimal"),
        ("BOOLEAN", "boolean"),
        ("DATE", "date"),
        ("TIMESTAMP", "timestamp"),
    ):
        if kind.startswith(prefix):
            return name
    return "varchar"


def athena_text(value: Any) -> dict[str, str]:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return {}
    if isinstance(value, bool):
        return {"VarCharValue": "true" if value else "false"}
    if isinstance(value, datetime):
        return {"VarCharValue": value.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]}
    if isinstance(value, date | Decimal | int | float | str):
        return {"VarCharValue": value.isoformat() if isinstance(value, date) else str(value)}
    raise TypeError(type(value))


class AthenaOnDuckDB:
    """A Stubber on an Athena client, fed per call with results the warehouse computes."""

    def __init__(self, client, warehouse: Warehouse, fail_on: str | None = None) -> None:
        self.client = client
        self.warehouse = warehouse
        self.fail_on = fail_on
        self.stubber = Stubber(client)
        self.results: dict[str, list[dict]] = {}
        self.metadata: dict[str, list[dict]] = {}
        self.sql: dict[str, str] = {}
        self.pages = 0
        client.meta.events.register("provide-client-params.athena.*", self.feed)
        self.stubber.activate()

    def feed(self, params: dict, model, **_: Any) -> None:
        name = model.name
        if name == "StartQueryExecution":
            query_id = f"q{len(self.sql) + 1}"
            self.sql[query_id] = params["QueryString"]
            expected = {
                "QueryString": ANY,
                "QueryExecutionContext": {"Database": "main"},
                "ResultConfiguration": {"OutputLocation": f"s3://{BUCKET}/athena-results/"},
                "WorkGroup": WORKGROUP,
                "ResultReuseConfiguration": REUSE,
            }
            self.stubber.add_response("start_query_execution", {"QueryExecutionId": query_id}, expected)
            self.execute(query_id, params["QueryString"])
        elif name == "BatchGetQueryExecution":
            executions = []
            for query_id in params["QueryExecutionIds"]:
                failed = self.fail_on is not None and self.fail_on in self.sql[query_id]
                status = {"State": "FAILED", "StateChangeReason": "TABLE_NOT_FOUND"} if failed else {}
                executions.append({"QueryExecutionId": query_id, "Status": status or {"State": "SUCCEEDED"}})
            self.stubber.add_response(
                "batch_get_query_execution", {"QueryExecutions": executions}, dict(params)
            )
        elif name == "GetQueryResults":
            query_id, size = params["QueryExecutionId"], params.get("MaxResults", 1000)
            start = int(params.get("NextToken") or 0)
            rows = self.results[query_id]
            page: dict[str, Any] = {
                "ResultSet": {
                    "Rows": rows[start : start + size],
                    "ResultSetMetadata": {"ColumnInfo": self.metadata[query_id]},
                }
            }
            if start + size < len(rows):
                page["NextToken"] = str(start + size)
            self.pages += 1
            self.stubber.add_response("get_query_results", page, dict(params))

    def execute(self, query_id: str, athena_sql: str) -> None:
        if self.fail_on is not None and self.fail_on in athena_sql:
            self.results[query_id], self.metadata[query_id] = [], []
            return
        con = self.warehouse.connect()
        try:
            relation = con.sql(sqlfiles.to_duckdb(athena_sql))
            columns, types, rows = relation.columns, [str(t) for t in relation.types], relation.fetchall()
        finally:
            con.close()
        header = {"Data": [{"VarCharValue": c} for c in columns]}
        self.results[query_id] = [header] + [{"Data": [athena_text(v) for v in row]} for row in rows]
        self.metadata[query_id] = [
            {"Name": c, "Type": athena_type(t)} for c, t in zip(columns, types, strict=True)
        ]


@pytest.fixture
def athena(world, fake_aws, monkeypatch):
    """The aws target's settings, and every AthenaHook's client stubbed by AthenaOnDuckDB."""
    from airflow.providers.amazon.aws.hooks.athena import AthenaHook

    monkeypatch.setenv("ADPLAN_TARGET", "aws")
    monkeypatch.setenv("ADPLAN_GLUE_DATABASE", "main")  # the warehouse's schema stands for the Glue database
    monkeypatch.setenv("ADPLAN_ATHENA_WORKGROUP", WORKGROUP)
    monkeypatch.setenv("ADPLAN_BUCKET", BUCKET)
    get_settings.cache_clear()
    client = botocore.session.get_session().create_client(
        "athena", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    monkeypatch.setattr(AthenaHook, "conn", client)
    fake = AthenaOnDuckDB(client, Warehouse.from_settings())
    yield fake
    fake.stubber.assert_no_pending_responses()


def local_view(data: dict) -> dict:
    return {key: value for key, value in data.items() if key != "generated_at"}


def test_reader_matches_the_local_reader_marts_not_built(athena):
    expected = load_dashboard_data(DS)
    got = AthenaReader(page_size=2).load_dashboard_data(DS)
    assert local_view(got) == local_view(expected)
    assert got["tables"]["kpis_daily"]["rows"] and got["campaigns"][0]["campaign_id"] == "C1"
    assert athena.pages > len(athena.sql)  # results came in several pages
    # the KPI marts were computed by their SQL files on Athena, as the local reader does in memory
    assert any("WITH" in sql and "curated_media_plan" in sql for sql in athena.sql.values())


def test_reader_reads_built_marts_with_result_reuse(athena):
    # The marts are built on the local lake the test world lives in (the target is aws for the reader).
    lake = str(get_settings().lake_dir)
    jobs.build_marts(DS, lake=lake)
    jobs.build_marts(DS, lake=lake)  # (a rerun replaces the partition)
    for model in ("linear", "last_touch"):
        expected = load_dashboard_data(DS, model)
        assert local_view(AthenaReader().load_dashboard_data(DS, model)) == local_view(expected)
    built = [sql for sql in athena.sql.values() if "FROM \"campaign_pacing\" WHERE dt = '2026-03-10'" in sql]
    assert built  # the partition, not the SQL file
    # every query was checked by the Stubber for workgroup, database, output and ResultReuseConfiguration
    assert len(athena.sql) >= 20


def test_default_date_and_web_app_on_the_aws_target(athena):
    body = TestClient(create_app()).get("/api/kpis", params={"campaign_id": "C1"}).json()
    assert body["ds"] == DS and body["available"]
    assert (body["totals"]["impressions"], body["totals"]["spend"]) == (6, 3.0)
    page = TestClient(create_app()).get("/", params={"ds": DS})
    assert page.status_code == 200 and '<section id="pacing">' in page.text


def test_failed_query_reports_athena_reason(world, fake_aws, monkeypatch):
    from airflow.providers.amazon.aws.hooks.athena import AthenaHook

    monkeypatch.setenv("ADPLAN_GLUE_DATABASE", "main")
    monkeypatch.setenv("ADPLAN_ATHENA_WORKGROUP", WORKGROUP)
    monkeypatch.setenv("ADPLAN_BUCKET", BUCKET)
    get_settings.cache_clear()
    client = botocore.session.get_session().create_client("athena", region_name="us-east-1")
    monkeypatch.setattr(AthenaHook, "conn", client)
    AthenaOnDuckDB(client, Warehouse.from_settings(), fail_on="information_schema")
    with pytest.raises(AthenaQueryError, match="FAILED: TABLE_NOT_FOUND"):
        AthenaReader().load_dashboard_data(DS)
    monkeypatch.setenv("ADPLAN_TARGET", "aws")
    get_settings.cache_clear()
    response = TestClient(create_app()).get("/api/kpis", params={"ds": DS})
    assert response.status_code == 502 and "TABLE_NOT_FOUND" in response.json()["detail"]
    with pytest.raises(ValueError, match="invalid date"):
        AthenaReader(client=client).load_dashboard_data("2026-03-10' OR 1=1 --")


def test_every_dashboard_query_transpiles_to_athena_sql():
    queries = [KPIS_DAILY_SQL.format(campaign_kpis_daily="t"), CAMPAIGNS_SQL.format(curated_campaigns="t")]
    queries += [sql.format(**{t: _at_latest(t, DS) for t in needs}) for needs, sql in _QUERIES.values()]
    for query in queries:
        athena_sql, dropped = to_athena(query)
        sqlglot.parse_one(athena_sql, read="trino")
        assert "EXCLUDE" not in athena_sql and "EXCEPT" not in athena_sql and "IGNORE NULLS" not in athena_sql
    sql, dropped = to_athena('SELECT * EXCLUDE (dt) FROM "m"', {"m": "SELECT 1 AS a, '2026' AS dt"})
    assert dropped == ("dt",) and sql == "SELECT * FROM (SELECT 1 AS a, '2026' AS dt) AS m"
