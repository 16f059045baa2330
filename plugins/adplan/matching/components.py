"""Connected components in SQL on DuckDB: min-label propagation with pointer jumping and contraction.

Each round every node of the current graph points to the smallest id in its closed neighbourhood
(itself and its neighbours). Those pointers form a forest whose roots are local minima; pointer
jumping (``label := label(label)``, doubling the distance each time) takes every node to its root in
about log2(depth) steps, so a chain of n records settles in one round rather than n. The graph is then
contracted onto the labels: an edge (a, b) becomes (label(a), label(b)) and disappears when both ends
got the same label, and every original node follows its representative. The smallest node of a
component never takes another label, so when no edge is left every node is labelled with its
component's smallest id.

Contraction keeps rounds cheap: after the first round most components are one node without edges,
so later rounds only touch what is still being merged.
"""

from __future__ import annotations

import duckdb

MAX_ROUNDS = 100


def connected_components(
    con: duckdb.DuckDBPyConnection,
    edges_sql: str,
    out_table: str,
    *,
    max_rounds: int = MAX_ROUNDS,
) -> int:
    """Label the nodes of an undirected graph by component.

    ``edges_sql`` selects integer columns ``a`` and ``b`` (one row per edge, either direction).
    Creates ``out_table`` (node BIGINT, label BIGINT) holding every node that has an edge, labelled
    with the smallest node id of its component. Returns the number of rounds.
    """
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE cc_edges AS
        SELECT DISTINCT least(a, b)::BIGINT AS lo, greatest(a, b)::BIGINT AS hi
        FROM ({edges_sql}) WHERE a <> b
        """
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE cc_map AS SELECT lo AS node, lo AS label FROM cc_edges "
        "UNION SELECT hi, hi FROM cc_edges"
    )
    rounds = 0
    while con.execute("SELECT count(*) FROM cc_edges").fetchall()[0][0] > 0:
        if rounds == max_rounds:
            raise RuntimeError(f"connected components did not settle in {max_rounds} rounds")
        rounds += 1
        _contract_once(con)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {out_table} AS SELECT node, label FROM cc_map")
    for table in ("cc_map", "cc_edges", "cc_min"):
        con.execute(f"DROP TABLE IF EXISTS {table}")
    return rounds


def _contract_once(con: duckdb.DuckDBPyConnection) -> None:
    # The smallest id in each node's closed neighbourhood. Edges are stored lo < hi, so a node's
    # smaller neighbours are the lo ends of its edges.
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE cc_min AS
        SELECT node, min(label) AS label FROM (
            SELECT hi AS node, lo AS label FROM cc_edges
            UNION ALL SELECT lo, lo FROM cc_edges
        ) GROUP BY node
        """
    )
    _jump_to_roots(con)
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE cc_map AS
        SELECT m.node, coalesce(c.label, m.label) AS label
        FROM cc_map m LEFT JOIN cc_min c ON c.node = m.label
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE cc_edges AS
        SELECT DISTINCT least(x.label, y.label) AS lo, greatest(x.label, y.label) AS hi
        FROM cc_edges e JOIN cc_min x ON x.node = e.lo JOIN cc_min y ON y.node = e.hi
        WHERE x.label <> y.label
        """
    )


def _jump_to_roots(con: duckdb.DuckDBPyConnection, max_jumps: int = 64) -> None:
    # Every label is itself a node of cc_min (a lo end), and labels only decrease: this terminates.
    for _ in range(max_jumps):
        con.execute(
            """
            CREATE OR REPLACE TEMP TABLE cc_jump AS
            SELECT c.node, p.label, p.label <> c.label AS moved
            FROM cc_min c JOIN cc_min p ON p.node = c.label
            """
        )
        moved = con.execute("SELECT count(*) FILTER (WHERE moved) FROM cc_jump").fetchall()[0][0]
        con.execute("CREATE OR REPLACE TEMP TABLE cc_min AS SELECT node, label FROM cc_jump")
        con.execute("DROP TABLE cc_jump")
        if moved == 0:
            return
