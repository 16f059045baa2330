"""Jobs of the ``clean_room_collaboration`` DAG: the members' configured tables, then the agency's analyses.

- ``prepare_tables``: each member's configured tables for ``ds`` (``sql/cleanroom/*.sql``, Athena SQL run
  through ``adplan.runner``), written to the ``cleanrooms`` zone. Hashed identifiers only, checked after
  writing: a value that is not a lowercase hex SHA-256 fails the job.
- ``run_protected_query``: one standard analysis (``adplan.cleanroom.analyses``: a file of
  ``sql/cleanroom/analyses/``, Clean Rooms SQL with Jinja parameters, or one of the collaboration's
  analysis templates) as a protected query on the local clean-room engine; the local target's
  ``protected_query`` task. ``run_analyses`` runs several in one clean room. Results go to ``<lake>/cleanrooms/results/dt=<ds>/<analysis>/<query id>/`` as the service writes
  them, and are loaded into ``cleanroom_results_<analysis>``. A query the clean room fails makes the job
  raise ``CleanRoomAnalysisError`` with the error code and message, and nothing is loaded for it.

The engine sees a warehouse connection whose configured-table data locations (``cr_*``) are pinned to the
``ds`` partition, so an analysis never mixes dates.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq

from adplan import sqlfiles
from adplan.cleanroom.analyses import ANALYSES, DEFAULT_PARAMS, Analysis, render_parameters
from adplan.cleanroom.config import Collaboration, load_collaboration
from adplan.cleanroom.room import CleanRoom
from adplan.runner import run_sql_file
from adplan.warehouse import Warehouse

ZONE = "cleanrooms"
RESULT_TABLE_PREFIX = "cleanroom_results_"
HASHED_COLUMNS = ("email_sha256", "phone_sha256", "maid_sha256")
SHA256_PATTERN = "^[0-9a-f]{64}$"

# warehouse table (a configured table's data location) -> the SQL file that builds it
TABLE_SQL: dict[str, str] = {
    "cr_advertiser_customers": "cleanroom/advertiser_customers.sql",
    "cr_advertiser_conversions": "cleanroom/advertiser_conversions.sql",
    "cr_publisher_audience": "cleanroom/publisher_audience.sql",
    "cr_publisher_impressions": "cleanroom/publisher_impressions.sql",
}


class CleanRoomAnalysisError(RuntimeError):
    """A protected query of an analysis did not succeed; carries the clean room's error code and message."""

    def __init__(self, analysis: str, status: str, code: str, message: str, query_id: str | None) -> None:
        super().__init__(f"clean-room analysis {analysis} {status}: {code}: {message} (query {query_id})")
        self.analysis = analysis
        self.status = status
        self.code = code
        self.message = message
        self.query_id = query_id


# --- configured tables ---------------------------------------------------------------------------------


def prepare_tables(
    ds: str,
    tables: str | Sequence[str] = "all",
    lookback_days: int = 28,
    click_window_days: int = 7,
    segment_members_table: str = "segment_members",
    profiles_table: str = "profiles",
    publisher_id: str | None = None,
    require_consent: bool = True,
    lake: str | None = None,
    **_: Any,
) -> dict[str, Any]:
    """Build the members' configured tables for ``ds`` in the cleanrooms zone of the lake at ``lake``
    (default: the target's); returns row counts per table."""
    names = _select(tables, TABLE_SQL, "configured table")
    params = {
        "lookback_days": int(lookback_days),
        "click_window_days": int(click_window_days),
        "segment_members_table": segment_members_table,
        "profiles_table": profiles_table,
        "publisher_id": publisher_id,
        "require_consent": bool(require_consent),
    }
    warehouse = Warehouse.at(lake)
    written: dict[str, int] = {}
    for table in names:
        summary = run_sql_file(TABLE_SQL[table], ds, params, table, zone=ZONE, warehouse=warehouse)
        _check_hashed_only(warehouse, table, ds)
        written[table] = int(summary["rows"])
    return {"ds": ds, "zone": ZONE, "tables": written}


