"""Curate one source for one date: ``raw_<source>`` -> ``curated_<source>`` with normalized identity keys.

Columns with an ``identity`` annotation in the contract are normalized with AWS Entity Resolution's
semantics (``adplan.hygiene.normalize``) and, for emails, phones and device ids, hashed for sharing:

    email          -> email (normalized), email_valid, email_sha256 (valid addresses only)
    phone          -> phone (E.164), phone_sha256
    maid           -> maid (lowercase), maid_sha256
    name, first_name, last_name, address, city, state, country, postal_code -> the column, normalized
    date_of_birth  -> the column as DATE (parsed from any common format)
    email_sha256, phone_sha256 -> the column as lowercase hex (NULL if not a SHA-256)

Other columns pass through with their raw types, followed by ``source_file`` and ``source_row`` (the
landing record each row came from). Curated data is the PII zone: it holds normalized PII; only the
``*_sha256`` columns may leave it. Nothing here logs or returns a value; the result is counts.
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa

from adplan.hygiene import normalize
from adplan.hygiene.batch import Output, build_lookup, distinct_values
from adplan.hygiene.config import HygieneConfig, load_config
from adplan.hygiene.contracts import Column, Contract
from adplan.hygiene.errors import ContractError, MissingInputError
from adplan.hygiene.ingest import RAW_ZONE, quiet_connection, raw_table
from adplan.hygiene.storage import as_storage, sql_identifier, sql_literal

if TYPE_CHECKING:
    from collections.abc import Callable

    from adplan.hygiene.storage import S3Lake
    from adplan.lake import Lake

CURATED_ZONE = "curated"
LINEAGE_COLUMNS = ("source_file", "source_row")


def curated_table(source: str) -> str:
    return f"curated_{source}"


@dataclass(frozen=True)
class Rule:
    """How curation treats one identity kind: the normalization rule and the columns it produces."""

    rule: Callable[..., Any]
    outputs: tuple[Output, ...]  # first output replaces the column; the rest are named <column>_<name>
    hashed: bool = False  # add <column>_sha256 of the normalized value
    hash_only_if: str | None = None  # output that must be true for the value to be hashed


_TEXT = pa.string()
_RULES: dict[str, Rule] = {
    "name": Rule(normalize.normalize_name, (Output("value", _TEXT),)),
    "first_name": Rule(normalize.normalize_name, (Output("value", _TEXT),)),
    "last_name": Rule(normalize.normalize_name, (Output("value", _TEXT),)),
    "email": Rule(
        normalize.normalize_email,
        (Output("value", _TEXT), Output("valid", pa.bool_())),
        hashed=True,
        hash_only_if="valid",
    ),
    "phone": Rule(normalize.normalize_phone, (Output("value", _TEXT),), hashed=True),
    "address": Rule(normalize.normalize_address, (Output("value", _TEXT),)),
    "city": Rule(normalize.normalize_city, (Output("value", _TEXT),)),
    "state": Rule(normalize.normalize_state, (Output("value", _TEXT),)),
    "country": Rule(normalize.normalize_country, (Output("value", _TEXT),)),
    "postal_code": Rule(normalize.normalize_postal_code, (Output("value", _TEXT),)),
    "date_of_birth": Rule(normalize.parse_date_of_birth, (Output("value", pa.date32()),)),
    "maid": Rule(normalize.normalize_maid, (Output("value", _TEXT),), hashed=True),
    "email_sha256": Rule(normalize.normalize_sha256, (Output("value", _TEXT),)),
    "phone_sha256": Rule(normalize.normalize_sha256, (Output("value", _TEXT),)),
}


def curated_columns(contract: Contract) -> list[str]:
    """The columns of ``curated_<source>``, in order."""
    names: list[str] = []
    for column in contract.columns:
        names.append(column.name)
        rule = _rule_for(column)
        if rule is not None:
            names += [f"{column.name}_{output.name}" for output in rule.outputs[1:]]
            if rule.hashed:
                names.append(f"{column.name}_sha256")
    names += LINEAGE_COLUMNS
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ContractError(f"{contract.origin}: curation would produce duplicate columns {duplicates}")
    return names


def curate_source(
    lake: Lake | S3Lake,
    contract: Contract,
    dt: str,
    con: duckdb.DuckDBPyConnection | None = None,
    config: HygieneConfig | None = None,
) -> dict[str, Any]:
    """Write ``curated_<source>`` for ``dt`` from ``raw_<source>``; returns counts (no values).

    Raises ``MissingInputError`` when the raw partition does not exist (ingest has not run for the date).
    """
    config = config or load_config()
    curated_columns(contract)  # fail on name clashes before reading anything
    storage = as_storage(lake)
    own_connection = con is None
    con = con or quiet_connection()
    prefix = f"curate_{uuid.uuid4().hex[:12]}"
    lookups: list[str] = []
    try:
        storage.prepare(con)
        if not storage.partition_exists(RAW_ZONE, raw_table(contract.source), dt, con):
            raise MissingInputError(
                f"no {raw_table(contract.source)} partition for dt={dt}; run ingest first"
            )
        raw = f"{prefix}_raw"
        location = storage.partition_location(RAW_ZONE, raw_table(contract.source), dt)
        con.execute(f"CREATE TEMP VIEW {raw} AS SELECT * FROM read_parquet({sql_literal(location)})")
        selects, joins = [], []
        for column in contract.columns:
            select, join = _curate_column(con, column, raw, f"{prefix}_{column.name}", dt, config, lookups)
            selects += select
            joins += join
        selects += [f"raw.{name}" for name in LINEAGE_COLUMNS]
        query = (
            f"SELECT {', '.join(selects)} FROM {raw} AS raw {' '.join(joins)} "
            "ORDER BY raw.source_file, raw.source_row"
        )
        written = storage.write_partition(CURATED_ZONE, curated_table(contract.source), dt, query, con)
        return _counts(con, contract, dt, written)
    finally:
        for name in lookups:
            con.unregister(name)
        if own_connection:
            con.close()
        else:
            con.execute(f"DROP VIEW IF EXISTS {prefix}_raw")


def _rule_for(column: Column) -> Rule | None:
    if column.identity is None:
        return None
    if column.identity == "date_of_birth" and column.type == "date":
        return None  # already a DATE in raw
    return _RULES[column.identity]


def _curate_column(
    con: duckdb.DuckDBPyConnection,
    column: Column,
    raw: str,
    lookup: str,
    dt: str,
    config: HygieneConfig,
    lookups: list[str],
) -> tuple[list[str], list[str]]:
    """The SELECT expressions for one contract column, and the JOIN that brings its lookup in."""
    name = sql_identifier(column.name)
    rule = _rule_for(column)
    if rule is None:
        return [f"raw.{name}"], []
    values = distinct_values(con, raw, name)
    con.register(lookup, build_lookup(values, _bound_rule(column, dt, config), rule.outputs))
    lookups.append(lookup)
    selects = [f"{lookup}.value AS {name}"]
    selects += [
        f"{lookup}.{output.name} AS {sql_identifier(f'{column.name}_{output.name}')}"
        for output in rule.outputs[1:]
    ]
    if rule.hashed:
        hashed = f"sha256({lookup}.value)"
        if rule.hash_only_if:
            hashed = f"CASE WHEN {lookup}.{rule.hash_only_if} THEN {hashed} END"
        selects.append(f"{hashed} AS {sql_identifier(f'{column.name}_sha256')}")
    return selects, [f"LEFT JOIN {lookup} ON {lookup}.raw_value = raw.{name}"]


def _bound_rule(column: Column, dt: str, config: HygieneConfig) -> Callable[[Any], Any]:
    """The column's rule with its settings bound (a partial, so worker processes can receive it)."""
    rule = _RULES[column.identity or ""].rule
    if rule is normalize.normalize_phone:
        return functools.partial(normalize.normalize_phone, default_region=config.default_region)
    if rule is normalize.parse_date_of_birth:
        return functools.partial(
            normalize.parse_date_of_birth, as_of=date.fromisoformat(dt), day_first=config.day_first_dates
        )
    return rule


def _counts(con: duckdb.DuckDBPyConnection, contract: Contract, dt: str, written: str) -> dict[str, Any]:
    measures = ["count(*) AS rows"]
    for column in contract.columns:
        rule = _rule_for(column)
        if rule is None:
            continue
        name = sql_identifier(column.name)
        measures.append(f"count({name}) AS {sql_identifier(column.name + '_normalized')}")
        measures.append(f"count(*) - count({name}) AS {sql_identifier(column.name + '_missing')}")
        if rule.hash_only_if:
            flag = sql_identifier(f"{column.name}_{rule.hash_only_if}")
            measures.append(f"count_if(NOT {flag}) AS {sql_identifier(column.name + '_invalid')}")
    row = con.sql(f"SELECT {', '.join(measures)} FROM read_parquet({sql_literal(written)})")
    counts = dict(zip(row.columns, row.fetchall()[0], strict=True))
    return {"source": contract.source, "dt": dt, "table": curated_table(contract.source), **counts}
