"""Segments: rule segments from segments.yaml, k-means clusters, their descriptions and overlaps.

Everything runs on a DuckDB connection that holds a profiles table (one row per person):

* members: one ``SELECT segment_id, person_id ... WHERE <rule>`` per rule segment (rules compiled by
  ``adplan.audiences.rules``), plus the cluster assignments, in one temporary table;
* descriptions (the ``segments`` table): size, shares, value and recency aggregates, the most common
  lifecycle stage, the channels and interests that characterise the segment, and the features that set it
  apart from everyone (standardized mean difference), all from ``sql/audiences/segment_*.sql``;
* overlaps (the ``segment_overlap`` table): every ordered pair of segments, the diagonal holding sizes.

Lists in the descriptions (top_channels, top_interests, top_features) are JSON strings.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from adplan import sqlfiles
from adplan.audiences.clusters import ClusterResult, fit_clusters
from adplan.audiences.config import SEGMENT_ID, SegmentsConfig, expand_columns, parse_selection
from adplan.audiences.rules import compile_rule, compile_rules

MEMBERS_TABLE = "audience_segment_members"
CLUSTER_PREFIX = "cluster_"
_NUMERIC_TYPES = (
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "FLOAT",
    "DOUBLE",
    "DECIMAL",
    "BOOLEAN",
)
SEGMENT_COLUMNS = (
    "segment_id",
    "segment_name",
    "segment_type",
    "definition",
    "description",
    "size",
    "customers",
    "share_of_customers",
    "share_of_profiles",
    "consented_for_ads",
    "avg_order_value",
    "avg_ltv",
    "avg_ltv_to_date",
    "median_recency_days",
    "top_channels",
    "top_interests",
    "lifecycle",
    "top_features",
)


@dataclass
class SegmentCatalogEntry:
    segment_id: str
    segment_name: str
    segment_type: str  # "rule" or "cluster"
    definition: str
    description: str = ""
    features: tuple[str, ...] = ()  # clusters: the features they were fitted on


@dataclass
class SegmentsResult:
    members_table: str
    segments: pd.DataFrame  # one row per segment, SEGMENT_COLUMNS
    overlap: pd.DataFrame  # segment_a, segment_b, overlap, size_a, size_b, jaccard, share_of_a
    clusters: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)


def build_segments(
    con: duckdb.DuckDBPyConnection,
    profiles_table: str,
    config: SegmentsConfig,
    *,
    segments: str | Sequence[str] | None = "all",
    clusters: bool | None = None,
    members_table: str = MEMBERS_TABLE,
) -> SegmentsResult:
    """Evaluate the segments on ``profiles_table``; members go to temporary table ``members_table``.

    ``segments`` selects rule segments ("all" or ids); clusters are built with "all" unless ``clusters``
    says otherwise.
    """
    columns = column_types(con, profiles_table)
    definitions = config.select(segments)
    predicates = compile_rules(definitions, columns)
    catalog = [SegmentCatalogEntry(d.id, d.name, "rule", d.rule, d.description) for d in definitions]
    _create_members(con, members_table, profiles_table, predicates)
    if clusters is None:
        clusters = config.clusters.enabled and parse_selection(segments) is None
    notes: list[str] = []
    cluster_result = None
    if clusters:
        cluster_result = add_cluster_members(con, profiles_table, members_table, config, columns)
        if cluster_result is None:
            notes.append("clusters skipped: too few people in the cluster population")
        else:
            catalog += [
                SegmentCatalogEntry(
                    f"{CLUSTER_PREFIX}{n + 1}",
                    f"Cluster {n + 1}",
                    "cluster",
                    f"k-means (k={cluster_result.k}) on standardized {', '.join(cluster_result.features)} "
                    f"of {config.clusters.population}",
                    features=cluster_result.features,
                )
                for n in range(cluster_result.k)
            ]
    descriptions = describe_segments(con, profiles_table, members_table, catalog, config, columns)
    overlap = segment_overlap(con, members_table, [entry.segment_id for entry in catalog])
    return SegmentsResult(
        members_table=members_table,
        segments=descriptions,
        overlap=overlap,
        clusters=cluster_result.summary() if cluster_result else None,
        notes=notes,
    )


def column_types(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    rows = con.execute(f"DESCRIBE SELECT * FROM {table}").fetchall()
    return {name: kind for name, kind, *_ in rows}


# --- members ----------------------------------------------------------------------------------------


def _create_members(
    con: duckdb.DuckDBPyConnection, members_table: str, profiles_table: str, predicates: dict[str, str]
) -> None:
    con.execute(f"CREATE OR REPLACE TEMP TABLE {members_table} (segment_id VARCHAR, person_id VARCHAR)")
    for segment_id, predicate in predicates.items():
        if not SEGMENT_ID.fullmatch(segment_id):  # the id is written into the SQL below
            raise ValueError(f"segment id {segment_id!r} must be lowercase letters, digits and underscores")
        con.execute(
            f"INSERT INTO {members_table} SELECT '{segment_id}', person_id FROM {profiles_table} WHERE {predicate}"
        )


def add_cluster_members(
    con: duckdb.DuckDBPyConnection,
    profiles_table: str,
    members_table: str,
    config: SegmentsConfig,
    columns: dict[str, str],
) -> ClusterResult | None:
    settings = config.clusters
    population = compile_rule("clusters.population", settings.population, columns)
    features = _numeric(expand_columns(settings.features, list(columns)), columns, "clusters.features")
    selected = ", ".join(f'CAST("{name}" AS DOUBLE)' for name in features)
    # Ordered: the fit samples rows by position, and a parallel scan returns them in any order, so without
    # it a rerun on the same profiles could pick another sample, and another k.
    rows = con.execute(
        f"SELECT person_id, {selected} FROM {profiles_table} WHERE {population} ORDER BY person_id"
    ).fetchnumpy()
    person_ids = rows.pop("person_id")
    matrix = (
        np.column_stack([_floats(values) for values in rows.values()])
        if len(person_ids)
        else np.zeros((0, 0))
    )
    result = fit_clusters(matrix, features, settings)
    if result is None:
        return None
    assignments = pa.table(
        {
            "segment_id": pa.array(
                np.char.add(CLUSTER_PREFIX, (result.labels + 1).astype(str)), type=pa.string()
            ),
            "person_id": pa.array(person_ids, type=pa.string()),
        }
    )
    con.register("audience_cluster_assignments", assignments)
    try:
        con.execute(
            f"INSERT INTO {members_table} SELECT segment_id, person_id FROM audience_cluster_assignments"
        )
    finally:
        con.unregister("audience_cluster_assignments")
    return result


# --- descriptions -----------------------------------------------------------------------------------


def describe_segments(
    con: duckdb.DuckDBPyConnection,
    profiles_table: str,
    members_table: str,
    catalog: list[SegmentCatalogEntry],
    config: SegmentsConfig,
    columns: dict[str, str],
) -> pd.DataFrame:
    segment_ids = [entry.segment_id for entry in catalog]
    tables = {"members_table": members_table, "profiles_table": profiles_table}
    summary = _query(con, "segment_summary", {**tables, "segment_ids": segment_ids}).set_index("segment_id")
    described = _numeric(
        expand_columns(config.describe_features, list(columns)), columns, "describe_features"
    )
    affinity = [name for name in config.affinity_columns if name in columns]
    means = _query(
        con, "segment_feature_means", {**tables, "features": list(dict.fromkeys(described + affinity))}
    ).set_index("statistic")
    interests = _query(con, "segment_interests", tables) if "interests" in columns else pd.DataFrame()
    rows = []
    for entry in catalog:
        differences = standardized_differences(means, entry.segment_id, described)
        if entry.segment_type == "cluster":
            entry.segment_name = _cluster_name(entry.segment_name, differences, entry.features)
        stats = summary.loc[entry.segment_id]
        rows.append(
            {
                "segment_id": entry.segment_id,
                "segment_name": entry.segment_name,
                "segment_type": entry.segment_type,
                "definition": entry.definition,
                "description": entry.description,
                "size": int(stats["size"]),
                "customers": int(stats["customers"]),
                "share_of_customers": _round(stats["share_of_customers"], 4),
                "share_of_profiles": _round(stats["share_of_profiles"], 4),
                "consented_for_ads": int(stats["consented_for_ads"]),
                "avg_order_value": _round(stats["avg_order_value"], 2),
                "avg_ltv": _round(stats["avg_ltv"], 2),
                "avg_ltv_to_date": _round(stats["avg_ltv_to_date"], 2),
                "median_recency_days": _round(stats["median_recency_days"], 0),
                "top_channels": json.dumps(_top_channels(means, entry.segment_id, config)),
                "top_interests": json.dumps(_top_interests(interests, entry.segment_id, config)),
                "lifecycle": stats["lifecycle"] if isinstance(stats["lifecycle"], str) else None,
                "top_features": json.dumps(differences[: config.top_features]),
            }
        )
    return pd.DataFrame(rows, columns=list(SEGMENT_COLUMNS))


def standardized_differences(
    means: pd.DataFrame, segment_id: str, features: list[str]
) -> list[dict[str, Any]]:
    """Features ranked by |standardized mean difference| of the segment against everyone."""
    if segment_id not in means.index:
        return []
    segment, everyone, spread = (
        means.loc[key] for key in (segment_id, "__everyone_mean__", "__everyone_std__")
    )
    ranked = []
    for feature in features:
        value, mean, std = segment[feature], everyone[feature], spread[feature]
        if any(_missing(number) for number in (value, mean, std)) or std == 0:
            continue
        ranked.append(
            {
                "feature": feature,
                "smd": round(float((value - mean) / std), 3),
                "segment_mean": round(float(value), 4),
                "everyone_mean": round(float(mean), 4),
            }
        )
    return sorted(ranked, key=lambda item: -abs(item["smd"]))


def _top_channels(means: pd.DataFrame, segment_id: str, config: SegmentsConfig) -> list[str]:
    if segment_id not in means.index:
        return []
    shares = {
        channel: means.loc[segment_id].get(f"affinity_{channel}")
        for channel in config.channels
        if f"affinity_{channel}" in means.columns
    }
    ranked = sorted(
        (channel for channel, share in shares.items() if not _missing(share) and share > 0),
        key=lambda channel: -shares[channel],
    )
    return ranked[: config.top_channels]


def _top_interests(interests: pd.DataFrame, segment_id: str, config: SegmentsConfig) -> list[str]:
    """Interests held by at least min_interest_share of the members, most over-represented first."""
    if interests.empty:
        return []
    rows = interests[
        (interests["segment_id"] == segment_id) & (interests["share"] >= config.min_interest_share)
    ]
    rows = rows.sort_values(["lift", "share", "interest"], ascending=[False, False, True])
    return rows["interest"].head(config.top_interests).tolist()


def _cluster_name(base: str, differences: list[dict[str, Any]], features: Sequence[str]) -> str:
    """'Cluster 2: high frequency, low recency days' from the cluster's two most distinctive features."""
    distinctive = [item for item in differences if item["feature"] in features][:2]
    if not distinctive:
        return base
    words = [
        f"{'high' if item['smd'] > 0 else 'low'} {item['feature'].replace('_', ' ')}" for item in distinctive
    ]
    return f"{base}: {', '.join(words)}"