def _check_hashed_only(warehouse: Warehouse, table: str, ds: str) -> None:
    """Identifier columns of the written partition hold lowercase hex SHA-256 only (no raw email,
    phone or device id)."""
    con = warehouse.connect()
    try:
        columns = [row[0] for row in con.execute(f'DESCRIBE "{table}"').fetchall()]
        for column in (c for c in columns if c in HASHED_COLUMNS):
            bad = con.execute(
                f'SELECT count(*) FROM "{table}" WHERE dt = ? AND {column} IS NOT NULL '
                f"AND NOT regexp_full_match({column}, '{SHA256_PATTERN}')",
                [ds],
            ).fetchall()[0][0]
            if bad:
                raise ValueError(f"{table}.{column} holds {bad} values that are not SHA-256 hashes")
    finally:
        con.close()


# --- analyses --------------------------------------------------------------------------------------------


def room_connection(
    collaboration: Collaboration, warehouse: Warehouse | None = None, ds: str | None = None
) -> duckdb.DuckDBPyConnection:
    """A warehouse connection whose configured tables' data locations read one partition each.

    ``ds`` pins every ``cr_*`` table to that date; without it, to each table's latest partition. A location
    with no such partition is left as the warehouse has it (or absent), and the clean room reports it.
    """
    warehouse = warehouse or Warehouse.from_settings()
    con = warehouse.connect()
    locations = {table.table_name for table in collaboration.configured_tables.values()}
    for location in sorted(locations):
        dates = warehouse.lake.partitions(ZONE, location)
        date = ds if ds is not None else (dates[-1] if dates else None)
        if date is None or date not in dates:
            if ds is not None:  # never fall back to other dates: the analysis must fail, not mix dates
                con.execute(f'DROP VIEW IF EXISTS "{location}"')
            continue
        path = warehouse.lake.partition_file(ZONE, location, date)
        con.execute(f"CREATE OR REPLACE VIEW \"{location}\" AS SELECT * FROM read_parquet('{_quote(path)}')")
    return con


def run_analyses(
    ds: str,
    analyses: str | Sequence[str] = "all",
    member: str = "agency",
    campaign_id: str | None = None,
    segments: Sequence[str] | None = None,
    lookback_days: int = 28,
    collaboration: str | None = None,
    result_format: str = "PARQUET",
    **_: Any,
) -> dict[str, Any]:
    """Run the standard analyses as protected queries for ``ds`` and load their results into the lake.

    Returns ``{"ds", "member", "analyses": {name: {"status", "rows", "query_id", "table", "location"}}}``
    and, when the collaboration has a privacy budget, ``"privacy_budget_remaining"`` (epsilon).
    """
    names = _select(analyses, ANALYSES, "analysis")
    params = {
        "campaign_id": campaign_id or "",
        "segments": list(segments or []),
        "lookback_days": int(lookback_days),
    }
    results: dict[str, dict[str, Any]] = {}
    with _open_room(collaboration, ds) as (room, warehouse):
        for name in names:
            analysis = ANALYSES[name]
            parameters = render_parameters(analysis, ds, params)
            results[name] = _run_analysis(
                room, warehouse, analysis, ds, member, params, parameters, result_format
            )
        budget = _budget_remaining(room)
    return {"ds": ds, "member": member, "analyses": results, **budget}


@contextlib.contextmanager
def _open_room(collaboration: str | None, ds: str) -> Iterator[tuple[CleanRoom, Warehouse]]:
    """The collaboration's clean room over the warehouse's partitions of ``ds``; on success the
    catalog is refreshed with what the analyses wrote."""
    collab = load_collaboration(collaboration)
    warehouse = Warehouse.from_settings()
    con = room_connection(collab, warehouse, ds)
    try:
        with CleanRoom(collab, con, state_dir=warehouse.lake.zone_dir(ZONE) / "state") as room:
            yield room, warehouse
    finally:
        con.close()
    warehouse.refresh_catalog()


