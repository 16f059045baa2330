"""Input sources of a matching run, prepared in DuckDB.

Every input becomes a view ``er_in_<n>`` (a lake partition, a CSV or a Parquet file), then one table
``er_src_<n>`` with a row per record:

- ``rid``: a BIGINT id unique across inputs (input number in the high bits, row number below), which
  all matching SQL joins and groups on instead of text ids;
- ``record_id``: the record's unique id as text;
- ``raw__<field>``: the workflow's output fields, as delivered (a hashed field that is also a match
  attribute is not stored twice: its normalized value, lower-case hex, is written instead);
- ``attr_<k>``: one normalized value per matchable attribute (a field, or a group of fields joined);
- any extra columns the caller computes from the input's columns (ML matching's features).

``er_records`` (rid, source_no, record_id) is the view over all of them. Records without a unique id,
repeats of an id and (rule matching) ids over 38 characters are left out and counted as errors, as the
service writes them to its error folder.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from adplan.matching.config import Attribute, InputSource, MatchingWorkflow, SchemaMapping
from adplan.matching.errors import MatchingInputError
from adplan.matching.normalize import NORMALIZED_KINDS, hashed_sql, normalize_field_sql, register_normalizers

CSV_SUFFIXES = (".csv", ".csv.gz", ".tsv", ".tsv.gz", ".txt")
PARQUET_SUFFIXES = (".parquet", ".pq")
SOURCE_BITS = 40  # rid = input number << 40 | row number: 10^12 rows per input


@dataclass
class PreparedSource:
    source_no: int
    source: InputSource
    mapping: SchemaMapping
    view: str
    table: str
    attributes: list[Attribute]
    # attribute name -> value column in the prepared table
    attribute_columns: dict[str, str] = field(default_factory=dict)
    # output field -> its column in the prepared table
    carried_columns: dict[str, str] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)


@dataclass
class PreparedInputs:
    workflow: MatchingWorkflow
    sources: list[PreparedSource]

    @property
    def error_counts(self) -> dict[str, dict[str, int]]:
        return {prepared.source.name: prepared.errors for prepared in self.sources}


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def raw_column(field_name: str) -> str:
    return quote(f"raw__{field_name}")


def file_relation(path: Path) -> str:
    """DuckDB SQL reading a CSV or Parquet file (every column as text for CSV)."""
    name = path.name.lower()
    if not path.exists():
        raise MatchingInputError(str(path), "file not found")
    location = literal(str(path / "**" / "*.parquet") if path.is_dir() else str(path))
    if path.is_dir() or name.endswith(PARQUET_SUFFIXES):
        return f"read_parquet({location}, union_by_name = true)"
    if name.endswith(CSV_SUFFIXES):
        return f"read_csv({location}, header = true, all_varchar = true)"
    raise MatchingInputError(str(path), "is neither CSV (.csv, .csv.gz) nor Parquet (.parquet)")


def lake_relation(lake_root: Path, table: str, dt: str, zone: str = "curated") -> str:
    """DuckDB SQL reading one lake partition."""
    from adplan.lake import Lake

    path = Lake(lake_root).partition_file(zone, table, dt)
    if not path.is_file():
        raise MatchingInputError(table, f"no partition dt={dt} in the lake ({path})")
    return f"read_parquet({literal(str(path))}, hive_partitioning = false)"


def prepare_inputs(
    con: duckdb.DuckDBPyConnection,
    workflow: MatchingWorkflow,
    relations: Mapping[str, str],
    *,
    matched_keys: set[str] | None = None,
    max_id_length: int | None = None,
    extra_columns: Callable[[PreparedSource], dict[str, str]] | None = None,
) -> PreparedInputs:
    """Create the views and tables described in the module docstring.

    ``relations`` maps each input's name to SQL that reads it. ``matched_keys`` limits the attributes
    prepared to the match keys the rules use (None: all of them; an empty set: none).
    ``extra_columns(prepared)`` returns more columns for an input's table, as name -> SQL over the
    input's own columns.
    """
    missing = [source.name for source in workflow.inputs if source.name not in relations]
    if missing:
        raise MatchingInputError(missing[0], "the workflow lists this input but no data was given for it")
    normalizing = any(source.apply_normalization for source in workflow.inputs)
    registered = register_normalizers(con) if normalizing else {}
    sources = []
    for source_no, source in enumerate(workflow.inputs):
        mapping = workflow.mapping_for(source)
        view = f"er_in_{source_no}"
        con.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS SELECT * FROM {relations[source.name]}")
        _check_columns(con, view, source, mapping)
        attributes = [
            attribute
            for attribute in mapping.attributes()
            if matched_keys is None or attribute.match_key in matched_keys
        ]
        prepared = PreparedSource(source_no, source, mapping, view, f"er_src_{source_no}", attributes)
        extra = extra_columns(prepared) if extra_columns else {}
        _build_source_table(con, prepared, workflow, registered, max_id_length, extra)
        sources.append(prepared)
    records = " UNION ALL ".join(
        f"SELECT rid, {p.source_no} AS source_no, record_id FROM {p.table}" for p in sources
    )
    con.execute(f"CREATE OR REPLACE TEMP VIEW er_records AS {records}")
    return PreparedInputs(workflow, sources)


def _check_columns(
    con: duckdb.DuckDBPyConnection, view: str, source: InputSource, mapping: SchemaMapping
) -> None:
    try:
        columns = {row[0].lower() for row in con.execute(f"DESCRIBE {view}").fetchall()}
    except duckdb.Error as error:
        raise MatchingInputError(source.name, f"cannot be read: {error}") from None
    for mapped in mapping.fields:
        if mapped.field_name.lower() not in columns:
            raise MatchingInputError(
                source.name,
                f"has no column {mapped.field_name!r}, mapped by schema {mapping.schema_name!r} "
                f"({mapping.origin}); columns are {', '.join(sorted(columns))}",
            )


def _unique_id_sql(mapping: SchemaMapping) -> str:
    return f"nullif(trim(CAST({quote(mapping.unique_id.field_name)} AS VARCHAR)), '')"


def _attribute_value_sql(attribute: Attribute, normalize: bool, registered: dict[str, str]) -> str:
    """SQL of an attribute's value: each part normalized by its own type, parts joined by a space."""
    parts = []
    for part in attribute.fields:
        raw = f"CAST({quote(part.field_name)} AS VARCHAR)"
        text = f"nullif(trim({raw}), '')"
        if attribute.kind == "DATE":
            # A date is one value whatever its textual form: compare the ISO date when it parses.
            text = f"coalesce(CAST(try_cast({text} AS DATE) AS VARCHAR), {text})"
        elif part.hashed:
            text = hashed_sql(raw)
        elif normalize and attribute.kind in NORMALIZED_KINDS:
            text = normalize_field_sql(part.type, attribute.kind, text, registered)
        parts.append(text)
    return parts[0] if len(parts) == 1 else f"nullif(concat_ws(' ', {', '.join(parts)}), '')"


