"""A compact reading of the data contracts for the tests: which lines of a landing file a contract rejects.

Reads the file as the hygiene stage does (DuckDB, every field as text, strict CSV with rejects stored),
then applies each column's rules in SQL: required, type (the landing type must cast), pattern,
allowed values, min/max, and the primary key. Independent of adplan.hygiene on purpose: the contracts
are the interface, so the tests read them straight from the YAML.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import yaml

CONTRACTS_DIR = Path(__file__).resolve().parents[2] / "include" / "contracts"
_TYPE_TEXT = {
    "integer": r"[+-]?[0-9]+",
    "decimal": r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)",
    "date": r"[0-9]{4}-[0-9]{2}-[0-9]{2}",
    "timestamp": r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z",
}
_SQL_TYPE = {"integer": "BIGINT", "decimal": "DECIMAL(18, 6)", "date": "DATE", "timestamp": "TIMESTAMPTZ"}
_BOOLEAN_WORDS = ("true", "false", "t", "f", "yes", "no", "y", "n", "1", "0")


def load(source: str) -> dict:
    return yaml.safe_load((CONTRACTS_DIR / f"{source}.yaml").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Checked:
    header: list[str]
    lines: int  # data lines (records) in the file
    rejected: dict[int, str]  # line number (header = 1) -> reason


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _column_failure(column: dict) -> str:
    """SQL that is true when the column's value breaks the contract."""
    name = '"' + column["name"] + '"'
    present = f"({name} IS NOT NULL AND trim({name}) <> '')"
    checks = []
    if column.get("required"):
        checks.append(f"NOT {present}")
    kind = column.get("type", "string")
    typed = name
    if kind in _TYPE_TEXT:
        typed = f"TRY_CAST(trim({name}) AS {_SQL_TYPE[kind]})"
        checks.append(f"{present} AND NOT regexp_full_match(trim({name}), {_quote(_TYPE_TEXT[kind])})")
        checks.append(f"{present} AND {typed} IS NULL")
    if kind == "boolean":
        words = ", ".join(_quote(word) for word in _BOOLEAN_WORDS)
        checks.append(f"{present} AND lower(trim({name})) NOT IN ({words})")
    if "pattern" in column:
        checks.append(f"{present} AND NOT regexp_full_match({name}, {_quote(column['pattern'])})")
    if "allowed" in column:
        words = ", ".join(_quote(str(word)) for word in column["allowed"])
        checks.append(f"{present} AND {name} NOT IN ({words})")
    if "min" in column:
        checks.append(f"{present} AND {typed} < {column['min']}")
    if "max" in column:
        checks.append(f"{present} AND {typed} > {column['max']}")
    return " OR ".join(f"coalesce(({check}), false)" for check in checks) or "false"


def check_file(path: Path, contract: dict) -> Checked:
    names = [column["name"] for column in contract["columns"]]
    columns = ", ".join(f"{_quote(name)}: 'VARCHAR'" for name in names)
    con = duckdb.connect()
    try:
        con.execute(
            f"""CREATE TABLE scan AS SELECT * FROM read_csv({_quote(str(path))}, header = false,
                columns = {{{columns}}}, auto_detect = false, delim = ',', quote = '"', escape = '"',
                strict_mode = true, null_padding = false, store_rejects = true, compression = 'gzip', hive_partitioning = false,
                encoding = 'utf-8', rejects_table = 'rejects', rejects_scan = 'reject_scans')"""
        )
        rejected = {
            line: f"parse: {error}"
            for line, error in con.execute("SELECT DISTINCT line, error_type FROM rejects").fetchall()
        }
        parsed = con.execute("SELECT count(*) FROM scan").fetchall()[0][0]
        total = parsed + len(rejected)
        parsed_lines = [line for line in range(1, total + 1) if line not in rejected]
        header = list(con.execute("SELECT * FROM scan WHERE rowid = 0").fetchall()[0])
        failures = " OR ".join(f"({_column_failure(column)})" for column in contract["columns"])
        key = ", ".join('"' + name + '"' for name in contract.get("primary_key", []))
        duplicate = (
            f"count(*) FILTER (WHERE NOT ({failures})) OVER (PARTITION BY {key} ORDER BY rowid "
            "ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) > 0 AND NOT (" + failures + ")"
            if key
            else "false"
        )
        bad = con.execute(
            f"SELECT rowid, ({failures}) AS broken, {duplicate} AS duplicate FROM scan WHERE rowid > 0 ORDER BY rowid"
        ).fetchall()
        for rowid, broken, is_duplicate in bad:
            if broken or is_duplicate:
                rejected[parsed_lines[rowid]] = "contract" if broken else "duplicate key"
        return Checked(header=header, lines=total - 1, rejected=rejected)
    finally:
        con.close()