# --- overlap ----------------------------------------------------------------------------------------


def segment_overlap(
    con: duckdb.DuckDBPyConnection, members_table: str, segment_ids: list[str]
) -> pd.DataFrame:
    if not segment_ids:
        columns = ["segment_a", "segment_b", "overlap", "size_a", "size_b", "jaccard", "share_of_a"]
        return pd.DataFrame(columns=columns)
    frame = _query(con, "segment_overlap", {"members_table": members_table, "segment_ids": segment_ids})
    return frame.sort_values(["segment_a", "segment_b"]).reset_index(drop=True)


# --- helpers ----------------------------------------------------------------------------------------


def _query(con: duckdb.DuckDBPyConnection, name: str, params: dict[str, Any]) -> pd.DataFrame:
    return con.execute(sqlfiles.render_duckdb(f"audiences/{name}.sql", "", params)).df()


def _numeric(names: list[str], columns: dict[str, str], where: str) -> list[str]:
    unknown = [name for name in names if name not in columns]
    if unknown:
        raise ValueError(f"segments.yaml {where}: unknown profile column(s) {unknown}")
    return [name for name in names if columns[name].upper().startswith(_NUMERIC_TYPES)]


def _floats(values: Any) -> np.ndarray:
    if isinstance(values, np.ma.MaskedArray):
        return values.astype(float).filled(np.nan)
    return np.asarray(values, dtype=float)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def _round(value: Any, digits: int) -> float | None:
    if _missing(value):
        return None
    return round(float(value), digits)
