"""The custom analysis rule: who may run which SQL, and which columns may reach the output.

- ``allowedAnalyses``: the analysis templates the table owner approved, or ``ANY_QUERY``.
- ``allowedAnalysisProviders``: with ``ANY_QUERY``, the members whose queries (direct SQL, or templates
  they authored) may run on the table without review. A template runs only if every custom-rule table
  it reads approves it (by name, or through its author being an allowed provider): the most
  restrictive table wins.
- ``disallowedOutputColumns``: the column's values must not reach the output. Checked by lineage over
  every scope (CTEs, subqueries, set operations): an output column is tainted when its expression reads
  a disallowed column, or a tainted column of an inner query, anywhere except inside COUNT (which
  reveals how many rows, not which values). MIN/MAX/window functions over a disallowed column are
  tainted, since they return its values.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from sqlglot import exp
from sqlglot.optimizer.scope import Scope

from adplan.cleanroom.config import AnalysisTemplate, CustomRule
from adplan.cleanroom.errors import RESOURCE_ACCESS_DENIED, CleanRoomsError, invalid
from adplan.cleanroom.sql import TableRef

Taint = list[tuple[str, set[str]]]  # per output column, in order: (name, disallowed sources it shows)


def check_custom_authorization(
    refs: Iterable[TableRef], member: str, template: AnalysisTemplate | None
) -> None:
    for ref in _unique_tables(refs):
        rule: CustomRule = ref.table.analysis_rule
        where = f"{ref.table.name} (owner {ref.table.owner})"
        if template is None:
            if rule.allows_any_query and member in rule.allowed_analysis_providers:
                continue
            raise CleanRoomsError(
                RESOURCE_ACCESS_DENIED,
                f"{where} does not allow direct queries from {member}: " + _what_is_allowed(rule),
            )
        if template.name in rule.allowed_analyses:
            continue
        if rule.allows_any_query and template.owner in rule.allowed_analysis_providers:
            continue
        raise CleanRoomsError(
            RESOURCE_ACCESS_DENIED,
            f"{where} has not approved analysis template {template.name} (author {template.owner}): "
            + _what_is_allowed(rule),
        )


def _what_is_allowed(rule: CustomRule) -> str:
    if rule.allows_any_query:
        return f"only members {sorted(rule.allowed_analysis_providers)} may author queries on it."
    return f"it allows only the analysis templates {list(rule.allowed_analyses) or 'none'}."


def _unique_tables(refs: Iterable[TableRef]) -> Iterator[TableRef]:
    seen = set()
    for ref in refs:
        if ref.table.name not in seen:
            seen.add(ref.table.name)
            yield ref


def check_disallowed_output_columns(tree: exp.Query, tree_scopes: list[Scope]) -> None:
    root_taint = output_taint(tree, tree_scopes)
    leaks = [(name, sorted(sources)) for name, sources in root_taint if sources]
    if leaks:
        shown = "; ".join(f"output column {name} shows {', '.join(sources)}" for name, sources in leaks)
        raise invalid(
            f"The query outputs columns its table owners disallow (disallowedOutputColumns): {shown}. "
            "Such columns can be joined on, filtered on or counted, but their values can't be output."
        )


def output_taint(tree: exp.Query, tree_scopes: list[Scope]) -> Taint:
    """For each output column of ``tree``: the disallowed columns whose values it can show."""
    taint: dict[int, Taint] = {}
    for scope in tree_scopes:  # inner scopes come first
        expression = scope.expression
        if isinstance(expression, exp.SetOperation):
            taint[id(expression)] = _set_operation_taint(expression, taint)
        else:
            taint[id(expression)] = [
                (projection.alias_or_name, _shown_sources(projection, scope, taint))
                for projection in expression.selects
            ]
    return taint[id(tree)]


def _unwrap(expression: exp.Expression) -> exp.Expression:
    while isinstance(expression, exp.Subquery):
        expression = expression.this
    return expression


def _set_operation_taint(expression: exp.SetOperation, taint: dict[int, Taint]) -> Taint:
    left = taint[id(_unwrap(expression.left))]
    right = taint[id(_unwrap(expression.right))]
    return [
        (name, sources | right_sources)
        for (name, sources), (_, right_sources) in zip(left, right, strict=False)
    ]


def _shown_sources(node: exp.Expression, scope: Scope, taint: dict[int, Taint]) -> set[str]:
    if isinstance(node, exp.Count):
        return set()  # a count shows how many values, not which
    if isinstance(node, exp.Subquery | exp.Query):
        inner = taint.get(id(_unwrap(node)), [])
        return set().union(*(sources for _, sources in inner))
    if isinstance(node, exp.Column):
        return _column_sources(node, scope, taint)
    found: set[str] = set()
    for child in node.iter_expressions():
        found |= _shown_sources(child, scope, taint)
    return found


def _column_sources(column: exp.Column, scope: Scope, taint: dict[int, Taint]) -> set[str]:
    source = _resolve(scope, column.table)
    if isinstance(source, Scope):
        inner = taint.get(id(source.expression), [])
        return next((sources for name, sources in inner if name == column.name), set())
    if isinstance(source, exp.Table):
        return {f"{source.name}.{column.name}"} if column.name in _disallowed(source) else set()
    return set()


def _resolve(scope: Scope | None, alias: str) -> exp.Table | Scope | None:
    while scope is not None:
        if alias in scope.sources:
            return scope.sources[alias]
        scope = scope.parent
    return None


def _disallowed(table: exp.Table) -> frozenset[str]:
    rule = table.meta.get("cleanroom_rule")
    return rule.disallowed_output_columns if isinstance(rule, CustomRule) else frozenset()


def annotate_rules(refs: Iterable[TableRef]) -> None:
    """Attach each table node's rule, so lineage can look it up from the node alone."""
    for ref in refs:
        ref.node.meta["cleanroom_rule"] = ref.table.analysis_rule
