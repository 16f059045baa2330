"""SQL plumbing shared by the rule checks: parse, bind template parameters, qualify, find table references.

Queries are parsed with the collaboration's dialect (Clean Rooms SQL is Redshift-derived: its scalar
function list has GETDATE, DATEADD, CONVERT, TO_CHAR) and every column is qualified with its table alias
(sqlglot's ``qualify`` with a schema of each configured table's ``allowedColumns``), so a rule check can
tell for each column which configured table, and so which owner's rule, it belongs to. A column outside
``allowedColumns`` does not exist for the collaboration and fails qualification.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache

import sqlglot
from sqlglot import exp
from sqlglot.errors import OptimizeError, ParseError
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, traverse_scope

from adplan.cleanroom.config import AnalysisTemplate, Collaboration, ConfiguredTable
from adplan.cleanroom.errors import RESOURCE_NOT_FOUND, CleanRoomsError, malformed

# The aggregate functions the aggregation rule knows, by sqlglot node.
AGGREGATE_NODES: dict[type[exp.Expression], str] = {exp.Count: "COUNT", exp.Sum: "SUM", exp.Avg: "AVG"}

# How each allowed scalar function is written, to learn which sqlglot node it parses to in a dialect.
_SCALAR_SAMPLES = {
    "ABS": "ABS(x)",
    "CAST": "CAST(x AS INT)",
    "CEILING": "CEILING(x)",
    "COALESCE": "COALESCE(x, 0)",
    "CONVERT": "CONVERT(INT, x)",
    "CURRENT_DATE": "CURRENT_DATE",
    "DATEADD": "DATEADD(day, 1, x)",
    "EXTRACT": "EXTRACT(YEAR FROM x)",
    "FLOOR": "FLOOR(x)",
    "GETDATE": "GETDATE()",
    "LN": "LN(x)",
    "LOG": "LOG(x)",
    "LOWER": "LOWER(x)",
    "ROUND": "ROUND(x, 2)",
    "RTRIM": "RTRIM(x)",
    "SQRT": "SQRT(x)",
    "SUBSTRING": "SUBSTRING(x, 1, 2)",
    "TO_CHAR": "TO_CHAR(x, 'YYYY')",
    "TO_DATE": "TO_DATE(x, 'YYYY-MM-DD')",
    "TO_NUMBER": "TO_NUMBER(x, '999')",
    "TO_TIMESTAMP": "TO_TIMESTAMP(x, 'YYYY')",
    "TRIM": "TRIM(x)",
    "TRUNC": "TRUNC(x)",
    "UPPER": "UPPER(x)",
}

_INTEGER_TYPES = {"SMALLINT", "INTEGER", "BIGINT", "INT", "LONG", "SHORT", "TINYINT"}
_DECIMAL_TYPES = {"DECIMAL", "REAL", "DOUBLE_PRECISION", "DOUBLE", "FLOAT", "NUMERIC"}
_TIMESTAMP_TYPES = {"TIMESTAMP", "TIMESTAMPTZ", "TIMESTAMP_LTZ", "TIMESTAMP_NTZ"}


@dataclass(frozen=True)
class TableRef:
    """One reference to a configured table in a query: ``FROM advertiser_customers AS a``."""

    alias: str
    table: ConfiguredTable
    node: exp.Table


def parse_query(sql: str, dialect: str) -> exp.Query:
    """Exactly one SELECT statement (possibly with CTEs or set operations), or MALFORMED_QUERY."""
    try:
        statements = [stmt for stmt in sqlglot.parse(sql, read=dialect) if stmt is not None]
    except ParseError as error:
        raise malformed(f"The query does not parse as {dialect} SQL: {_first_error(error)}") from error
    if len(statements) != 1:
        raise malformed(f"Submit exactly one SQL statement; found {len(statements)}.")
    statement = statements[0]
    if not isinstance(statement, exp.Query):
        raise malformed(f"Only SELECT queries can run in a clean room, not {statement.key.upper()}.")
    return statement


def _first_error(error: ParseError) -> str:
    if error.errors:
        first = error.errors[0]
        return f"{first.get('description')} (line {first.get('line')}, column {first.get('col')})"
    return str(error)


def placeholders(tree: exp.Expression) -> list[exp.Placeholder]:
    return list(tree.find_all(exp.Placeholder))


def bind_parameters(
    tree: exp.Query, template: AnalysisTemplate, values: Mapping[str, object] | None
) -> dict[str, str]:
    """Replace the template's ``:name`` placeholders with typed literals; return the values used.

    Values become literal nodes of the declared type, never spliced text, so a value can't change the
    query's structure.
    """
    values = {str(key): value for key, value in (values or {}).items()}
    unknown = sorted(set(values) - {param.name for param in template.parameters})
    if unknown:
        raise malformed(f"Analysis template {template.name} has no parameters {unknown}.")
    used: dict[str, str] = {}
    for node in placeholders(tree):
        param = template.parameter(node.name)
        if param is None:
            raise malformed(f"Analysis template {template.name} uses :{node.name} but does not declare it.")
        raw = values.get(param.name, param.default_value)
        if raw is None:
            raise malformed(f"Parameter {param.name} of analysis template {template.name} needs a value.")
        node.replace(typed_literal(str(raw), param.type, param.name))
        used[param.name] = str(raw)
    return used


def typed_literal(value: str, param_type: str, name: str) -> exp.Expression:
    """A SQL literal of the parameter's declared type, or MALFORMED_QUERY if the value isn't one."""
    try:
        if param_type in _INTEGER_TYPES:
            return exp.Literal.number(int(value))
        if param_type in _DECIMAL_TYPES:
            return exp.Literal.number(str(Decimal(value)))
        if param_type == "BOOLEAN":
            if value.lower() not in ("true", "false"):
                raise ValueError(value)
            return exp.Boolean(this=value.lower() == "true")
        if param_type == "DATE":
            return exp.cast(exp.Literal.string(dt.date.fromisoformat(value).isoformat()), "DATE")
        if param_type in _TIMESTAMP_TYPES:
            return exp.cast(
                exp.Literal.string(dt.datetime.fromisoformat(value).isoformat(sep=" ")), "TIMESTAMP"
            )
    except (ValueError, InvalidOperation) as error:
        raise malformed(f"Parameter {name} must be a {param_type}; {value!r} is not.") from error
    return exp.Literal.string(value)


def cte_names(tree: exp.Expression) -> set[str]:
    return {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}


def check_table_names(tree: exp.Query, collaboration: Collaboration) -> None:
    """Every table a query reads is a configured table of the collaboration (or one of its own CTEs)."""
    ctes = cte_names(tree)
    for table in tree.find_all(exp.Table):
        if table.args.get("db") or table.args.get("catalog"):
            raise malformed(f"Name configured tables without a schema: {table.sql()} -> {table.name}.")
        if not table.name:
            raise malformed(f"Only configured tables can be read, not {table.sql()}.")
        if table.name.lower() in ctes:
            continue
        if collaboration.table(table.name) is None:
            known = ", ".join(sorted(collaboration.configured_tables))
            raise CleanRoomsError(
                RESOURCE_NOT_FOUND,
                f"{table.name} is not a configured table of collaboration {collaboration.name}; "
                f"the configured tables are: {known}.",
            )


def qualify_query(tree: exp.Query, collaboration: Collaboration) -> exp.Query:
    """Qualify every column with its table alias; columns outside allowedColumns don't resolve."""
    try:
        return qualify(
            tree,
            schema=_schema(collaboration),
            dialect=collaboration.dialect,
            validate_qualify_columns=True,
            expand_stars=True,
            quote_identifiers=False,
        )
    except OptimizeError as error:
        raise malformed(
            f"{error}. Queries can use only the allowedColumns of each configured table "
            "(qualify ambiguous names as alias.column)."
        ) from error


