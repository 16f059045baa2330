"""Segment enrichment with the publisher's interest attributes, through the clean room only.

The publisher's rows never leave the clean room: the advertiser runs a LIST protected query
(``sql/audiences/cleanroom_enrichment.sql``) that returns, for its own matched customers, only the list
columns of the publisher's configured table (interest, age band, region), joined on hashed email. The result
is then summarized per segment (``sql/audiences/enrichment_summary.sql``): share of matched customers with
each attribute value and its index against everyone matched, with small cells dropped.

The query runs through a *query runner*: any callable taking the SQL and returning the result rows as a
DataFrame. ``cleanroom_query_runner`` builds one over ``adplan.cleanroom.CleanRoom`` (local engine); the
aws target can pass one that calls StartProtectedQuery and reads the result from S3.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pandas as pd

from adplan import sqlfiles

if TYPE_CHECKING:
    from adplan.cleanroom import CleanRoom

QueryRunner = Callable[[str], pd.DataFrame]
RESULT_COLUMNS = ("customer_id", "segment", "interest", "age_band", "region")
DEFAULT_MIN_CUSTOMERS = 10


class EnrichmentQueryError(RuntimeError):
    """The clean room refused or failed the enrichment query (its error code and message are kept)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


def enrichment_query(
    segments: Sequence[str] | None = None,
    *,
    customers_table: str = "advertiser_customers_list",
    audience_table: str = "publisher_audience_list",
) -> str:
    """The Clean Rooms SQL of the enrichment list query (configured table names, not warehouse tables)."""
    params = {
        "segments": list(segments or []),
        "customers_table": customers_table,
        "audience_table": audience_table,
    }
    return sqlfiles.render("audiences/cleanroom_enrichment.sql", "", params).strip()


def enrich_segments(
    run_query: QueryRunner,
    segments: Sequence[str] | None = None,
    *,
    min_customers: int = DEFAULT_MIN_CUSTOMERS,
    customers_table: str = "advertiser_customers_list",
    audience_table: str = "publisher_audience_list",
) -> pd.DataFrame:
    """Run the list query through ``run_query`` and summarize it per segment.

    Columns: segment_id, attribute (interest, age_band, region), value, customers, matched_customers, share,
    index_vs_matched.
    """
    sql = enrichment_query(segments, customers_table=customers_table, audience_table=audience_table)
    rows = run_query(sql)
    missing = [name for name in RESULT_COLUMNS if name not in rows.columns]
    if missing:
        raise EnrichmentQueryError("UNEXPECTED_RESULT", f"the list result lacks columns {missing}")
    return summarize_enrichment(rows, min_customers=min_customers)


def summarize_enrichment(rows: pd.DataFrame, *, min_customers: int = DEFAULT_MIN_CUSTOMERS) -> pd.DataFrame:
    con = duckdb.connect()
    try:
        con.register("enrichment_rows", rows[list(RESULT_COLUMNS)])
        query = sqlfiles.render_duckdb(
            "audiences/enrichment_summary.sql",
            "",
            {"rows_table": "enrichment_rows", "min_customers": min_customers},
        )
        summary = con.execute(query).df()
    finally:
        con.close()
    return summary.sort_values(
        ["segment_id", "attribute", "customers", "value"], ascending=[True, True, False, True]
    )


def cleanroom_query_runner(
    room: CleanRoom, output_dir: str | Path, member: str = "advertiser"
) -> QueryRunner:
    """A query runner over the local clean-room engine: a protected query per call, its PARQUET result read."""

    def run(sql: str) -> pd.DataFrame:
        record = room.start_protected_query(member, sql, "PARQUET", output_dir)
        if record["status"] != "SUCCESS":
            error = record.get("error") or {}
            raise EnrichmentQueryError(
                error.get("code", record["status"]), error.get("message", "no message")
            )
        return pd.read_parquet(record["result"]["output"]["s3"]["location"])

    return run
