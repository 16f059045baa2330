"""Execution rewrite: joins on ``a = b OR c = d`` as disjoint equi-joins DuckDB can hash.

DuckDB runs an OR join condition as a nested-loop join (600k x 700k rows for the overlap on email OR
phone). A join condition made of equalities combined with AND/OR is a disjunction of conjunctions
t1 OR t2 OR ...; the rows it joins are the disjoint union of the rows joined on t1, on t2 but not t1,
on t3 but neither t1 nor t2, ... Each piece is an equi-join plus a filter, so the rewritten query reads

    SELECT ... FROM (<piece 1> UNION ALL <piece 2> ...) AS __cr_joined [WHERE ...] [GROUP BY ...] ...

with the pieces selecting every column the rest of the query uses. Same rows, same multiplicities, so
the same aggregates and the same output constraints. Only the flat single-SELECT queries of the
aggregation and list rules are rewritten (those rules already restrict ON to AND/OR of equalities).
"""

from __future__ import annotations

import itertools

from sqlglot import exp

JOINED = "__cr_joined"


def expand_or_joins(select: exp.Select) -> exp.Select:
    joins = select.args.get("joins") or []
    if not any(join.args["on"].find(exp.Or) for join in joins):
        return select
    select = select.copy()
    joins = select.args["joins"]
    source = select.args["from_"].this
    select.set("joins", None)
    select.set("from_", None)
    used = _outer_columns(select)
    terms = [_disjunction(join.args["on"]) for join in joins]
    pieces = [
        _piece(source, joins, terms, choice, used)
        for choice in itertools.product(*map(range, map(len, terms)))
    ]
    union = pieces[0]
    for piece in pieces[1:]:
        union = exp.union(union, piece, distinct=False)
    return select.from_(
        exp.Subquery(this=union, alias=exp.TableAlias(this=exp.to_identifier(JOINED))), copy=False
    )


def _outer_columns(select: exp.Select) -> dict[tuple[str, str], str]:
    """Point every qualified column of the outer query at the joined derived table."""
    used: dict[tuple[str, str], str] = {}
    for column in list(select.find_all(exp.Column)):
        if not column.table:
            continue  # an output alias (ORDER BY n)
        name = used.setdefault((column.table, column.name), f"c{len(used)}")
        column.replace(exp.column(name, table=JOINED))
    return used


def _disjunction(condition: exp.Expression) -> list[exp.Expression]:
    if isinstance(condition, exp.Paren):
        return _disjunction(condition.this)
    if isinstance(condition, exp.Or):
        return _disjunction(condition.this) + _disjunction(condition.expression)
    if isinstance(condition, exp.And):
        return [
            exp.and_(left, right)
            for left in _disjunction(condition.this)
            for right in _disjunction(condition.expression)
        ]
    return [condition]


def _piece(source, joins, terms, choice, used: dict[tuple[str, str], str]) -> exp.Select:
    columns = [exp.alias_(exp.column(column, table=alias), name) for (alias, column), name in used.items()]
    piece = exp.select(*(columns or [exp.Literal.number(1)])).from_(source.copy())
    excluded = []
    for join, join_terms, index in zip(joins, terms, choice, strict=True):
        piece = piece.join(join.this.copy(), on=join_terms[index].copy(), join_type="inner")
        if index:
            earlier = exp.or_(*(term.copy() for term in join_terms[:index]))
            excluded.append(exp.not_(exp.func("COALESCE", exp.paren(earlier), exp.false())))
    return piece.where(exp.and_(*excluded)) if excluded else piece
