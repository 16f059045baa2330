"""The matching output, in the service's shape, and the identity graph built from it.

Output columns (one row per input record), as AWS Entity Resolution writes them:

- ``InputSourceARN``: the input the record came from (locally its name);
- ``record_id``: the record's unique id as text, the same column for every input;
- the unique id under its own field name (``customer_id``, ``order_id``, ...), set on that input's rows;
- the workflow's ``outputSourceConfig`` fields (hashed with SHA-256 when ``hashed`` is set and the
  field is not already a hash);
- ``MatchID``: one id per matched set; an unmatched record has a MatchID of its own;
- ``MatchRule`` (rule matching: the first rule that matched the record, null when unmatched) or
  ``ConfidenceLevel`` (ML matching: the match probability of the record's best link inside its set).

A MatchID is the MD5 of the set's smallest ``InputSourceARN`` + record id, so a set keeps its
MatchID from run to run as long as that record stays in it.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from adplan import sqlfiles
from adplan.matching.config import GLUE_TABLE_ARN
from adplan.matching.inputs import PreparedInputs, literal, quote

OUTPUT_TABLE = "entity_resolution_output"
IDENTITY_GRAPH_TABLE = "identity_graph"
CURATED_PREFIX = "curated_"


def add_match_ids(con: duckdb.DuckDBPyConnection, prepared: PreparedInputs) -> None:
    """Add ``MatchID`` to ``er_assign`` (rid, source_no, record_id, cluster, linked, ...): the MD5 of
    the cluster's smallest InputSourceARN + record id (of the record itself when it is unlinked)."""
    arn = (
        "CASE source_no "
        + " ".join(f"WHEN {p.source_no} THEN {literal(p.source.input_source_arn)}" for p in prepared.sources)
        + " END"
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE er_assign AS
        WITH linked_ids AS (
            SELECT cluster, md5(min({arn} || chr(31) || record_id)) AS MatchID
            FROM er_assign WHERE linked GROUP BY cluster
        )
        SELECT a.* EXCLUDE (linked), coalesce(l.MatchID, md5({arn} || chr(31) || a.record_id)) AS MatchID
        FROM er_assign a LEFT JOIN linked_ids l USING (cluster)
        """
    )


def output_sql(prepared: PreparedInputs, result_column: str) -> str:
    """SELECT of the output rows from ``er_assign``; ``result_column`` is MatchRule or ConfidenceLevel."""
    workflow = prepared.workflow
    hashed_output = {field.name: field.hashed for field in workflow.output_fields}
    id_columns = list(dict.fromkeys(p.mapping.unique_id.field_name for p in prepared.sources))
    field_columns = [name for name in hashed_output if name not in id_columns]
    parts = []
    for p in prepared.sources:
        unique_id = p.mapping.unique_id.field_name
        selects = [f"{literal(p.source.input_source_arn)} AS InputSourceARN", "s.record_id"]
        for name in id_columns + field_columns:
            if name == "record_id":
                continue  # the uniform column already holds it
            if name == unique_id:
                selects.append(f"s.record_id AS {quote(name)}")
                continue
            if name not in p.carried_columns:
                selects.append(f"NULL::VARCHAR AS {quote(name)}")
                continue
            value = f"CAST(s.{p.carried_columns[name]} AS VARCHAR)"
            mapped = p.mapping.field(name)
            if hashed_output.get(name) and mapped is not None and not mapped.hashed:
                value = f"sha256({value})"
            selects.append(f"{value} AS {quote(name)}")
        selects += ["a.MatchID", f"a.{result_column}"]
        parts.append(f"SELECT {', '.join(selects)} FROM {p.table} s JOIN er_assign a USING (rid)")
    return " UNION ALL ".join(parts)


def write_output_file(con: duckdb.DuckDBPyConnection, query: str, out: Path) -> Path:
    """Write the output as CSV (``.csv``, ``.csv.gz``) or Parquet (any other suffix)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    name = out.name.lower()
    if name.endswith((".csv", ".csv.gz")):
        options = "(FORMAT csv, HEADER true)"
    else:
        options = "(FORMAT parquet, COMPRESSION zstd)"
    con.execute(
        f"COPY ({query} ORDER BY MatchID, InputSourceARN, record_id) TO {literal(str(out))} {options}"
    )
    return out


def source_name(input_source_arn: str) -> str:
    """The identity graph's ``source`` for an input: its table name without the ``curated_`` prefix
    (the world's source names: crm_customers, orders, publisher_audience, ...)."""
    found = GLUE_TABLE_ARN.match(input_source_arn)
    table = found["table"] if found else input_source_arn
    return table.removeprefix(CURATED_PREFIX)


def build_identity_graph(
    dt: str,
    lake=None,
    *,
    zone: str = "curated",
    output_table: str = OUTPUT_TABLE,
    graph_table: str = IDENTITY_GRAPH_TABLE,
) -> dict[str, object]:
    """Build the ``identity_graph`` partition for ``dt`` from that date's matching output."""
    from adplan.lake import Lake

    lake = lake or Lake.from_settings()
    source_file = lake.partition_file(zone, output_table, dt)
    if not source_file.is_file():
        raise FileNotFoundError(f"no {output_table} partition for dt={dt} at {source_file}")
    con = duckdb.connect()
    try:
        relation = f"read_parquet({literal(str(source_file))}, hive_partitioning = false)"
        columns = {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()}
        # The same SQL file builds the graph from the service's output on the aws target (Athena).
        con.execute(f"CREATE VIEW {output_table} AS SELECT *, {literal(dt)} AS dt FROM {relation}")
        technique = "rules" if "MatchRule" in columns else "ml"
        query = sqlfiles.render_duckdb("identity/identity_graph.sql", dt, {"technique": technique})
        path = lake.write_partition(zone, graph_table, dt, query, con)
        rows, people = con.execute(
            f"SELECT count(*), count(DISTINCT person_id) FROM read_parquet({literal(str(path))}, hive_partitioning = false)"
        ).fetchall()[0]
    finally:
        con.close()
    return {"table": graph_table, "dt": dt, "path": str(path), "records": int(rows), "people": int(people)}
