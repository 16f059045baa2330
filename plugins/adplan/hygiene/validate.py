"""Contract checks as SQL: per row, the typed values and the first failing field with its reason.

Checks run column by column in contract order, and within a column in this order: too_long,
missing_required, invalid_<type>, pattern_mismatch, not_allowed, below_min / above_max. The first
failure decides the row's quarantine entry (one entry per rejected row, so counts reconcile). Details
describe the rule, never the value.
"""

from __future__ import annotations

from dataclasses import dataclass

from adplan.hygiene.contracts import Column, Contract
from adplan.hygiene.storage import sql_identifier, sql_literal

# Numbers are written plainly: no exponents, no thousands separators, no "NaN".
_INTEGER_TEXT = r"[+-]?[0-9]+"
_DECIMAL_TEXT = r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)"
_DATE_TEXT = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
_TIMESTAMP_TEXT = r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?"
_ZONE_TEXT = r"(Z|[+-][0-9]{2}(:?[0-9]{2})?)"
TRUE_WORDS = ("true", "t", "yes", "y", "1")
FALSE_WORDS = ("false", "f", "no", "n", "0")
# Money and rates: 12 integer digits and 6 decimals cover budgets, spend, order values and ROAS targets.
DECIMAL_TYPE = "DECIMAL(18, 6)"
SQL_TYPES = {
    "string": "VARCHAR",
    "integer": "BIGINT",
    "decimal": DECIMAL_TYPE,
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "boolean": "BOOLEAN",
}


@dataclass(frozen=True)
class Check:
    condition: str  # SQL, true when the row fails
    field: str
    reason: str
    detail: str


def typed_name(column: Column) -> str:
    """The name of the column's typed value in the checked table."""
    return sql_identifier(f"__typed_{column.name}")


def typed_expression(column: Column) -> str:
    """SQL for the column's value in its contract type; NULL when empty or when it does not cast."""
    value = sql_identifier(column.name)
    text = f"trim({value})"
    if column.type == "string":
        return value
    if column.type == "integer":
        return f"CASE WHEN regexp_full_match({text}, {sql_literal(_INTEGER_TEXT)}) THEN TRY_CAST({text} AS BIGINT) END"
    if column.type == "decimal":
        return (
            f"CASE WHEN regexp_full_match({text}, {sql_literal(_DECIMAL_TEXT)}) "
            f"THEN TRY_CAST({text} AS {DECIMAL_TYPE}) END"
        )
    if column.type == "date":
        return f"CASE WHEN regexp_full_match({text}, {sql_literal(_DATE_TEXT)}) THEN TRY_CAST({text} AS DATE) END"
    if column.type == "timestamp":
        # Timestamps are stored in UTC without a zone (Athena's timestamp); a written offset is applied.
        return (
            f"CASE WHEN regexp_full_match({text}, {sql_literal(_TIMESTAMP_TEXT + _ZONE_TEXT)}) "
            f"THEN TRY_CAST({text} AS TIMESTAMPTZ) AT TIME ZONE 'UTC' "
            f"WHEN regexp_full_match({text}, {sql_literal(_TIMESTAMP_TEXT)}) THEN TRY_CAST({text} AS TIMESTAMP) END"
        )
    if column.type == "boolean":
        return (
            f"CASE WHEN lower({text}) IN ({_words(TRUE_WORDS)}) THEN true "
            f"WHEN lower({text}) IN ({_words(FALSE_WORDS)}) THEN false END"
        )
    raise ValueError(f"unknown column type {column.type!r}")


def column_checks(column: Column, max_field_length: int) -> list[Check]:
    value = sql_identifier(column.name)
    typed = typed_name(column)
    present = f"({value} IS NOT NULL AND trim({value}) <> '')"
    limit = column.max_length or max_field_length
    checks = [Check(f"length({value}) > {limit}", column.name, "too_long", f"longer than {limit} characters")]
    if column.required:
        checks.append(Check(f"NOT {present}", column.name, "missing_required", "required value is missing"))
    if column.type != "string":
        checks.append(
            Check(
                f"{present} AND {typed} IS NULL", column.name, f"invalid_{column.type}", _type_detail(column)
            )
        )
    if column.pattern is not None:
        checks.append(
            Check(
                f"{present} AND NOT regexp_full_match({value}, {sql_literal(column.pattern)})",
                column.name,
                "pattern_mismatch",
                f"does not match {column.pattern}",
            )
        )
    if column.allowed is not None:
        checks.append(
            Check(
                f"{present} AND {value} NOT IN ({_words(column.allowed)})",
                column.name,
                "not_allowed",
                f"not one of {', '.join(column.allowed)}",
            )
        )
    if column.min is not None:
        checks.append(
            Check(f"{typed} < {column.min}", column.name, "below_min", f"below the minimum {column.min}")
        )
    if column.max is not None:
        checks.append(
            Check(f"{typed} > {column.max}", column.name, "above_max", f"above the maximum {column.max}")
        )
    return checks


def failure_expression(contract: Contract, max_field_length: int) -> str:
    """SQL for a STRUCT(field, reason, detail) naming the row's first failing check, or NULL."""
    checks = [check for column in contract.columns for check in column_checks(column, max_field_length)]
    branches = " ".join(
        f"WHEN {check.condition} THEN {{'field': {sql_literal(check.field)}, "
        f"'reason': {sql_literal(check.reason)}, 'detail': {sql_literal(check.detail)}}}"
        for check in checks
    )
    return f"CASE {branches} END"


def _type_detail(column: Column) -> str:
    return {
        "integer": "not an integer",
        "decimal": "not a decimal number",
        "date": "not a date (YYYY-MM-DD)",
        "timestamp": "not an ISO-8601 timestamp",
        "boolean": "not a boolean (true/false, yes/no, 1/0)",
    }[column.type]


def _words(words: tuple[str, ...]) -> str:
    return ", ".join(sql_literal(word) for word in words)
