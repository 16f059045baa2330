"""Ingest one landing source for one date: validate against its contract, then write raw and quarantine.

Validation comes first and writing after: when too large a share of rows is rejected the run raises
``RejectedShareExceeded`` and writes nothing for the source and date. Otherwise three partitions are
written, each atomically: ``quarantine_<source>`` (zone quarantine), ``raw_<source>`` (zone raw) and,
last, ``hygiene_reconciliation_<source>`` (zone quarantine), so a reconciliation row means the other
two are in place. The nightly ``reconcile`` job (adplan.hygiene.reconcile) then checks the counts against
the written partitions and combines every source into ``quarantine`` and ``hygiene_reconciliation``. Every count reconciles: rows_in = accepted + quarantined.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import duckdb

from adplan.hygiene.config import HygieneConfig, load_config
from adplan.hygiene.contracts import Contract
from adplan.hygiene.errors import RejectedShareExceeded
from adplan.hygiene.landing import LandedSource, land_source
from adplan.hygiene.storage import Storage, as_storage, sql_identifier, sql_literal
from adplan.hygiene.validate import failure_expression, typed_expression, typed_name

if TYPE_CHECKING:
    from adplan.hygiene.storage import S3Lake
    from adplan.lake import Lake

RAW_ZONE = "raw"
QUARANTINE_ZONE = "quarantine"
RECONCILIATION_ZONE = "quarantine"
QUARANTINE_COLUMNS = ("source", "source_file", "row_number", "field", "reason", "detail", "raw_line")


def raw_table(source: str) -> str:
    return f"raw_{source}"


def quarantine_table(source: str) -> str:
    return f"quarantine_{source}"


def reconciliation_table(source: str) -> str:
    return f"hygiene_reconciliation_{source}"


@dataclass(frozen=True)
class FileCount:
    source_file: str
    rows_in: int
    quarantined: int

    @property
    def rejected_share(self) -> float:
        return self.quarantined / self.rows_in if self.rows_in else 0.0


@dataclass(frozen=True)
class Reconciliation:
    """What one ingest run did with a source's rows: counts only, safe for logs and XCom."""

    source: str
    dt: str
    files: int
    rows_in: int
    accepted: int
    quarantined: int
    rejected_share: float
    threshold: float
    passed: bool
    reasons: dict[str, int] = field(default_factory=dict)  # quarantined rows by reason code
    file_counts: tuple[FileCount, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def ingest_source(
    lake: Lake | S3Lake,
    contract: Contract,
    dt: str,
    con: duckdb.DuckDBPyConnection | None = None,
    config: HygieneConfig | None = None,
) -> Reconciliation:
    """Validate the source's landing files for ``dt``; write raw, quarantine and reconciliation partitions.

    Raises ``MissingInputError`` when there are no landing files, ``MalformedFileError`` for a file that
    cannot be read as CSV with the contract's header, ``RejectedShareExceeded`` (with the counts in
    ``.reconciliation``) when too many rows fail; in each case nothing is written.
    """
    config = config or load_config()
    storage = as_storage(lake)
    own_connection = con is None
    con = con or quiet_connection()
    prefix = f"hygiene_{uuid.uuid4().hex[:12]}"
    try:
        storage.prepare(con)
        landed = land_source(con, storage, contract, dt, prefix)
        checked = _check_rows(con, contract, landed, config, f"{prefix}_checked")
        reconciliation = _reconcile(con, contract, dt, landed, checked, config)
        if not reconciliation.passed:
            raise RejectedShareExceeded(_failure_message(reconciliation, config), reconciliation)
        _write(con, storage, contract, dt, landed, checked, reconciliation)
        return reconciliation
    finally:
        if own_connection:
            con.close()
        else:
            _drop_scratch_tables(con, prefix)


def _check_rows(
    con: duckdb.DuckDBPyConnection,
    contract: Contract,
    landed: LandedSource,
    config: HygieneConfig,
    checked: str,
) -> str:
    """A table of parsed rows with their typed values and ``failure`` (NULL for accepted rows)."""
    typed = ", ".join(f"{typed_expression(column)} AS {typed_name(column)}" for column in contract.columns)
    failure = failure_expression(contract, config.max_field_length)
    con.execute(
        f"""
        CREATE TEMP TABLE {checked} AS
        WITH typed AS (SELECT *, {typed} FROM {landed.rows})
        SELECT *, {failure} AS failure FROM typed
        """
    )
    if contract.primary_key:
        _reject_duplicate_keys(con, contract, landed, checked)
    return checked


def _reject_duplicate_keys(
    con: duckdb.DuckDBPyConnection, contract: Contract, landed: LandedSource, checked: str
) -> None:
    """Of the accepted rows sharing a primary key, keep the first (file order) and reject the others.

    Duplicate keys are few: find them with an aggregate and update those rows only, rather than
    ranking every row with a window.
    """
    keys = [typed_name(contract.column(name)) for name in contract.primary_key]
    key_list = ", ".join(keys)
    accepted = " AND ".join(["failure IS NULL", *(f"{key} IS NOT NULL" for key in keys)])
    first = f"{checked}_first_of_key"
    con.execute(
        f"""
        CREATE TEMP TABLE {first} AS
        SELECT {key_list}, arg_min(file_index, (file_index, row_number)) AS first_file_index,
               arg_min(row_number, (file_index, row_number)) AS first_row_number
        FROM {checked} WHERE {accepted}
        GROUP BY ALL HAVING count(*) > 1
        """
    )
    same_key = " AND ".join(f"c.{key} = d.{key}" for key in keys)
    field_name = sql_literal(",".join(contract.primary_key))
    con.execute(
        f"""
        UPDATE {checked} AS c
        SET failure = {{'field': {field_name}, 'reason': 'duplicate_primary_key',
                        'detail': 'same primary key as ' || files.source_file || ' row ' || d.first_row_number}}
        FROM {first} AS d, {landed.files} AS files
        WHERE {same_key} AND c.failure IS NULL AND files.file_index = d.first_file_index
          AND (c.file_index, c.row_number) <> (d.first_file_index, d.first_row_number)
        """
    )


def _reconcile(
    con: duckdb.DuckDBPyConnection,
    contract: Contract,
    dt: str,
    landed: LandedSource,
    checked: str,
    config: HygieneConfig,
) -> Reconciliation:
    per_file = con.execute(
        f"""
        SELECT file_index, sum(rows_in)::BIGINT, sum(quarantined)::BIGINT FROM (
            SELECT file_index, count(*) AS rows_in, count(failure) AS quarantined FROM {checked} GROUP BY ALL
            UNION ALL
            SELECT file_index, count(*), count(*) FROM {landed.rejects} GROUP BY ALL
        ) GROUP BY file_index
        """
    ).fetchall()
    by_index = {index: (rows_in, quarantined) for index, rows_in, quarantined in per_file}
    file_counts = tuple(
        FileCount(name, *by_index.get(index, (0, 0))) for index, name in enumerate(landed.file_names)
    )
    reasons = con.execute(
        f"""
        SELECT reason, count(*)::BIGINT FROM (
            SELECT failure.reason AS reason FROM {checked} WHERE failure IS NOT NULL
            UNION ALL SELECT reason FROM {landed.rejects}
        ) GROUP BY reason ORDER BY count(*) DESC, reason
        """
    ).fetchall()
    rows_in = sum(count.rows_in for count in file_counts)
    quarantined = sum(count.quarantined for count in file_counts)
    threshold = config.threshold_for(contract)
    too_many = [
        count
        for count in file_counts
        if _too_many_rejected(count.rows_in, count.quarantined, threshold, config)
    ]
    passed = not too_many and not _too_many_rejected(rows_in, quarantined, threshold, config)
    return Reconciliation(
        source=contract.source,
        dt=dt,
        files=len(file_counts),
        rows_in=rows_in,
        accepted=rows_in - quarantined,
        quarantined=quarantined,
        rejected_share=quarantined / rows_in if rows_in else 0.0,
        threshold=threshold,
        passed=passed,
        reasons=dict(reasons),
        file_counts=file_counts,
    )


def _too_many_rejected(rows_in: int, quarantined: int, threshold: float, config: HygieneConfig) -> bool:
    if rows_in == 0:
        return False
    if quarantined == rows_in:
        return True
    return quarantined / max(rows_in, config.min_rows_for_share) > threshold


def _failure_message(reconciliation: Reconciliation, config: HygieneConfig) -> str:
    r = reconciliation
    top = ", ".join(f"{reason} {count:,}" for reason, count in Counter(r.reasons).most_common(5))
    files = [
        f"{count.source_file} ({count.quarantined:,} of {count.rows_in:,}, {count.rejected_share:.2%})"
        for count in r.file_counts
        if _too_many_rejected(count.rows_in, count.quarantined, r.threshold, config)
    ]
    return (
        f"{r.source} dt={r.dt}: {r.quarantined:,} of {r.rows_in:,} rows rejected ({r.rejected_share:.2%}), "
        f"above the threshold of {r.threshold:.2%}; top reasons: {top}"
        + (f"; files over the threshold: {'; '.join(files)}" if files else "")
        + f". Nothing was written for {r.source} dt={r.dt}."
    )


def _write(
    con: duckdb.DuckDBPyConnection,
    storage: Storage,
    contract: Contract,
    dt: str,
    landed: LandedSource,
    checked: str,
    reconciliation: Reconciliation,
) -> None:
    source = contract.source
    storage.write_partition(
        QUARANTINE_ZONE, quarantine_table(source), dt, _quarantine_sql(contract, landed, checked), con
    )
    storage.write_partition(RAW_ZONE, raw_table(source), dt, _raw_sql(contract, landed, checked), con)
    storage.write_partition(
        RECONCILIATION_ZONE, reconciliation_table(source), dt, reconciliation_sql(reconciliation), con
    )


def _quarantine_sql(contract: Contract, landed: LandedSource, checked: str) -> str:
    return f"""
        SELECT {sql_literal(contract.source)} AS source, files.source_file, q.row_number,
               q.field, q.reason, q.detail, q.raw_line
        FROM (
            SELECT file_index, row_number, failure.field AS field, failure.reason AS reason,
                   failure.detail AS detail, {_raw_line_sql(contract)} AS raw_line
            FROM {checked} WHERE failure IS NOT NULL
            UNION ALL
            SELECT file_index, row_number, field, reason, detail, raw_line FROM {landed.rejects}
        ) AS q JOIN {landed.files} AS files USING (file_index)
        ORDER BY q.file_index, q.row_number
    """


def _raw_line_sql(contract: Contract) -> str:
    """The record re-encoded as a CSV line (the parser kept fields, not the line's text)."""
    delimiter = sql_literal(contract.file.delimiter)
    fields = []
    for name in contract.column_names:
        value = sql_identifier(name)
        needs_quotes = (
            f"contains({value}, {delimiter}) OR contains({value}, '\"') "
            f"OR contains({value}, chr(10)) OR contains({value}, chr(13))"
        )
        fields.append(
            f"CASE WHEN {value} IS NULL THEN '' WHEN {needs_quotes} "
            f"THEN '\"' || replace({value}, '\"', '\"\"') || '\"' ELSE {value} END"
        )
    return f"concat_ws({delimiter}, {', '.join(fields)})"


def _raw_sql(contract: Contract, landed: LandedSource, checked: str) -> str:
    columns = ", ".join(
        f"{typed_name(column)} AS {sql_identifier(column.name)}" for column in contract.columns
    )
    return f"""
        SELECT {columns}, files.source_file, checked.row_number AS source_row
        FROM {checked} AS checked JOIN {landed.files} AS files USING (file_index)
        WHERE failure IS NULL
        ORDER BY checked.file_index, checked.row_number
    """


def reconciliation_sql(reconciliation: Reconciliation) -> str:
    """One row of counts, as written to ``hygiene_reconciliation_<source>`` (dt is the partition)."""
    r = reconciliation
    return (
        f"SELECT {sql_literal(r.source)} AS source, {r.files}::INTEGER AS files, {r.rows_in}::BIGINT AS rows_in, "
        f"{r.accepted}::BIGINT AS accepted, {r.quarantined}::BIGINT AS quarantined, "
        f"{r.rejected_share!r}::DOUBLE AS rejected_share, {r.threshold!r}::DOUBLE AS threshold, "
        f"{str(r.passed).lower()} AS passed, {sql_literal(json.dumps(r.reasons, sort_keys=True))} AS reasons"
    )


def quiet_connection() -> duckdb.DuckDBPyConnection:
    """A fresh in-memory DuckDB that keeps its progress bar out of task logs."""
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    return con


def _drop_scratch_tables(con: duckdb.DuckDBPyConnection, prefix: str) -> None:
    views = con.execute(
        "SELECT view_name FROM duckdb_views() WHERE temporary AND starts_with(view_name, ?)", [prefix]
    ).fetchall()
    for (view,) in views:
        con.execute(f"DROP VIEW IF EXISTS {view}")
    tables = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE temporary AND starts_with(table_name, ?)", [prefix]
    ).fetchall()
    for (table,) in tables:
        con.execute(f"DROP TABLE IF EXISTS {table}")
