"""Activation exports: per segment and destination, CSV files of hashed identifiers plus a manifest.

Who is exported: members of the segment whose advertiser CRM records grant ads consent, with at least one
of the destination's identifiers. The identifiers are SHA-256 hex computed in SQL
(``sql/audiences/activation_identifiers.sql``); before a file is written every value is checked again to
be 64 lowercase hex characters, so raw personal data can't reach a file even if the SQL changes.

Layout, on the local lake or on S3 (``s3://<bucket>/analytics/...`` on the aws target)::

    <lake>/analytics/activation/<destination>/<segment_id>/dt=<ds>/part-00000.csv ... manifest.json

The files are written to a local staging folder and published with the lake's ``publish_directory``:
locally the folder replaces the previous one whole; on S3 the parts are uploaded, then the manifest (which
lists them), then the previous version's other objects are deleted. A rerun replaces, never adds.

Files are cut to the destination's limits (activation.yaml) and rows are sorted by their hashes, which
orders them arbitrarily but reproducibly. The manifest reconciles the export with the segment:
segment_size = exported + without_ads_consent + without_identifiers.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from adplan import sqlfiles
from adplan.audiences.config import HASH_METHOD, IDENTIFIERS, Destination
from adplan.lake import Lake, S3Lake

IDENTIFIERS_TABLE = "audience_activation_identifiers"
MANIFEST = "manifest.json"
HEX_SHA256 = r"^[0-9a-f]{64}$"


class UnsafeExportError(RuntimeError):
    """A value about to be exported is not a SHA-256 hex digest."""


@dataclass(frozen=True)
class ExportSummary:
    """One export, without personal data (a row of the activation_exports table)."""

    destination: str
    platform: str
    segment_id: str
    path: str
    files: int
    exported: int
    segment_size: int
    without_ads_consent: int
    without_identifiers: int
    below_platform_minimum: bool


def build_identifiers_table(con: duckdb.DuckDBPyConnection, ds: str, table: str = IDENTIFIERS_TABLE) -> str:
    """Materialize the hashed identifiers and consent of every CRM person as a temporary table."""
    query = sqlfiles.render_duckdb("audiences/activation_identifiers.sql", ds, {})
    con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {query}")
    return table


def export_relative(destination_id: str, segment_id: str, ds: str) -> str:
    """The export's folder inside the lake."""
    return f"analytics/activation/{destination_id}/{segment_id}/dt={ds}"


def export_directory(lake: Lake | S3Lake, destination_id: str, segment_id: str, ds: str) -> str:
    """The export's location: a local path or an ``s3://`` URL."""
    return lake.location(export_relative(destination_id, segment_id, ds))


def export_segment(
    con: duckdb.DuckDBPyConnection,
    lake: Lake | S3Lake,
    ds: str,
    segment_id: str,
    destination: Destination,
    *,
    members_table: str,
    identifiers_table: str = IDENTIFIERS_TABLE,
) -> ExportSummary:
    """Write one segment's files for one destination; returns the summary (the manifest holds more)."""
    counts = _reconciliation(con, segment_id, destination, members_table, identifiers_table)
    rows = _export_rows(con, segment_id, destination, members_table, identifiers_table)
    check_hashed(rows)
    relative = export_relative(destination.id, segment_id, ds)
    with lake.publish_directory(relative, last=(MANIFEST,)) as staging:
        files = _write_parts(rows, destination, staging)
        manifest = _manifest(ds, segment_id, destination, files, counts)
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return ExportSummary(
        destination=destination.id,
        platform=destination.platform,
        segment_id=segment_id,
        path=relative,
        files=len(files),
        exported=counts["exported"],
        segment_size=counts["segment_size"],
        without_ads_consent=counts["without_ads_consent"],
        without_identifiers=counts["without_identifiers"],
        below_platform_minimum=manifest["below_platform_minimum"],
    )


def summaries_table(summaries: list[ExportSummary]) -> pa.Table:
    fields = list(ExportSummary.__dataclass_fields__)
    return pa.table({name: [asdict(summary)[name] for summary in summaries] for name in fields})


def check_hashed(rows: pa.Table) -> None:
    """Every non-empty value must be a lowercase SHA-256 hex digest (vectorized per column)."""
    for name in rows.column_names:
        column = rows[name]
        hashed = pc.match_substring_regex(column, HEX_SHA256)
        if not pc.all(pc.or_kleene(hashed, pc.is_null(column))).as_py():
            raise UnsafeExportError(
                f"column {name!r} holds values that are not SHA-256 hex; nothing was exported"
            )


