"""Running SQL files on the local warehouse (the local target's half of ``query``)."""

from __future__ import annotations

from typing import Any

from adplan import sqlfiles
from adplan.lake import Lake
from adplan.warehouse import Warehouse


def run_sql_file(
    sql: str,
    ds: str,
    params: dict[str, Any],
    output_table: str | None = None,
    zone: str = "analytics",
    warehouse: Warehouse | None = None,
) -> dict[str, Any]:
    """Render ``sql/<sql>`` for ``ds``, transpile it to DuckDB and run it.

    With ``output_table`` the result replaces that table's ``ds`` partition and the catalog is
    refreshed; the summary returned holds counts only.
    """
    warehouse = warehouse or Warehouse.from_settings()
    query = sqlfiles.render_duckdb(sql, ds, params)
    con = warehouse.connect()
    try:
        if output_table is None:
            rows = con.execute(query).fetchall()
            return {"sql": sql, "rows": len(rows)}
        lake: Lake = warehouse.lake
        path = lake.write_partition(zone, output_table, ds, query, con)
        row_count = con.execute(f"SELECT count(*) FROM read_parquet('{path}')").fetchall()[0][0]
    finally:
        con.close()
    warehouse.refresh_catalog()
    return {"sql": sql, "table": output_table, "dt": ds, "rows": row_count}
