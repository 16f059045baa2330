"""The aggregation analysis rule: query controls, and the output constraint as a query rewrite.

Documented query structure::

    SELECT aggregation_function(column) [, ...] [, {dimension_column | scalar_function(...)} ...]
    FROM table [INNER JOIN table ON join_condition] ...
    [WHERE where_condition] [GROUP BY ...] [HAVING ...] [ORDER BY ...]

Controls, each checked per column against the rule of the table the column belongs to:
- ``aggregateColumns``: a column may be aggregated only with the functions listed for it; aggregate
  functions take one column (no expressions, no ``*``); COUNT/SUM/AVG only.
- ``joinColumns``: only in JOIN ON equalities (and inside an aggregate the rule lists for them, e.g.
  COUNT_DISTINCT); never output, filtered or grouped on.
- ``dimensionColumns``: the only columns that may be selected, grouped by, filtered or ordered on.
- ``scalarFunctions``: the only functions around dimension columns and aggregate results; the allowed
  set is the intersection over all referenced tables (the most restrictive control wins).
- ``joinRequired: QUERY_RUNNER``: the table must be joined to a table the querying member owns.
- ``outputConstraints``: each output row must aggregate at least ``minimum`` distinct values of the
  column. Enforced by adding ``COUNT(DISTINCT alias.column) >= minimum`` to HAVING, i.e. computing the
  hidden count per output group and dropping the groups below it, with no trace of what was dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlglot import exp

from adplan.cleanroom.config import AggregationRule, Collaboration
from adplan.cleanroom.errors import invalid
from adplan.cleanroom.joins import check_from_clause, require_join_to_member
from adplan.cleanroom.shape import check_single_select
from adplan.cleanroom.sql import (
    TableRef,
    aggregate_argument,
    aggregate_name,
    allowed_function_keys,
    function_display_name,
    function_key,
)

RULE = "aggregation"
_LITERALS = (exp.Literal, exp.Null, exp.Boolean, exp.DataType, exp.Var, exp.Identifier)
_ARITHMETIC = (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod, exp.Neg, exp.Paren)
_PREDICATES = (
    exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.And, exp.Or, exp.Not, exp.In, exp.Between,
    exp.Like, exp.ILike, exp.Is,
)  # fmt: skip


@dataclass(frozen=True)
class OutputConstraint:
    """``COUNT(DISTINCT alias.column) >= minimum`` must hold for every output row."""

    alias: str
    column: str
    minimum: int


def check_aggregation_query(
    tree: exp.Query, refs: Mapping[str, TableRef], collaboration: Collaboration, member: str
) -> list[OutputConstraint]:
    select = check_single_select(tree, RULE)
    if select.args.get("distinct"):
        raise invalid(
            "SELECT DISTINCT is not part of the aggregation query structure; GROUP BY dimensions instead."
        )
    if select.args.get("limit") or select.args.get("offset"):
        raise invalid("LIMIT/OFFSET are not part of the aggregation query structure.")
    edges = check_from_clause(select, refs, RULE)
    _check_join_required(refs, edges, collaboration, member)
    checker = _ExpressionChecker(refs, _allowed_functions(refs, collaboration))
    _check_projections(select, checker)
    if select.args.get("where"):
        checker.check(select.args["where"].this, clause="WHERE", aggregates=False, predicate=True)
    _check_group_by(select, checker)
    if select.args.get("having"):
        checker.check(select.args["having"].this, clause="HAVING", aggregates=True, predicate=True)
    _check_order_by(select, checker)
    return _output_constraints(refs)


def _check_join_required(
    refs: Mapping[str, TableRef], edges, collaboration: Collaboration, member: str
) -> None:
    required = [
        alias
        for alias, ref in refs.items()
        if ref.table.analysis_rule.join_required == "QUERY_RUNNER" and ref.table.owner != member
    ]
    require_join_to_member(
        required, edges, refs, member, collaboration.tables_owned_by(member), "joinRequired: QUERY_RUNNER"
    )


def _allowed_functions(refs: Mapping[str, TableRef], collaboration: Collaboration) -> frozenset[str]:
    allowed: frozenset[str] | None = None
    for ref in refs.values():
        keys = allowed_function_keys(ref.table.analysis_rule.scalar_functions, collaboration.dialect)
        allowed = keys if allowed is None else allowed & keys
    return allowed or frozenset()


def _check_projections(select: exp.Select, checker: _ExpressionChecker) -> None:
    has_aggregate = False
    for projection in select.expressions:
        expression = projection.unalias()
        is_metric = _contains_aggregate(expression)
        has_aggregate |= is_metric
        checker.check(expression, clause="SELECT", aggregates=is_metric, predicate=False)
    if not has_aggregate:
        raise invalid(
            "An aggregation query must select at least one aggregate function (COUNT, SUM or AVG of an "
            "aggregate column); row-level SELECTs are not allowed."
        )


def _check_group_by(select: exp.Select, checker: _ExpressionChecker) -> None:
    group = select.args.get("group")
    grouped = []
    for expression in group.expressions if group else []:
        checker.check(expression, clause="GROUP BY", aggregates=False, predicate=False)
        grouped.append(expression.sql())
    for projection in select.expressions:
        expression = projection.unalias()
        is_dimension = not _contains_aggregate(expression) and not isinstance(expression, _LITERALS)
        if is_dimension and expression.sql() not in grouped:
            raise invalid(
                f"{projection.alias_or_name} is selected but not in GROUP BY; group by every dimension."
            )


def _check_order_by(select: exp.Select, checker: _ExpressionChecker) -> None:
    order = select.args.get("order")
    aliases = {projection.alias_or_name for projection in select.expressions}
    for ordered in order.expressions if order else []:
        expression = ordered.this
        if isinstance(expression, exp.Column) and not expression.table and expression.name in aliases:
            continue  # ORDER BY an output column
        checker.check(expression, clause="ORDER BY", aggregates=True, predicate=False)


def _contains_aggregate(expression: exp.Expression) -> bool:
    return any(isinstance(node, exp.AggFunc) for node in expression.walk())


def _output_constraints(refs: Mapping[str, TableRef]) -> list[OutputConstraint]:
    return [
        OutputConstraint(alias, constraint.column_name, constraint.minimum)
        for alias, ref in refs.items()
        for constraint in ref.table.analysis_rule.output_constraints
    ]


def add_output_constraints(select: exp.Select, constraints: list[OutputConstraint]) -> exp.Select:
    """Drop output groups below a threshold: AND ``COUNT(DISTINCT alias.col) >= min`` into HAVING."""
    conditions = [
        exp.GTE(
            this=exp.Count(this=exp.Distinct(expressions=[exp.column(item.column, table=item.alias)])),
            expression=exp.Literal.number(item.minimum),
        )
        for item in constraints
    ]
    if not conditions:
        return select
    having = select.args.get("having")
    if having is not None:
        conditions.insert(0, exp.Paren(this=having.this))
    return select.having(exp.and_(*conditions), append=False, copy=False)


class _ExpressionChecker:
    """Walks one clause's expression and checks every column, function and operator in it."""

    def __init__(self, refs: Mapping[str, TableRef], allowed_functions: frozenset[str]) -> None:
        self.refs = refs
        self.allowed_functions = allowed_functions

    def check(self, node: exp.Expression, *, clause: str, aggregates: bool, predicate: bool) -> None:
        if isinstance(node, exp.Column):
            self._check_dimension(node, clause)
        elif aggregate_name(node) is not None:
            if not aggregates:
                raise invalid(f"Aggregate functions are not allowed in {clause}.")
            self._check_aggregate(node)
        elif isinstance(node, exp.AggFunc):
            raise invalid(
                f"{function_display_name(node)} is not an aggregation function the aggregation rule allows; "
                "use COUNT, COUNT(DISTINCT), SUM, SUM(DISTINCT) or AVG."
            )
        elif isinstance(node, _LITERALS) or (
            isinstance(node, exp.Interval) and isinstance(node.this, exp.Literal)
        ):
            return
        elif isinstance(node, _ARITHMETIC) or (predicate and isinstance(node, _PREDICATES)):
            self._check_children(node, clause, aggregates, predicate)
        elif isinstance(node, exp.Func):
            self._check_function(node, clause)
            self._check_children(node, clause, aggregates, predicate)
        else:
            raise invalid(f"{node.sql()} is not allowed in {clause} of an aggregation query.")

    def _check_children(self, node: exp.Expression, clause: str, aggregates: bool, predicate: bool) -> None:
        for child in node.iter_expressions():
            self.check(child, clause=clause, aggregates=aggregates, predicate=predicate)

    def _check_function(self, node: exp.Func, clause: str) -> None:
        if function_key(node) not in self.allowed_functions:
            raise invalid(
                f"{function_display_name(node)} is not an allowed scalar function in {clause}: every referenced "
                "table must list it in scalarFunctions (the most restrictive table wins)."
            )

    def _rule(self, column: exp.Column) -> tuple[TableRef, AggregationRule]:
        ref = self.refs[column.table]
        return ref, ref.table.analysis_rule

    def _check_dimension(self, column: exp.Column, clause: str) -> None:
        ref, rule = self._rule(column)
        if column.name in rule.dimension_columns:
            return
        where = f"{ref.table.name}.{column.name} (owner {ref.table.owner})"
        if column.name in rule.join_columns:
            functions = sorted(rule.functions_for(column.name))
            inside = f", or inside {', '.join(functions)}" if functions else ""
            raise invalid(
                f"{where} is a join column: it can be used only in JOIN ON conditions{inside}; it can never be "
                f"output, grouped or filtered on (found in {clause})."
            )
        functions = sorted(rule.functions_for(column.name))
        hint = f"; it can only be aggregated with {', '.join(functions)}" if functions else ""
        raise invalid(
            f"{where} is not a dimension column, so it can't be used in {clause}{hint}. "
            f"Dimension columns of {ref.table.name}: {sorted(rule.dimension_columns)}."
        )

    def _check_aggregate(self, node: exp.Expression) -> None:
        name = aggregate_name(node)
        arguments = aggregate_argument(node)
        if len(arguments) != 1 or not isinstance(arguments[0], exp.Column):
            raise invalid(
                f"{node.sql()}: aggregate functions take exactly one column as their argument, not an expression."
            )
        ref, rule = self._rule(arguments[0])
        allowed = rule.functions_for(arguments[0].name)
        if name not in allowed:
            raise invalid(
                f"{name} is not allowed on {ref.table.name}.{arguments[0].name} (owner {ref.table.owner}): "
                f"aggregateColumns allow {sorted(allowed) or 'no aggregate function'} on it."
            )
