"""Reading a source's landing files into DuckDB, every field as text, every record accounted for.

DuckDB's CSV reader runs strict with ``store_rejects``: a record with the wrong number of fields,
invalid UTF-8, an unterminated quote or an oversized line lands in its reject table with its line
number instead of failing the read. Records it parses land in one temporary table, in file order.

Record numbers: ``row_number`` is the record's number in its file with the header as record 1, so the
first data record is 2. It equals the line number unless a quoted field spans lines. DuckDB gives it
for rejected records; for parsed ones it is derived from their order and the rejected numbers (a
parsed record's number is its position among parsed records plus the rejected records before it).

A file that cannot be read at all (empty, not gzip, binary, a header that is not the contract's) raises
``MalformedFileError`` naming the file. Messages never quote the data: a first row that is not a
header may well be a customer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import duckdb

from adplan.hygiene.contracts import Contract
from adplan.hygiene.errors import MalformedFileError, MissingInputError
from adplan.hygiene.storage import Storage, sql_identifier, sql_literal

# DuckDB's reject error types, as the stable reason codes the quarantine uses.
_REJECT_REASONS = {
    "MISSING COLUMNS": "missing_columns",
    "TOO MANY COLUMNS": "too_many_columns",
    "UNQUOTED VALUE": "malformed_quotes",
    "INVALID ENCODING": "invalid_encoding",
    "INVALID UNICODE": "invalid_encoding",
    "LINE SIZE OVER MAXIMUM": "line_too_long",
}
_HEADER_LIKE = re.compile(r"[A-Za-z_][A-Za-z0-9_ ]{0,63}")
_OTHER_DELIMITERS = (",", ";", "\t", "|")


@dataclass(frozen=True)
class LandedSource:
    """Temporary tables holding one source's landing files for a date.

    ``rows``: file_index, row_number, then the contract's columns as VARCHAR, one row per parsed record
    (a view over one scan table per file, which stay until the connection drops them).
    ``rejects``: file_index, row_number, field, reason, detail, raw_line, one row per rejected record.
    ``files``: file_index, source_file (the file's key relative to the lake root).
    """

    rows: str
    rejects: str
    files: str
    file_names: tuple[str, ...]


def land_source(
    con: duckdb.DuckDBPyConnection, storage: Storage, contract: Contract, dt: str, prefix: str
) -> LandedSource:
    locations = storage.landing_files(contract.source, dt, con)
    if not locations:
        raise MissingInputError(f"no landing files for {contract.source} dt={dt}")
    landed = LandedSource(
        rows=f"{prefix}_rows",
        rejects=f"{prefix}_rejects",
        files=f"{prefix}_files",
        file_names=tuple(storage.relative(location) for location in locations),
    )
    _create_tables(con, landed)
    numbered = [
        _land_file(con, contract, landed, index, location, landed.file_names[index], f"{prefix}_f{index}")
        for index, location in enumerate(locations)
    ]
    con.execute(f"CREATE TEMP VIEW {landed.rows} AS {' UNION ALL '.join(numbered)}")
    return landed


def _create_tables(con: duckdb.DuckDBPyConnection, landed: LandedSource) -> None:
    con.execute(
        f"CREATE TEMP TABLE {landed.rejects} (file_index INTEGER, row_number BIGINT, field VARCHAR, "
        "reason VARCHAR, detail VARCHAR, raw_line VARCHAR)"
    )
    names = ", ".join(f"({index}, {sql_literal(name)})" for index, name in enumerate(landed.file_names))
    con.execute(
        f"CREATE TEMP TABLE {landed.files} AS SELECT * FROM (VALUES {names}) AS t(file_index, source_file)"
    )


def _land_file(
    con: duckdb.DuckDBPyConnection,
    contract: Contract,
    landed: LandedSource,
    index: int,
    location: str,
    name: str,
    scratch: str,
) -> str:
    """Scan one file into ``<scratch>_scan``, record its rejects; returns the SELECT of its numbered rows."""
    scan, rejects, scans = f"{scratch}_scan", f"{scratch}_rej", f"{scratch}_rejscan"
    try:
        _scan_file(con, contract, location, name, scan, rejects, scans)
        header_rows = 1 if contract.file.header else 0
        if contract.file.header:
            _check_header(con, contract, name, scan, rejects)
        _insert_rejects(con, landed, index, rejects, header_rows)
        con.execute(f"CREATE TEMP TABLE {scratch}_steps AS {_numbering_steps_sql(rejects)}")
    finally:
        for table in (rejects, scans):
            con.execute(f"DROP TABLE IF EXISTS {table}")
    return _numbered_rows_sql(contract, index, scan, f"{scratch}_steps", header_rows)


def _scan_file(
    con: duckdb.DuckDBPyConnection,
    contract: Contract,
    location: str,
    name: str,
    scan: str,
    rejects: str,
    scans: str,
) -> None:
    file_format = contract.file
    columns = ", ".join(f"{sql_literal(column)}: 'VARCHAR'" for column in contract.column_names)
    # The header is read as a record (header=false) so that its names can be checked, and so that a
    # header with the wrong number of fields shows up in the rejects instead of shifting every column.
    # No hive partitioning: the dt=... folder must not become a column.
    options = (
        f"header = false, columns = {{{columns}}}, auto_detect = false, hive_partitioning = false, "
        f"delim = {sql_literal(file_format.delimiter)}, quote = '\"', escape = '\"', "
        f"strict_mode = true, null_padding = false, store_rejects = true, "
        f"rejects_table = {sql_literal(rejects)}, rejects_scan = {sql_literal(scans)}, "
        f"compression = {sql_literal(file_format.compression)}, encoding = {sql_literal(file_format.encoding)}"
    )
    try:
        # CREATE TABLE AS keeps the file's order (insertion order is preserved), which rowid then records.
        con.execute(f"CREATE TEMP TABLE {scan} AS SELECT * FROM read_csv({sql_literal(location)}, {options})")
    except duckdb.Error as error:
        raise MalformedFileError(
            f"{name}: cannot be read as a {_describe_format(contract)} file ({_first_line(error)})"
        ) from None


def _check_header(
    con: duckdb.DuckDBPyConnection, contract: Contract, name: str, scan: str, rejects: str
) -> None:
    rejected = con.execute(f"SELECT error_type, csv_line FROM {rejects} WHERE line = 1 LIMIT 1").fetchall()
    if rejected:
        raise MalformedFileError(f"{name}: {_explain_rejected_header(contract, *rejected[0])}")
    parsed = con.execute(f"SELECT * FROM {scan} WHERE rowid = 0").fetchall()
    if not parsed:
        raise MalformedFileError(
            f"{name}: the file is empty; a {_describe_format(contract)} file has a header row"
        )
    found = [(cell or "").strip() for cell in parsed[0]]
    expected = list(contract.column_names)
    if found == expected:
        return
    if all(_HEADER_LIKE.fullmatch(cell) for cell in found):
        raise MalformedFileError(f"{name}: header is {found}, the contract expects {expected}")
    raise MalformedFileError(
        f"{name}: the first row is not the header the contract expects ({expected}); is the header missing?"
    )


def _explain_rejected_header(contract: Contract, error_type: str, header_line: str | None) -> str:
    expected = len(contract.column_names)
    delimiter = contract.file.delimiter
    if error_type not in ("MISSING COLUMNS", "TOO MANY COLUMNS") or header_line is None:
        return f"the header row cannot be read ({_REJECT_REASONS.get(error_type, error_type.lower())})"
    found = header_line.count(delimiter) + 1
    message = f"the header has {found} field(s) split on {delimiter!r}, the contract expects {expected}"
    for other in _OTHER_DELIMITERS:
        if other != delimiter and header_line.count(other) + 1 == expected:
            return f"{message}; the file looks {other!r}-delimited (wrong delimiter)"
    return message


def _numbering_steps_sql(rejects: str) -> str:
    # A parsed record's number: its 0-based position k among parsed records, plus one, plus the number
    # of rejected records before it. Rejected record i (1-based, in order) at number r_i has
    # r_i - i parsed records before it, so it precedes parsed record k when r_i - i <= k. The steps
    # table holds, for each distinct r_i - i, how many rejected records come at or before it.
    return f"""
        WITH rejected AS (
            SELECT line - row_number() OVER (ORDER BY line) AS parsed_before
            FROM (SELECT DISTINCT line FROM {rejects})
        )
        SELECT parsed_before, sum(count(*)) OVER (ORDER BY parsed_before) AS rejected_so_far
        FROM rejected GROUP BY parsed_before
    """


def _numbered_rows_sql(contract: Contract, index: int, scan: str, steps: str, header_rows: int) -> str:
    columns = ", ".join(f"scan.{sql_identifier(name)}" for name in contract.column_names)
    number = "scan.rowid + 1 + coalesce(steps.rejected_so_far, 0)"
    return f"""
        SELECT {index} AS file_index, ({number})::BIGINT AS row_number, {columns}
        FROM {scan} AS scan ASOF LEFT JOIN {steps} AS steps ON scan.rowid >= steps.parsed_before
        WHERE {number} > {header_rows}
    """


def _insert_rejects(
    con: duckdb.DuckDBPyConnection, landed: LandedSource, index: int, rejects: str, header_rows: int
) -> None:
    reasons = " ".join(
        f"WHEN {sql_literal(kind)} THEN {sql_literal(code)}" for kind, code in _REJECT_REASONS.items()
    )
    # A record can have several errors (one per missing column): keep the first, one row per record.
    con.execute(
        f"""
        INSERT INTO {landed.rejects}
        SELECT {index}, line, column_name,
               CASE error_type {reasons} ELSE 'malformed_row' END,
               error_message, csv_line
        FROM (
            SELECT *, row_number() OVER (PARTITION BY line ORDER BY column_idx) AS nth FROM {rejects}
        )
        WHERE nth = 1 AND line > {header_rows}
        """
    )


def _describe_format(contract: Contract) -> str:
    file_format = contract.file
    compression = "gzip " if file_format.compression == "gzip" else ""
    return f"{compression}{file_format.encoding} CSV (delimiter {file_format.delimiter!r})"


def _first_line(error: Exception) -> str:
    # DuckDB's CSV errors go on to quote the offending line: that is data, so keep the first line only.
    return str(error).strip().splitlines()[0]
