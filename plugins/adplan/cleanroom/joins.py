"""Join controls shared by the aggregation and list rules.

Both rules allow ``FROM t [[INNER] JOIN u ON join_condition] ...`` only: INNER joins whose condition
compares join columns of two different tables with ``=``, combined with the logical operators every
referenced table allows (``allowedJoinOperators``, default AND; the most restrictive table wins). The
join graph then answers the "joined, directly or transitively, to a table of the member who can query"
controls (``joinRequired: QUERY_RUNNER`` for aggregation, always for list).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlglot import exp

from adplan.cleanroom.config import AggregationRule, ListRule
from adplan.cleanroom.errors import invalid
from adplan.cleanroom.sql import TableRef

JoinEdges = list[tuple[str, str]]


def check_from_clause(select: exp.Select, refs: Mapping[str, TableRef], rule_name: str) -> JoinEdges:
    """Validate FROM and every JOIN; return the join graph's edges (alias pairs)."""
    source = select.args.get("from_")
    if source is None or not isinstance(source.this, exp.Table):
        raise invalid(f"{rule_name} queries read configured tables directly: FROM table [AS alias].")
    allowed_operators = _allowed_operators(refs.values())
    edges: JoinEdges = []
    for join in select.args.get("joins") or []:
        _check_join_kind(join, rule_name)
        if not isinstance(join.this, exp.Table):
            raise invalid(f"{rule_name} queries can only join configured tables, not subqueries.")
        edges += _check_join_condition(join.args["on"], refs, allowed_operators)
    return edges


def _check_join_kind(join: exp.Join, rule_name: str) -> None:
    side, kind = join.args.get("side"), join.args.get("kind")
    if side:
        raise invalid(
            f"{side.upper()} JOIN is not allowed under the {rule_name} analysis rule: only INNER JOIN ... ON "
            "join columns, so results cover only the overlap of the tables."
        )
    if join.args.get("method") or (kind and kind.upper() != "INNER"):
        name = (join.args.get("method") or kind).upper()
        raise invalid(
            f"{name} JOIN is not allowed under the {rule_name} analysis rule: use INNER JOIN ... ON."
        )
    if join.args.get("using"):
        raise invalid("JOIN ... USING is not supported: write JOIN ... ON a.column = b.column.")
    if join.args.get("on") is None:
        raise invalid(
            f"Comma joins and joins without ON are not allowed under the {rule_name} analysis rule: "
            "write INNER JOIN table ON a.join_column = b.join_column."
        )


def _allowed_operators(refs: Iterable[TableRef]) -> frozenset[str]:
    allowed = frozenset({"AND", "OR"})
    for ref in refs:
        rule = ref.table.analysis_rule
        if isinstance(rule, AggregationRule | ListRule):
            allowed &= rule.allowed_join_operators
    return allowed


def _check_join_condition(
    condition: exp.Expression, refs: Mapping[str, TableRef], allowed_operators: frozenset[str]
) -> JoinEdges:
    if isinstance(condition, exp.Paren):
        return _check_join_condition(condition.this, refs, allowed_operators)
    if isinstance(condition, exp.And | exp.Or):
        operator = "AND" if isinstance(condition, exp.And) else "OR"
        if operator not in allowed_operators:
            raise invalid(
                f"{operator} is not an allowed join operator here: the referenced tables allow only "
                f"{sorted(allowed_operators) or 'no'} operators in JOIN ON (allowedJoinOperators)."
            )
        return _check_join_condition(condition.this, refs, allowed_operators) + _check_join_condition(
            condition.expression, refs, allowed_operators
        )
    if isinstance(condition, exp.EQ) and all(
        isinstance(side, exp.Column) for side in condition.args.values()
    ):
        left, right = condition.this, condition.expression
        for column in (left, right):
            _check_join_column(column, refs)
        if left.table == right.table:
            raise invalid(
                f"A join condition must compare columns of two different tables: {condition.sql()}."
            )
        return [(left.table, right.table)]
    raise invalid(
        f"JOIN ON may only compare join columns with '=' (combined with AND/OR): {condition.sql()} is not "
        "allowed. Move filters on dimension or list columns to WHERE."
    )


def _check_join_column(column: exp.Column, refs: Mapping[str, TableRef]) -> None:
    ref = refs[column.table]
    rule = ref.table.analysis_rule
    join_columns = getattr(rule, "join_columns", frozenset())
    if column.name not in join_columns:
        raise invalid(
            f"{ref.table.name}.{column.name} is not a join column of {ref.table.name} (owner {ref.table.owner}); "
            f"its join columns are {sorted(join_columns)}."
        )


def connected_to_member(start: str, edges: JoinEdges, refs: Mapping[str, TableRef], member: str) -> bool:
    """Is ``start`` joined, directly or through other tables, to a table that ``member`` owns?"""
    neighbours: dict[str, set[str]] = {}
    for left, right in edges:
        neighbours.setdefault(left, set()).add(right)
        neighbours.setdefault(right, set()).add(left)
    seen, frontier = {start}, [start]
    while frontier:
        alias = frontier.pop()
        if refs[alias].table.owner == member:
            return True
        for other in neighbours.get(alias, ()):
            if other not in seen:
                seen.add(other)
                frontier.append(other)
    return False


def require_join_to_member(
    aliases: Iterable[str],
    edges: JoinEdges,
    refs: Mapping[str, TableRef],
    member: str,
    owned: list[str],
    why: str,
) -> None:
    for alias in aliases:
        if not connected_to_member(alias, edges, refs, member):
            table = refs[alias].table
            raise invalid(
                f"{table.name} (owner {table.owner}) must be joined, directly or through other tables, to a "
                f"configured table owned by the querying member {member} ({why}); "
                f"{member} owns {owned or 'no configured tables'}."
            )