def _count_errors(
    con: duckdb.DuckDBPyConnection, prepared: PreparedSource, max_id_length: int | None
) -> dict[str, int]:
    record_id = _unique_id_sql(prepared.mapping)
    too_long = f"count(*) FILTER (WHERE length({record_id}) > {max_id_length})" if max_id_length else "0"
    total, with_id, distinct_ids, long_ids = con.execute(
        f"SELECT count(*), count({record_id}), count(DISTINCT {record_id}), {too_long} FROM {prepared.view}"
    ).fetchall()[0]
    return {
        "missing_id": int(total - with_id),
        "repeated_id": int(with_id - distinct_ids),
        "id_too_long": int(long_ids),
    }


def _build_source_table(
    con: duckdb.DuckDBPyConnection,
    prepared: PreparedSource,
    workflow: MatchingWorkflow,
    registered: dict[str, str],
    max_id_length: int | None,
    extra: dict[str, str],
) -> None:
    prepared.errors = _count_errors(con, prepared, max_id_length)
    selects = [
        f"(({prepared.source_no}::BIGINT << {SOURCE_BITS}) + row_number() OVER ())::BIGINT AS rid",
        "er_record_id AS record_id",
    ]
    for k, attribute in enumerate(prepared.attributes):
        column = f"attr_{k}"
        prepared.attribute_columns[attribute.name] = column
        value = _attribute_value_sql(attribute, prepared.source.apply_normalization, registered)
        selects.append(f"{value} AS {column}")
    selects += _carried_selects(prepared, workflow)
    selects += [f"{sql} AS {quote(name)}" for name, sql in extra.items()]
    conditions = ["er_record_id IS NOT NULL"]
    if max_id_length:
        conditions.append(f"length(er_record_id) <= {max_id_length}")
    # A repeated id keeps a single row; the window costs a pass over the input, so only when needed.
    keep_one = (
        "QUALIFY row_number() OVER (PARTITION BY er_record_id) = 1" if prepared.errors["repeated_id"] else ""
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {prepared.table} AS
        SELECT {", ".join(selects)}
        FROM (
            SELECT *, {_unique_id_sql(prepared.mapping)} AS er_record_id FROM {prepared.view}
            WHERE {" AND ".join(conditions)} {keep_one}
        )
        """
    )


def _carried_selects(prepared: PreparedSource, workflow: MatchingWorkflow) -> list[str]:
    """Columns for the output fields; a hashed attribute already holds its field's value."""
    selects = []
    by_field = {a.fields[0].field_name: a for a in prepared.attributes if len(a.fields) == 1}
    for out in workflow.output_fields:
        mapped = prepared.mapping.field(out.name)
        if mapped is None or mapped.type == "UNIQUE_ID" or out.name in prepared.carried_columns:
            continue
        attribute = by_field.get(out.name)
        if attribute is not None and mapped.hashed:
            prepared.carried_columns[out.name] = prepared.attribute_columns[attribute.name]
        else:
            prepared.carried_columns[out.name] = raw_column(out.name)
            selects.append(f"{quote(out.name)} AS {raw_column(out.name)}")
    return selects