def _schema(collaboration: Collaboration) -> dict[str, dict[str, str]]:
    return {
        name: dict.fromkeys(table.allowed_columns, "TEXT")
        for name, table in collaboration.configured_tables.items()
    }


def scopes(tree: exp.Query) -> list[Scope]:
    return list(traverse_scope(tree))


def table_references(tree_scopes: list[Scope], collaboration: Collaboration) -> list[TableRef]:
    """Every read of a configured table, in every scope (CTEs, subqueries, set operations)."""
    refs = []
    for scope in tree_scopes:
        for alias, source in scope.selected_sources.items():
            node = source[1]
            if isinstance(node, exp.Table):
                table = collaboration.table(node.name)
                if table is not None:
                    refs.append(TableRef(alias=alias, table=table, node=node))
    # A table can be visible from several scopes (a CTE's tables from its parent); keep each node once.
    unique: dict[int, TableRef] = {}
    for ref in refs:
        unique.setdefault(id(ref.node), ref)
    return list(unique.values())


def function_key(node: exp.Expression) -> str:
    """A name for a function node that does not depend on how it was spelled (CEIL vs CEILING)."""
    if isinstance(node, exp.Anonymous):
        return node.name.upper()
    if isinstance(node, exp.Trim):
        return {"TRAILING": "RTRIM", "LEADING": "LTRIM"}.get(
            str(node.args.get("position") or "").upper(), "TRIM"
        )
    return type(node).__name__


@cache
def allowed_function_keys(names: frozenset[str], dialect: str) -> frozenset[str]:
    """The function keys that the rule's ``scalarFunctions`` names parse to in the dialect."""
    keys = set()
    for name in names:
        sample = _SCALAR_SAMPLES.get(name)
        if sample is None:
            continue
        try:
            node = sqlglot.parse_one(f"SELECT {sample}", read=dialect).expressions[0]
        except ParseError:
            continue  # the dialect can't write this function; it can't appear in a query either
        keys.add(function_key(node))
    return frozenset(keys)


def function_display_name(node: exp.Expression) -> str:
    if isinstance(node, exp.Anonymous):
        return node.name.upper()
    return node.sql_name() if hasattr(node, "sql_name") else node.key.upper()


def aggregate_name(node: exp.Expression) -> str | None:
    """``COUNT``, ``COUNT_DISTINCT``, ``SUM``, ``SUM_DISTINCT``, ``AVG`` (or AVG_DISTINCT), else None."""
    base = AGGREGATE_NODES.get(type(node))
    if base is None:
        return None
    return f"{base}_DISTINCT" if isinstance(node.this, exp.Distinct) else base


def aggregate_argument(node: exp.Expression) -> list[exp.Expression]:
    """The argument expressions of an aggregate call (unwrapping DISTINCT)."""
    argument = node.this
    if isinstance(argument, exp.Distinct):
        return list(argument.expressions)
    return [argument] if argument is not None else []


def walk_outside_subqueries(node: exp.Expression) -> Iterator[exp.Expression]:
    """Every node under ``node`` (itself included) that is not inside a nested query."""
    yield node
    for child in node.iter_expressions():
        if isinstance(child, exp.Query | exp.Subquery):
            continue
        yield from walk_outside_subqueries(child)


def column_label(column: exp.Column, refs: Mapping[str, TableRef]) -> str:
    ref = refs.get(column.table)
    if ref is None:
        return column.sql()
    return f"{ref.table.name}.{column.name}"
