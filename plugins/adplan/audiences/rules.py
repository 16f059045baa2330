"""Segment rules: a boolean SQL expression over profile columns, parsed and whitelisted with sqlglot.

A rule is parsed as Athena (Trino) SQL and walked node by node: only profile columns, literals, comparison
and logical operators, IN / BETWEEN / IS / LIKE, arithmetic and a handful of functions pass. Everything else
(subqueries, other functions, casts, several statements, qualified or unknown columns) is refused with an
error that names the segment and the offending field, so a typo in segments.yaml fails the run before any
query runs. The accepted tree is printed as DuckDB SQL with every identifier quoted.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping

import sqlglot
from sqlglot import exp

from adplan.audiences.config import SegmentDefinition

_OPERATORS = (
    exp.Paren, exp.Neg, exp.And, exp.Or, exp.Not, exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE,
    exp.In, exp.Between, exp.Is, exp.Like, exp.ILike, exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod,
)  # fmt: skip
_VALUES = (exp.Literal, exp.Boolean, exp.Null)
# Function node -> the name a rule author writes (Trino spelling).
FUNCTIONS: dict[type[exp.Expression], str] = {
    exp.Coalesce: "coalesce",
    exp.Abs: "abs",
    exp.Round: "round",
    exp.Lower: "lower",
    exp.Upper: "upper",
    exp.ArrayContains: "contains",
    exp.ArraySize: "cardinality",
}
# Nodes that yield a boolean, so a rule (or an AND / OR / NOT operand) may be one of them.
_PREDICATES = (
    exp.And, exp.Or, exp.Not, exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.In, exp.Between, exp.Is,
    exp.Like, exp.ILike, exp.ArrayContains, exp.Boolean,
)  # fmt: skip
_ALLOWED = (exp.Column, *_OPERATORS, *_VALUES, *FUNCTIONS)
HIDDEN_COLUMNS = frozenset({"dt"})


class SegmentRuleError(ValueError):
    """A segment rule that is not a whitelisted boolean expression over known profile columns."""


def compile_rule(segment_id: str, rule: str, columns: Mapping[str, str]) -> str:
    """The DuckDB predicate of one rule; ``columns`` maps profile column names to their DuckDB types."""
    tree = _parse(segment_id, rule)
    known = {name: kind for name, kind in columns.items() if name not in HIDDEN_COLUMNS}
    problems = [*_disallowed_nodes(tree), *_unknown_columns(tree, known)]
    if not problems:
        problems += _non_boolean_predicates(tree, known)
    if problems:
        raise SegmentRuleError(f"segment {segment_id!r}: " + "; ".join(problems) + f" (rule: {rule})")
    return tree.sql(dialect="duckdb", identify=True)


def compile_rules(segments: list[SegmentDefinition], columns: Mapping[str, str]) -> dict[str, str]:
    """Every rule compiled, or one error listing every segment whose rule is refused."""
    compiled, errors = {}, []
    for segment in segments:
        try:
            compiled[segment.id] = compile_rule(segment.id, segment.rule, columns)
        except SegmentRuleError as error:
            errors.append(str(error))
    if errors:
        raise SegmentRuleError("invalid segment rules in segments.yaml:\n  " + "\n  ".join(errors))
    return compiled


def _parse(segment_id: str, rule: str) -> exp.Expression:
    try:
        statements = [tree for tree in sqlglot.parse(rule, read="trino") if tree is not None]
    except sqlglot.errors.ParseError as error:
        first = error.errors[0]["description"] if error.errors else str(error)
        raise SegmentRuleError(
            f"segment {segment_id!r}: the rule is not valid SQL ({first}): {rule}"
        ) from None
    if len(statements) != 1:
        raise SegmentRuleError(
            f"segment {segment_id!r}: a rule is one expression, got {len(statements)}: {rule}"
        )
    return statements[0]


def _disallowed_nodes(tree: exp.Expression) -> list[str]:
    """What in the tree is off the whitelist (a refused node's own children are not reported again)."""
    problems, pending = [], [tree]
    while pending:
        node = pending.pop()
        if isinstance(node, _ALLOWED) or (
            isinstance(node, exp.Identifier) and isinstance(node.parent, exp.Column)
        ):
            pending.extend(node.iter_expressions())
            continue
        if isinstance(node, exp.Query | exp.Subquery):
            problems.append("subqueries are not allowed")
        elif isinstance(node, exp.Func):
            name = node.sql(dialect="trino").split("(", 1)[0].strip().lower()
            problems.append(
                f"function {name}() is not allowed (allowed: {', '.join(sorted(FUNCTIONS.values()))})"
            )
        else:
            problems.append(f"{node.sql(dialect='trino')} is not allowed in a segment rule")
    return list(dict.fromkeys(problems))


def _unknown_columns(tree: exp.Expression, known: Mapping[str, str]) -> list[str]:
    problems = []
    for column in tree.find_all(exp.Column):
        if column.table:
            problems.append(f"field {column.sql()} must not be qualified: rules see one profile row")
        elif column.name not in known:
            close = difflib.get_close_matches(column.name, list(known), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(
                f"unknown field {column.name!r}{hint}; profile fields: {', '.join(sorted(known))}"
            )
    return list(dict.fromkeys(problems))


def _non_boolean_predicates(tree: exp.Expression, known: Mapping[str, str]) -> list[str]:
    """The rule and every AND / OR / NOT operand must be a predicate or a BOOLEAN column."""
    positions = [tree]
    for node in tree.walk():
        if isinstance(node, exp.And | exp.Or):
            positions += [node.left, node.right]
        elif isinstance(node, exp.Not):
            positions.append(node.this)
    problems = []
    for node in positions:
        inner = node.unnest()
        if isinstance(inner, _PREDICATES):
            continue
        if isinstance(inner, exp.Column) and known.get(inner.name, "").upper() == "BOOLEAN":
            continue
        problems.append(
            f"{inner.sql(dialect='trino')} is not a condition (compare it, e.g. {inner.sql()} > 0)"
        )
    return problems
