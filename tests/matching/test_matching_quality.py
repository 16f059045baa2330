"""Quality metrics on examples small enough to count by hand, and connected components."""

from __future__ import annotations

import duckdb
import pytest

from adplan.matching.components import connected_components
from adplan.matching.quality import Scores, quality_report


def frame(con: duckdb.DuckDBPyConnection, name: str, columns: str, rows: list[tuple]) -> None:
    values = ", ".join(str(row) for row in rows)
    con.execute(f"CREATE TABLE {name} AS SELECT * FROM (VALUES {values}) AS t({columns})")


def test_scores_on_a_hand_counted_example():
    con = duckdb.connect()
    # Truth: people P = {a, b, c}, Q = {d, e}, R = {f}. Prediction: {a, b}, {c, d, e}, {f}.
    frame(
        con,
        "truth",
        "source, record_id, person_id",
        [("s", r, p) for r, p in zip("abcdef", "PPPQQR", strict=True)],
    )
    frame(
        con,
        "pred",
        "source, record_id, cluster",
        [("s", r, c) for r, c in zip("abcdef", "112223", strict=True)],
    )
    report = quality_report(con, "SELECT * FROM pred", "SELECT * FROM truth")
    # True pairs: ab ac bc de = 4. Predicted pairs: ab cd ce de = 4. Both: ab de = 2.
    assert report.pairwise == Scores(0.5, 0.5, 0.5)
    # Exact clusters: {f} only, of 3 predicted and 3 true.
    assert report.cluster == Scores(round(1 / 3, 6), round(1 / 3, 6), round(1 / 3, 6))
    assert (
        report.cluster_sizes["1"] == 1 and report.cluster_sizes["2"] == 1 and report.cluster_sizes["3"] == 1
    )
    assert report.largest_cluster == 3
    assert report.per_source["s"] == {"records": 6, "matched": 5, "matched_share": round(5 / 6, 6)}


def test_records_without_truth_are_reported_not_scored():
    con = duckdb.connect()
    frame(con, "truth", "source, record_id, person_id", [("s", "a", "P"), ("s", "b", "P")])
    frame(con, "pred", "source, record_id, cluster", [("s", "a", "1"), ("s", "b", "1"), ("t", "x", "1")])
    report = quality_report(con, "SELECT * FROM pred", "SELECT * FROM truth")
    assert report.evaluated_records == 2
    assert report.pairwise == Scores(1.0, 1.0, 1.0)
    assert "1 of 3 records have no ground truth" in report.notes[0]


@pytest.mark.parametrize(
    ("edges", "expected"),
    [
        ([(1, 2), (2, 3), (7, 8)], {1: 1, 2: 1, 3: 1, 7: 7, 8: 7}),
        ([(5, 4), (4, 3), (3, 2), (2, 1)], {1: 1, 2: 1, 3: 1, 4: 1, 5: 1}),
        ([(10, 1), (10, 20), (30, 20), (40, 30), (2, 40)], {1: 1, 2: 1, 10: 1, 20: 1, 30: 1, 40: 1}),
    ],
)
def test_connected_components_label_by_the_smallest_node(edges, expected):
    con = duckdb.connect()
    frame(con, "e", "a, b", edges)
    connected_components(con, "SELECT a, b FROM e", "labels")
    assert dict(con.execute("SELECT node, label FROM labels").fetchall()) == expected


def test_a_long_path_settles_in_few_rounds():
    con = duckdb.connect()
    # A path through 5,000 nodes in shuffled id order (0 - 7919 - 2*7919 mod n - ...), the worst
    # case for min-label propagation without pointer jumping (one hop per round).
    n = 5000
    con.execute(
        f"CREATE TABLE e AS SELECT (i * 7919) % {n} AS a, ((i + 1) * 7919) % {n} AS b FROM range({n - 1}) t(i)"
    )
    rounds = connected_components(con, "SELECT a, b FROM e", "labels")
    assert con.execute("SELECT count(DISTINCT label), min(label) FROM labels").fetchall() == [(1, 0)]
    assert rounds <= 20
