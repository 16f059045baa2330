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

Memory: the input edges are neither deduplicated nor collected into a node list up front (a DISTINCT
over tens of millions of pairs is a hash table of that size, and ran out of DuckDB's memory cap at
11M pairs). A duplicate edge changes no minimum, so the first round takes the edges as they come;
its neighbourhood minima list every node with an edge, and the contracted edges, deduplicated, are
few. Every step is a scan, a hash join built on a node table, or an aggregate by node.
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
    # Duplicates and both directions of an edge are kept: the first round does not mind them, and
    # its rebuild of the edges deduplicates what is left (see the module's docstring).
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE cc_edges AS
        SELECT least(a, b)::BIGINT AS lo, greatest(a, b)::BIGINT AS hi
        FROM ({edges_sql}) WHERE a <> b
        """
    )
    # Until the first round, cc_map is empty: that round's minima (cc_min) cover every node.
    con.execute("CREATE OR REPLACE TEMP TABLE cc_map (node BIGINT, label BIGINT)")
    rounds = 0
    while con.execute("SELECT count(*) FROM cc_edges").fetchall()[0][0] > 0:
        if rounds == max_rounds:
            raise RuntimeError(f"connected components did not settle in {max_rounds} rounds")
        rounds += 1
        _contract_once(con, first=rounds == 1)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {out_table} AS SELECT node, label FROM cc_map")
    for table in ("cc_map", "cc_edges", "cc_min"):
        con.execute(f"DROP TABLE IF EXISTS {table}")
    return rounds


def _contract_once(con: duckdb.DuckDBPyConnection, first: bool) -> None:
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
    if first:
        # Every node with an edge is in cc_min, already labelled with its root.
        con.execute("CREATE OR REPLACE TEMP TABLE cc_map AS SELECT node, label FROM cc_min")
    else:
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
