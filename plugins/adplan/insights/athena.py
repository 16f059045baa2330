"""The dashboard's data on the aws target: the local reader's queries, run on Athena.

``AthenaReader().load_dashboard_data(ds, model)`` returns what ``adplan.insights.data.load_dashboard_data``
returns on the local target (same keys, same table columns, same value types), read from the Glue
tables of the lake through Athena:

* the queries are the local reader's DuckDB text (``data.KPIS_DAILY_SQL``, ``data.CAMPAIGNS_SQL``,
  ``data._QUERIES``) transpiled to Athena (Trino) SQL by sqlglot; ``* EXCLUDE (dt)`` becomes ``*`` and
  the column is dropped from the result;
* a KPI mart not built for ``ds`` runs its SQL file (``sql/insights``, Athena SQL already) as a
  subquery, as the local reader runs it in memory;
* every query asks for query result reuse (``ResultReuseConfiguration``, up to
  ``Settings.athena_result_reuse_minutes``, 60 by default), in the workgroup, database and result
  location of ``Settings``; the queries of a step start together and are polled with one
  ``BatchGetQueryExecution``; results are paged with ``GetQueryResults`` and typed from their metadata.

The client comes from the Amazon provider's ``AthenaHook`` (the Airflow connection
``Settings.aws_conn_id``), as the dashboard runs in the Airflow API server.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime
from typing import Any

import sqlglot
from sqlglot import exp

from adplan import sqlfiles
from adplan.insights import data as local
from adplan.insights.data import AthenaQueryError
from adplan.settings import Settings, get_settings

PAGE_SIZE = 1000
TERMINAL = ("SUCCEEDED", "FAILED", "CANCELLED")
_INTEGERS = ("tinyint", "smallint", "integer", "int", "bigint")
_FLOATS = ("double", "float", "real", "decimal")


def reuse_minutes(settings: Settings) -> int:
    return settings.athena_result_reuse_minutes


def to_athena(duckdb_sql: str, sources: dict[str, str] | None = None) -> tuple[str, tuple[str, ...]]:
    """Transpile one dashboard query from DuckDB to Athena SQL.

    ``sources`` replaces a table by a subquery written in Athena SQL (a mart's SQL file). Returns the
    SQL and the columns that ``* EXCLUDE (...)`` left out, which the caller drops from the result.
    """
    tree = sqlglot.parse_one(duckdb_sql, read="duckdb")
    dropped: list[str] = []
    for star in list(tree.find_all(exp.Star)):
        excluded = star.args.get("except_") or star.args.get("except")
        if excluded:
            dropped += [column.name for column in excluded]
            star.set("except_" if "except_" in star.args else "except", None)
    for table in list(tree.find_all(exp.Table)):
        if sources and table.name in sources and not table.db:
            subquery = sqlglot.parse_one(sources[table.name], read="trino")
            alias = table.alias_or_name
            table.replace(exp.Subquery(this=subquery, alias=exp.TableAlias(this=exp.to_identifier(alias))))
    return tree.sql(dialect="trino"), tuple(dropped)


def _value(text: str | None, athena_type: str) -> Any:
    """A result cell (always text in GetQueryResults) as the local reader's JSON value."""
    if text is None:
        return None
    kind = athena_type.lower().split("(")[0].strip()
    if kind in _INTEGERS:
        return int(text)
    if kind in _FLOATS:
        number = float(text)
        return number if math.isfinite(number) else None
    if kind == "boolean":
        return text.lower() == "true"
    if kind.startswith("timestamp"):
        return datetime.fromisoformat(text.replace(" UTC", "")).isoformat()
    return text


class AthenaReader:
    """Runs the dashboard's queries on Athena and returns the local reader's frames."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        client: Any = None,
        poll_seconds: float = 0.5,
        timeout_seconds: float = 120.0,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self.settings = settings or get_settings()
        self._client = client
        self.poll_seconds = poll_seconds
        self.timeout_seconds = timeout_seconds
        self.page_size = page_size

    @property
    def client(self) -> Any:
        if self._client is None:
            from airflow.providers.amazon.aws.hooks.athena import AthenaHook

            hook = AthenaHook(aws_conn_id=self.settings.aws_conn_id, region_name=self.settings.region)
            self._client = hook.conn
        return self._client

    # ---- running queries
    def start(self, sql: str) -> str:
        response = self.client.start_query_execution(
            QueryString=sql,
            QueryExecutionContext={"Database": self.settings.glue_database},
            ResultConfiguration={"OutputLocation": self.settings.athena_output_location},
            WorkGroup=self.settings.athena_workgroup,
            ResultReuseConfiguration={
                "ResultReuseByAgeConfiguration": {
                    "Enabled": True,
                    "MaxAgeInMinutes": reuse_minutes(self.settings),
                }
            },
        )
        return response["QueryExecutionId"]

    def wait(self, ids: list[str]) -> None:
        """Poll the queries together until each has finished; a failed one raises with its reason."""
        pending = list(dict.fromkeys(ids))
        deadline = time.monotonic() + self.timeout_seconds
        delay = self.poll_seconds
        while pending:
            response = self.client.batch_get_query_execution(QueryExecutionIds=pending)
            for failure in response.get("UnprocessedQueryExecutionIds", []):
                raise AthenaQueryError(f"Athena query {failure.get('QueryExecutionId')}: {failure}")
            for execution in response["QueryExecutions"]:
                status = execution["Status"]
                if status["State"] not in TERMINAL:
                    continue
                pending.remove(execution["QueryExecutionId"])
                if status["State"] != "SUCCEEDED":
                    raise AthenaQueryError(
                        f"Athena query {execution['QueryExecutionId']} {status['State']}: "
                        f"{status.get('StateChangeReason', 'no reason given')}"
                    )
            if pending:
                if time.monotonic() > deadline:
                    raise AthenaQueryError(f"Athena queries still running after {self.timeout_seconds:g} s")
                time.sleep(delay)
                delay = min(delay * 2, 5.0)

    def results(self, query_id: str, drop: tuple[str, ...] = ()) -> dict[str, Any]:
        """Every page of the query's results as ``{"columns", "rows"}`` with typed values."""
        paginator = self.client.get_paginator("get_query_results")
        columns: list[str] = []
        types: list[str] = []
        rows: list[list[Any]] = []
        first = True
        for page in paginator.paginate(
            QueryExecutionId=query_id, PaginationConfig={"PageSize": self.page_size}
        ):
            result_rows = page["ResultSet"]["Rows"]
            if first:
                info = page["ResultSet"]["ResultSetMetadata"]["ColumnInfo"]
                columns = [column["Name"] for column in info]
                types = [column["Type"] for column in info]
                result_rows = result_rows[1:]  # the header row
                first = False
            for row in result_rows:
                cells = [cell.get("VarCharValue") for cell in row["Data"]]
                rows.append([_value(cell, kind) for cell, kind in zip(cells, types, strict=True)])
        keep = [i for i, name in enumerate(columns) if name not in drop]
        return {"columns": [columns[i] for i in keep], "rows": [[row[i] for i in keep] for row in rows]}

    def run(self, queries: dict[str, tuple[str, tuple[str, ...]]]) -> dict[str, dict[str, Any]]:
        """Start every query, wait for all, then read each: name -> table."""
        ids = {name: self.start(sql) for name, (sql, _) in queries.items()}
        self.wait(list(ids.values()))
        return {name: self.results(ids[name], queries[name][1]) for name in queries}

    def one(self, duckdb_sql: str) -> list[dict[str, Any]]:
        return local.records(self.run({"q": to_athena(duckdb_sql)})["q"])

    # ---- the dashboard
    def tables(self) -> set[str]:
        database = self.settings.glue_database.replace("'", "''")
        rows = self.one(f"SELECT table_name FROM information_schema.tables WHERE table_schema = '{database}'")
        return {row["table_name"] for row in rows}

    def default_ds(self, tables: set[str]) -> str | None:
        for table in ("campaign_kpis_daily", "curated_campaigns", "curated_spend"):
            if table in tables:
                found = self.one(f'SELECT max(dt) AS dt FROM "{table}"')[0]["dt"]
                if found:
                    return found
        return None

    def partitions(self, tables: set[str], ds: str, model: str) -> dict[str, tuple[str | None, int]]:
        """table -> (latest dt on or before ds, rows at dt = ds), for the tables the dashboard reads."""
        wanted = [*local.MART_SQL, *(needs[0] for needs, _ in local._QUERIES.values()), "curated_campaigns"]
        probes = []
        for table in dict.fromkeys(t for t in wanted if t in tables):
            at_ds = f"dt = '{ds}'" + (f" AND model = '{model}'" if table == "campaign_kpis_daily" else "")
            probes.append(
                f"SELECT '{table}' AS name, max(dt) AS latest, count_if({at_ds}) AS at_ds "
                f"FROM \"{table}\" WHERE dt <= '{ds}'"
            )
        if not probes:
            return {}
        rows = self.one(" UNION ALL ".join(probes))
        return {row["name"]: (row["latest"], int(row["at_ds"] or 0)) for row in rows}

    def load_dashboard_data(self, ds: str | None = None, model: str = "linear") -> dict[str, Any]:
        model = local.check_model(model)
        ds = local.check_ds(ds) if ds else None
        tables = self.tables()
        ds = ds or self.default_ds(tables) or datetime.now(UTC).date().isoformat()
        parts = self.partitions(tables, ds, model)

        queries: dict[str, tuple[str, tuple[str, ...]]] = {}
        marts: dict[str, str] = {}  # mart -> Athena SQL of its rows for ds
        for name in local.MART_SQL:
            if parts.get(name, (None, 0))[1]:
                where = f"dt = '{ds}'" + (f" AND model = '{model}'" if name == "campaign_kpis_daily" else "")
                marts[name] = f'SELECT * FROM "{name}" WHERE {where}'
            elif set(local.MART_INPUTS[name]) <= tables:
                params = local.mart_params(name, tables, model)
                marts[name] = sqlfiles.render(local.MART_SQL[name], ds, params)
        if "campaign_kpis_daily" in marts:
            sql = local.KPIS_DAILY_SQL.format(campaign_kpis_daily="campaign_kpis_daily")
            queries["kpis_daily"] = to_athena(sql, {"campaign_kpis_daily": marts["campaign_kpis_daily"]})
        for name in ("campaign_pacing", "reach_frequency"):
            if name in marts:
                # (a mart computed from its SQL file has no dt column: nothing to drop then)
                queries[name] = to_athena(f'SELECT * EXCLUDE (dt) FROM "{name}"', {name: marts[name]})
        for name, (needs, sql) in local._QUERIES.items():
            if set(needs) <= tables and parts.get(needs[0], (None, 0))[0]:
                queries[name] = to_athena(sql.format(**{t: local._at_latest(t, ds) for t in needs}))
        if "curated_campaigns" in tables:
            queries["campaigns"] = to_athena(
                local.CAMPAIGNS_SQL.format(curated_campaigns=local._at_latest("curated_campaigns", ds))
            )

        results = self.run(queries) if queries else {}
        out: dict[str, Any] = {name: results.get(name) for name in local.TABLES}
        return {
            "ds": ds,
            "model": model,
            "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "campaigns": local.records(results.get("campaigns")),
            "tables": out,
        }
