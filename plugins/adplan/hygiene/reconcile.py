"""The night's reconciliation: every source's counts checked against what was written, then combined.

Each source's ingest writes its own partitions (one Parquet file per partition cannot take several
writers). After all sources, this step:

1. checks, per source, that ``raw_<source>`` holds ``accepted`` rows and ``quarantine_<source>`` holds
   ``quarantined`` rows, as its ``hygiene_reconciliation_<source>`` row says (rows in = accepted +
   quarantined holds by construction; this catches a partition replaced or lost since);
2. writes the tables people query, one partition per date, every source in it:
   ``hygiene_reconciliation`` (a row per source) and ``quarantine`` (every rejected row), zone quarantine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import duckdb

from adplan.hygiene.errors import HygieneError, MissingInputError
from adplan.hygiene.ingest import (
    QUARANTINE_ZONE,
    RAW_ZONE,
    RECONCILIATION_ZONE,
    quarantine_table,
    quiet_connection,
    raw_table,
    reconciliation_table,
)
from adplan.hygiene.storage import Storage, as_storage, sql_literal

if TYPE_CHECKING:
    from collections.abc import Iterable

    from adplan.hygiene.storage import S3Lake
    from adplan.lake import Lake

COMBINED_RECONCILIATION = "hygiene_reconciliation"
COMBINED_QUARANTINE = "quarantine"


def reconcile_date(
    lake: Lake | S3Lake, dt: str, sources: Iterable[str], con: duckdb.DuckDBPyConnection | None = None
) -> dict[str, Any]:
    """Check and combine the sources ingested for ``dt``; returns counts per source (no values).

    Sources without a reconciliation partition for the date (not delivered, or not run) are listed as
    missing, not failed. Raises ``MissingInputError`` when no source has one, and ``HygieneError``
    naming the source when a written partition does not hold the recorded count.
    """
    storage = as_storage(lake)
    own_connection = con is None
    con = con or quiet_connection()
    try:
        storage.prepare(con)
        sources = list(sources)
        present = [
            s
            for s in sources
            if storage.partition_exists(RECONCILIATION_ZONE, reconciliation_table(s), dt, con)
        ]
        if not present:
            raise MissingInputError(f"no source has been ingested for dt={dt}")
        recorded = _recorded_counts(con, storage, present, dt)
        _check_partitions(con, storage, recorded, dt)
        _write_combined(con, storage, present, dt)
        return {
            "dt": dt,
            "sources": len(present),
            "missing_sources": [source for source in sources if source not in present],
            "rows_in": sum(counts["rows_in"] for counts in recorded.values()),
            "accepted": sum(counts["accepted"] for counts in recorded.values()),
            "quarantined": sum(counts["quarantined"] for counts in recorded.values()),
            "by_source": recorded,
        }
    finally:
        if own_connection:
            con.close()


def _files(storage: Storage, zone: str, tables: list[str], dt: str) -> str:
    return "[" + ", ".join(sql_literal(storage.partition_location(zone, table, dt)) for table in tables) + "]"


def _recorded_counts(
    con: duckdb.DuckDBPyConnection, storage: Storage, sources: list[str], dt: str
) -> dict[str, dict[str, int]]:
    files = _files(storage, RECONCILIATION_ZONE, [reconciliation_table(source) for source in sources], dt)
    rows = con.execute(
        f"SELECT source, rows_in, accepted, quarantined FROM read_parquet({files}, hive_partitioning = false)"
    ).fetchall()
    return {
        source: {"rows_in": rows_in, "accepted": accepted, "quarantined": quarantined}
        for source, rows_in, accepted, quarantined in rows
    }


def _check_partitions(
    con: duckdb.DuckDBPyConnection, storage: Storage, recorded: dict[str, dict[str, int]], dt: str
) -> None:
    problems = []
    for source, counts in sorted(recorded.items()):
        for zone, table, expected in (
            (RAW_ZONE, raw_table(source), counts["accepted"]),
            (QUARANTINE_ZONE, quarantine_table(source), counts["quarantined"]),
        ):
            found = _row_count(con, storage, zone, table, dt)
            if found != expected:
                problems.append(f"{table} dt={dt} holds {found} rows, its reconciliation records {expected}")
        if counts["rows_in"] != counts["accepted"] + counts["quarantined"]:
            problems.append(f"{source} dt={dt}: rows in {counts['rows_in']} != accepted + quarantined")
    if problems:
        raise HygieneError(
            "reconciliation failed: " + "; ".join(problems) + ". Rerun ingest for these sources."
        )


def _row_count(
    con: duckdb.DuckDBPyConnection, storage: Storage, zone: str, table: str, dt: str
) -> int | None:
    if not storage.partition_exists(zone, table, dt, con):
        return None
    location = sql_literal(storage.partition_location(zone, table, dt))
    return con.execute(f"SELECT count(*) FROM read_parquet({location})").fetchall()[0][0]


def _write_combined(con: duckdb.DuckDBPyConnection, storage: Storage, sources: list[str], dt: str) -> None:
    reconciliations = _files(
        storage, RECONCILIATION_ZONE, [reconciliation_table(source) for source in sources], dt
    )
    storage.write_partition(
        QUARANTINE_ZONE,
        COMBINED_RECONCILIATION,
        dt,
        f"SELECT * FROM read_parquet({reconciliations}, hive_partitioning = false) ORDER BY source",
        con,
    )
    quarantines = _files(storage, QUARANTINE_ZONE, [quarantine_table(source) for source in sources], dt)
    storage.write_partition(
        QUARANTINE_ZONE,
        COMBINED_QUARANTINE,
        dt,
        f"SELECT * FROM read_parquet({quarantines}, hive_partitioning = false) "
        "ORDER BY source, source_file, row_number",
        con,
    )
