"""The fixed query structure of the aggregation and list rules: one flat SELECT over configured tables.

The documented syntax of both rules has no CTEs, subqueries, set operations or window functions, and
names columns one by one. Anything else is refused before the column-level checks, because a nested
query is the usual way to smuggle row-level data past an output control.
"""

from __future__ import annotations

from sqlglot import exp

from adplan.cleanroom.errors import invalid

_UNSUPPORTED = {
    exp.Window: "window functions",
    exp.Lateral: "LATERAL",
    exp.Unnest: "UNNEST",
    exp.Values: "VALUES lists",
    exp.Exists: "EXISTS",
}


def reject_stars(tree: exp.Expression, rule_name: str) -> None:
    """``SELECT *`` and ``COUNT(*)`` (checked before qualification expands the star)."""
    for star in tree.find_all(exp.Star):
        if isinstance(star.parent, exp.Count):
            raise invalid(
                f"COUNT(*) is not allowed under the {rule_name} analysis rule: aggregate functions take a "
                "column, e.g. COUNT(DISTINCT alias.join_column) or COUNT(alias.aggregate_column)."
            )
        raise invalid(f"SELECT * is not allowed under the {rule_name} analysis rule: name each column.")


def check_single_select(tree: exp.Query, rule_name: str) -> exp.Select:
    if not isinstance(tree, exp.Select):
        raise invalid(
            f"UNION, INTERSECT and EXCEPT are not allowed under the {rule_name} analysis rule: "
            "run one SELECT per result."
        )
    if tree.find(exp.CTE):
        raise invalid(f"WITH (common table expressions) is not allowed under the {rule_name} analysis rule.")
    for node in tree.walk():
        if node is not tree and isinstance(node, exp.Query | exp.Subquery):
            raise invalid(
                f"Subqueries are not allowed under the {rule_name} analysis rule: the query must be a single "
                "SELECT over configured tables joined with INNER JOIN."
            )
        for node_type, name in _UNSUPPORTED.items():
            if isinstance(node, node_type):
                raise invalid(f"{name} are not allowed under the {rule_name} analysis rule.")
    for clause in ("qualify", "windows"):
        if tree.args.get(clause):
            raise invalid(f"{clause.upper()} is not allowed under the {rule_name} analysis rule.")
    return tree