# --- internals --------------------------------------------------------------------------------------


def _any_identifier(destination: Destination, alias: str = "i") -> str:
    return " OR ".join(f"{alias}.{column.identifier} IS NOT NULL" for column in destination.columns)


def _reconciliation(
    con: duckdb.DuckDBPyConnection,
    segment_id: str,
    destination: Destination,
    members_table: str,
    identifiers_table: str,
) -> dict[str, int]:
    has_key = _any_identifier(destination)
    size, no_consent, no_key, exported = con.execute(
        f"""
        SELECT
            count(*),
            count_if(NOT coalesce(i.consent_ads, false)),
            count_if(coalesce(i.consent_ads, false) AND NOT coalesce({has_key}, false)),
            count_if(coalesce(i.consent_ads, false) AND coalesce({has_key}, false))
        FROM {members_table} AS m
        LEFT JOIN {identifiers_table} AS i ON i.person_id = m.person_id
        WHERE m.segment_id = ?
        """,
        [segment_id],
    ).fetchall()[0]
    return {
        "segment_size": int(size),
        "without_ads_consent": int(no_consent),
        "without_identifiers": int(no_key),
        "exported": int(exported),
    }


def _export_rows(
    con: duckdb.DuckDBPyConnection,
    segment_id: str,
    destination: Destination,
    members_table: str,
    identifiers_table: str,
) -> pa.Table:
    selected = ", ".join(f'i.{column.identifier} AS "{column.header}"' for column in destination.columns)
    order = ", ".join(f"i.{column.identifier} NULLS LAST" for column in destination.columns)
    segment_literal = segment_id.replace("'", "''")
    return con.sql(
        f"""
        SELECT {selected}
        FROM {members_table} AS m
        JOIN {identifiers_table} AS i ON i.person_id = m.person_id
        WHERE m.segment_id = '{segment_literal}' AND i.consent_ads AND ({_any_identifier(destination)})
        ORDER BY {order}
        """
    ).to_arrow_table()


def _write_parts(rows: pa.Table, destination: Destination, directory: Path) -> list[dict[str, object]]:
    per_file = destination.rows_per_file()
    header = (",".join(column.header for column in destination.columns) + "\n").encode("utf-8")
    files = []
    for number, start in enumerate(range(0, rows.num_rows, per_file)):  # one pass per file, not per row
        part = rows.slice(start, per_file)
        path = directory / f"part-{number:05d}.csv"
        with open(path, "wb") as handle:
            handle.write(header)  # written by hand: pyarrow would quote the header names
            pacsv.write_csv(part, handle, pacsv.WriteOptions(include_header=False, quoting_style="none"))
        content = path.read_bytes()
        if destination.max_file_bytes and len(content) > destination.max_file_bytes:
            raise AssertionError(f"{path.name} is {len(content)} bytes, over {destination.id}'s limit")
        files.append(
            {
                "name": path.name,
                "rows": part.num_rows,
                "bytes": len(content),
                "sha256": hashlib.sha256(content).hexdigest(),
                "identifiers": {name: part.num_rows - part[name].null_count for name in part.column_names},
            }
        )
    return files


def _manifest(
    ds: str,
    segment_id: str,
    destination: Destination,
    files: list[dict[str, object]],
    counts: dict[str, int],
) -> dict[str, object]:
    headers = [column.header for column in destination.columns]
    below_minimum = destination.min_records is not None and counts["exported"] < destination.min_records
    return {
        "destination": destination.id,
        "platform": destination.platform,
        "segment_id": segment_id,
        "dt": ds,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "format": "CSV, UTF-8, comma-separated, header row, one person per row, empty = no value",
        "hash_method": HASH_METHOD,
        "match_keys": [
            {
                "header": column.header,
                "identifier": column.identifier,
                "normalization": IDENTIFIERS[column.identifier],
            }
            for column in destination.columns
        ],
        "consent": "ads consent granted on a CRM record and refused on none",
        "limits": {**destination.limits(), "rows_per_file": destination.rows_per_file()},
        "files": files,
        "total_rows": sum(int(file["rows"]) for file in files),
        "identifier_counts": {
            header: sum(int(file["identifiers"][header]) for file in files) for header in headers
        },
        "reconciliation": counts,
        "below_platform_minimum": below_minimum,
    }
