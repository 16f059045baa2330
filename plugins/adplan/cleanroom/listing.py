"""The list analysis rule: row-level lists of the overlap, with a fixed query structure.

Documented query structure::

    SELECT [TOP n] DISTINCT column [[AS] alias] [, ...]
    FROM table [INNER JOIN table ON join_condition] ...
    [WHERE where_condition] [LIMIT n]

Controls: output columns must be ``listColumns`` of their table; join conditions use ``joinColumns``
with the allowed operators; list queries may use mathematical operators but no functions (neither
aggregate nor scalar); every table of another member must be joined, directly or transitively, to a
table of the member who can query (that is what makes the list an overlap).
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlglot import exp

from adplan.cleanroom.config import Collaboration, ListRule
from adplan.cleanroom.errors import invalid
from adplan.cleanroom.joins import check_from_clause, require_join_to_member
from adplan.cleanroom.shape import check_single_select
from adplan.cleanroom.sql import TableRef, function_display_name

RULE = "list"
_VALUES = (exp.Literal, exp.Null, exp.Boolean)
_OPERATORS = (
    exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod, exp.Neg, exp.Paren, exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT,
    exp.LTE, exp.And, exp.Or, exp.Not, exp.In, exp.Between, exp.Like, exp.ILike, exp.Is,
)  # fmt: skip


def check_list_query(
    tree: exp.Query, refs: Mapping[str, TableRef], collaboration: Collaboration, member: str
) -> None:
    select = check_single_select(tree, RULE)
    distinct = select.args.get("distinct")
    if distinct is None or distinct.args.get("on"):
        raise invalid(
            "List queries must be SELECT DISTINCT column, ... (the list rule returns distinct rows)."
        )
    for clause in ("group", "having", "order", "offset"):
        if select.args.get(clause):
            raise invalid(
                f"{clause.upper()} is not part of the list query structure (SELECT DISTINCT ... LIMIT n)."
            )
    edges = check_from_clause(select, refs, RULE)
    others = [alias for alias, ref in refs.items() if ref.table.owner != member]
    require_join_to_member(
        others, edges, refs, member, collaboration.tables_owned_by(member), "list queries return the overlap"
    )
    for projection in select.expressions:
        column = projection.unalias()
        if not isinstance(column, exp.Column):
            raise invalid(f"List queries select columns only, not expressions: {column.sql()}.")
        _check_list_column(column, refs, "SELECT")
    if select.args.get("where"):
        _check_condition(select.args["where"].this, refs)


def _rule(column: exp.Column, refs: Mapping[str, TableRef]) -> tuple[TableRef, ListRule]:
    ref = refs[column.table]
    return ref, ref.table.analysis_rule


def _check_list_column(column: exp.Column, refs: Mapping[str, TableRef], clause: str) -> None:
    ref, rule = _rule(column, refs)
    if column.name in rule.list_columns:
        return
    kind = "a join column" if column.name in rule.join_columns else "not a list column"
    raise invalid(
        f"{ref.table.name}.{column.name} (owner {ref.table.owner}) is {kind}, so it can't be used in {clause}; "
        f"list columns of {ref.table.name}: {sorted(rule.list_columns)}."
    )


def _check_condition(node: exp.Expression, refs: Mapping[str, TableRef]) -> None:
    if isinstance(node, exp.Column):
        _check_list_column(node, refs, "WHERE")
    elif isinstance(node, exp.Func):
        raise invalid(
            f"List queries can't use functions ({function_display_name(node)}): only mathematical and "
            "comparison operators."
        )
    elif isinstance(node, _OPERATORS):
        for child in node.iter_expressions():
            _check_condition(child, refs)
    elif not isinstance(node, _VALUES):
        raise invalid(f"{node.sql()} is not allowed in WHERE of a list query.")
