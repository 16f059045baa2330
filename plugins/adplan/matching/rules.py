"""Rule matching with AWS Entity Resolution semantics, in SQL on DuckDB.

- A rule matches two records when every one of its match keys is equal; a missing value (null or
  empty) never matches.
- ONE_TO_ONE compares a match key's values only between attributes of the same sub-type (a field's
  ``subType``, else its name: ``email`` with ``email``); MANY_TO_MANY compares any attribute of the
  key with any other (``email`` with ``business_email``).
- Rules form a waterfall: a pair that several rules match is attributed to the first of them. A
  record's ``MatchRule`` is the first rule that matched it to another record.
- Matches are transitive: records joined by any chain of matches share one MatchID.

No pair of records is ever materialised: each rule groups records by their values for its keys, and
links every record of a group to the group's smallest record (a star), which has the same
components as all pairs of the group. That keeps the work linear in the records.
"""

from __future__ import annotations

from itertools import product

import duckdb

from adplan.matching.components import connected_components
from adplan.matching.config import ONE_TO_ONE, MatchingWorkflow, Rule
from adplan.matching.inputs import PreparedInputs, PreparedSource, literal


def rule_keys(workflow: MatchingWorkflow) -> set[str]:
    return {key for rule in workflow.rules for key in rule.matching_keys}


def build_rule_edges(con: duckdb.DuckDBPyConnection, prepared: PreparedInputs) -> None:
    """Create ``er_edges`` (rid, anchor, rule_no): each record linked to its group's first record."""
    workflow = prepared.workflow
    con.execute("CREATE OR REPLACE TEMP TABLE er_edges (rid BIGINT, anchor BIGINT, rule_no INTEGER)")
    one_to_one = workflow.attribute_matching_model == ONE_TO_ONE
    for rule_no, rule in enumerate(workflow.rules):
        tuples, repeats_possible = _rule_tuples_sql(rule, prepared.sources, one_to_one)
        if tuples:
            con.execute(
                f"INSERT INTO er_edges {_rule_edges_sql(tuples, len(rule.matching_keys), one_to_one, rule_no, repeats_possible)}"
            )


def _rule_tuples_sql(rule: Rule, sources: list[PreparedSource], one_to_one: bool) -> tuple[str, bool]:
    """SELECTs of (rid, value per key[, identity per key]), one row per record and combination of its
    attributes for the rule's keys. A record missing any key has no row: nulls never match."""
    selects = []
    repeats_possible = False
    for prepared in sources:
        per_key = [[a for a in prepared.attributes if a.match_key == key] for key in rule.matching_keys]
        combinations = list(product(*per_key))
        repeats_possible |= len(combinations) > 1
        for combination in combinations:
            columns = [prepared.attribute_columns[a.name] for a in combination]
            values = [f"{column} AS c{k}" for k, column in enumerate(columns)]
            if one_to_one:
                values += [f"{literal(a.one_to_one_identity)} AS i{k}" for k, a in enumerate(combination)]
            not_null = " AND ".join(f"{column} IS NOT NULL" for column in columns)
            selects.append(f"SELECT rid, {', '.join(values)} FROM {prepared.table} WHERE {not_null}")
    return " UNION ALL ".join(selects), repeats_possible


def _rule_edges_sql(tuples: str, keys: int, one_to_one: bool, rule_no: int, repeats_possible: bool) -> str:
    # Group records on the rule's values and link each to the group's smallest rid: a star has the
    # same components as every pair of the group, in linear size. A record with two attributes of a
    # key (MANY_TO_MANY) may meet a group twice, hence DISTINCT then.
    group_by = [f"c{k}" for k in range(keys)] + ([f"i{k}" for k in range(keys)] if one_to_one else [])
    rids, distinct = (
        ("list(DISTINCT rid)", "count(DISTINCT rid)") if repeats_possible else ("list(rid)", "count(*)")
    )
    return f"""
        SELECT rid, anchor, {rule_no} AS rule_no FROM (
            SELECT unnest(rids) AS rid, list_min(rids) AS anchor FROM (
                SELECT {rids} AS rids FROM ({tuples}) GROUP BY {", ".join(group_by)} HAVING {distinct} > 1
            )
        ) WHERE rid <> anchor
    """


def cluster_rule_matches(con: duckdb.DuckDBPyConnection, prepared: PreparedInputs) -> dict[str, int]:
    """Create ``er_assign`` (rid, cluster, MatchRule) for every record; returns run figures."""
    build_rule_edges(con, prepared)
    rounds = connected_components(con, "SELECT rid AS a, anchor AS b FROM er_edges", "er_components")
    rule_names = ", ".join(
        f"({i}, {literal(rule.rule_name)})" for i, rule in enumerate(prepared.workflow.rules)
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE er_assign AS
        WITH first_rule AS (
            SELECT node AS rid, min(rule_no) AS rule_no FROM (
                SELECT rid AS node, rule_no FROM er_edges
                UNION ALL SELECT anchor, rule_no FROM er_edges
            ) GROUP BY node
        ),
        rule_names(rule_no, rule_name) AS (VALUES {rule_names})
        SELECT r.rid, r.source_no, r.record_id, coalesce(c.label, r.rid) AS cluster, c.label IS NOT NULL AS linked,
               n.rule_name AS MatchRule
        FROM er_records r
        LEFT JOIN er_components c ON c.node = r.rid
        LEFT JOIN first_rule f ON f.rid = r.rid
        LEFT JOIN rule_names n ON n.rule_no = f.rule_no
        """
    )
    edges = con.execute("SELECT count(*) FROM er_edges").fetchall()[0][0]
    return {"links": int(edges), "components_rounds": rounds}