def _budget_remaining(room: CleanRoom) -> dict[str, Any]:
    """``privacy_budget_remaining`` (epsilon) when the collaboration has a privacy budget."""
    budget = room.privacy_budget()
    return {} if budget is None else {"privacy_budget_remaining": budget["epsilonRemaining"]}


def run_protected_query(
    ds: str,
    analysis: str,
    member: str | None = None,
    params: Mapping[str, Any] | None = None,
    parameters: Mapping[str, Any] | None = None,
    result_format: str = "PARQUET",
    collaboration: str | None = None,
    **_: Any,
) -> dict[str, Any]:
    """Run one standard analysis as a protected query for ``ds`` (the local ``protected_query`` task).

    ``params`` are the SQL file's Jinja params (the DAG run's params); ``parameters`` the analysis
    template's values as Airflow rendered them (default: rendered here from ``params``). Returns the
    analysis's summary (status, rows, query id, member, table, location, privacy budget remaining).
    """
    spec = ANALYSES[_select([analysis], ANALYSES, "analysis")[0]]
    params = {**DEFAULT_PARAMS, **(params or {})}
    if spec.template is not None and parameters is None:
        parameters = render_parameters(spec, ds, params)
    with _open_room(collaboration, ds) as (room, warehouse):
        result = _run_analysis(
            room, warehouse, spec, ds, member or "agency", params, parameters or {}, result_format
        )
        budget = _budget_remaining(room)
    return {"ds": ds, "analysis": spec.name, **result, **budget}


def _run_analysis(
    room: CleanRoom,
    warehouse: Warehouse,
    analysis: Analysis,
    ds: str,
    member: str,
    params: Mapping[str, Any],
    parameters: Mapping[str, Any],
    result_format: str,
) -> dict[str, Any]:
    """One analysis as a protected query; its result replaces ``cleanroom_results_<name>`` for ``ds``."""
    lake = warehouse.lake
    runner = analysis.member or member
    output_dir = lake.zone_dir(ZONE) / "results" / f"dt={ds}" / analysis.name
    if analysis.template is not None:
        sql, template = None, analysis.template
        template_parameters: dict[str, Any] | None = {key: str(value) for key, value in parameters.items()}
    else:
        sql = sqlfiles.render(analysis.sql, ds, {**params, **analysis.params}).strip()
        template, template_parameters = None, None
    record = room.start_protected_query(
        runner, sql, result_format, output_dir, parameters=template_parameters, analysis_template=template
    )
    if record["status"] != "SUCCESS":
        error = record.get("error") or {}
        raise CleanRoomAnalysisError(
            analysis.name,
            record["status"],
            error.get("code", record["status"]),
            error.get("message", "no message"),
            record.get("id"),
        )
    location = record["result"]["output"]["s3"]["location"]
    frame = _read_result(location, result_format)
    table = f"{RESULT_TABLE_PREFIX}{analysis.name}"
    lake.write_partition(ZONE, table, ds, frame)
    return {
        "status": record["status"],
        "rows": frame.num_rows,
        "query_id": record["id"],
        "member": runner,
        "table": table,
        "location": location,
    }


def _read_result(location: str, result_format: str):
    if result_format.upper() == "CSV":
        import pyarrow.csv as pcsv

        return pcsv.read_csv(location)
    return pq.read_table(location)


def _select(requested: str | Iterable[str], known: Mapping[str, Any], kind: str) -> list[str]:
    if isinstance(requested, str):
        requested = list(known) if requested == "all" else [part.strip() for part in requested.split(",")]
    names = [name for name in requested if name]
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise ValueError(f"unknown {kind} {unknown}; known: {sorted(known)}")
    return names


def _quote(path: Path | str) -> str:
    return str(path).replace("'", "''")
