"""The quality report of a matching run.

Without ground truth: cluster size distribution, and per input how many records were matched (are in
a set of two or more). With ground truth (source, record_id, person_id), on the records found in
both:

- pairwise precision / recall / F1: over pairs of records, "same MatchID" against "same person";
- cluster precision / recall / F1: a predicted set counts as correct only when it is exactly one
  person's records (precision = exact sets / predicted sets, recall = exact sets / true people).

Pair counts come from the contingency table of (MatchID, person) without listing pairs:
true positives = sum over cells of n(n-1)/2.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import duckdb

SIZE_BUCKETS = ((1, 1), (2, 2), (3, 3), (4, 4), (5, 9), (10, 99), (100, 999), (1000, None))


@dataclass
class Scores:
    precision: float
    recall: float
    f1: float

    @classmethod
    def from_counts(cls, true_positive: float, predicted: float, actual: float) -> Scores:
        precision = true_positive / predicted if predicted else 1.0
        recall = true_positive / actual if actual else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return cls(round(precision, 6), round(recall, 6), round(f1, 6))


@dataclass
class QualityReport:
    records: int
    clusters: int
    largest_cluster: int
    cluster_sizes: dict[str, int]
    per_source: dict[str, dict[str, Any]]
    evaluated_records: int | None = None
    pairwise: Scores | None = None
    cluster: Scores | None = None
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def quality_report(
    con: duckdb.DuckDBPyConnection,
    predicted_sql: str,
    truth_sql: str | None = None,
) -> QualityReport:
    """Report on ``predicted_sql`` (columns source, record_id, cluster) and, given it, ``truth_sql``
    (columns source, record_id, person_id)."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE q_pred AS {predicted_sql}")
    report = _distribution(con)
    if truth_sql is not None:
        _score_against_truth(con, truth_sql, report)
    con.execute("DROP TABLE IF EXISTS q_pred")
    return report


def _distribution(con: duckdb.DuckDBPyConnection) -> QualityReport:
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE q_sizes AS
        SELECT cluster, count(*) AS size FROM q_pred GROUP BY cluster
        """
    )
    records, clusters, largest = con.execute(
        "SELECT coalesce(sum(size), 0), count(*), coalesce(max(size), 0) FROM q_sizes"
    ).fetchall()[0]
    buckets = {}
    for low, high in SIZE_BUCKETS:
        label = str(low) if high == low else (f"{low}+" if high is None else f"{low}-{high}")
        condition = f"size >= {low}" + ("" if high is None else f" AND size <= {high}")
        buckets[label] = int(con.execute(f"SELECT count(*) FROM q_sizes WHERE {condition}").fetchall()[0][0])
    per_source = {}
    rows = con.execute(
        """
        SELECT p.source, count(*) AS records, count(*) FILTER (WHERE s.size > 1) AS matched
        FROM q_pred p JOIN q_sizes s USING (cluster) GROUP BY p.source ORDER BY p.source
        """
    ).fetchall()
    for source, total, matched in rows:
        per_source[source] = {
            "records": int(total),
            "matched": int(matched),
            "matched_share": round(matched / total, 6) if total else 0.0,
        }
    con.execute("DROP TABLE q_sizes")
    return QualityReport(int(records), int(clusters), int(largest), buckets, per_source)


def _score_against_truth(con: duckdb.DuckDBPyConnection, truth_sql: str, report: QualityReport) -> None:
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE q_joined AS
        SELECT p.cluster, t.person_id
        FROM q_pred p JOIN ({truth_sql}) t
          ON CAST(t.source AS VARCHAR) = p.source AND CAST(t.record_id AS VARCHAR) = p.record_id
        """
    )
    evaluated = con.execute("SELECT count(*) FROM q_joined").fetchall()[0][0]
    report.evaluated_records = int(evaluated)
    if evaluated == 0:
        report.notes.append("no record has ground truth (do source names and record ids match?); not scored")
        con.execute("DROP TABLE q_joined")
        return
    if evaluated < report.records:
        report.notes.append(
            f"{report.records - evaluated} of {report.records} records have no ground truth and are not scored"
        )
    report.pairwise = pairwise_scores(con, "q_joined")
    report.cluster = cluster_scores(con, "q_joined")
    con.execute("DROP TABLE q_joined")


def pairwise_scores(con: duckdb.DuckDBPyConnection, table: str) -> Scores:
    """Pairwise scores of ``table`` (cluster, person_id): one row per record."""
    true_positive, predicted, actual = con.execute(
        f"""
        WITH cells AS (SELECT cluster, person_id, count(*) AS n FROM {table} GROUP BY ALL),
             predicted AS (SELECT count(*) AS n FROM {table} GROUP BY cluster),
             actual AS (SELECT count(*) AS n FROM {table} GROUP BY person_id)
        SELECT (SELECT coalesce(sum(n * (n - 1) / 2), 0) FROM cells),
               (SELECT coalesce(sum(n * (n - 1) / 2), 0) FROM predicted),
               (SELECT coalesce(sum(n * (n - 1) / 2), 0) FROM actual)
        """
    ).fetchall()[0]
    return Scores.from_counts(float(true_positive), float(predicted), float(actual))


def cluster_scores(con: duckdb.DuckDBPyConnection, table: str) -> Scores:
    """Exact-cluster scores of ``table`` (cluster, person_id): a cluster is right when it holds
    exactly the records of one person."""
    exact, predicted, actual = con.execute(
        f"""
        WITH cluster_stats AS (
                SELECT cluster, count(*) AS n, count(DISTINCT person_id) AS people, min(person_id) AS person
                FROM {table} GROUP BY cluster),
             person_stats AS (SELECT person_id AS person, count(*) AS n FROM {table} GROUP BY person_id)
        SELECT (SELECT count(*) FROM cluster_stats c JOIN person_stats p USING (person)
                WHERE c.people = 1 AND c.n = p.n),
               (SELECT count(*) FROM cluster_stats),
               (SELECT count(*) FROM person_stats)
        """
    ).fetchall()[0]
    return Scores.from_counts(float(exact), float(predicted), float(actual))
