"""Audience jobs: the entry points a task runs (``fn(ds, **params) -> dict``, see ``adplan.jobs``).

Each job reads the lake through ``Warehouse.at(lake).connect()``, writes its tables as partitions of
the analytics zone with the lake's ``write_partition``, refreshes the catalog (local lake), and returns a
small summary (counts, model figures; never personal data), which becomes the task's XCom. ``lake`` is
``s3://bucket`` on the aws target (the Glue job passes it), a folder, or by default the target's lake: the
same code reads and writes both.

Tables written (partition dt = ds): profiles; segments, segment_members, segment_overlap;
lookalike_scores; segment_enrichment; activation_exports (plus the export files and lookalike model JSON).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from adplan import sqlfiles
from adplan.audiences import activation, enrichment, lookalike, profiles
from adplan.audiences import segments as segment_engine  # the jobs' `segments` argument names a selection
from adplan.audiences.config import (
    load_activation_config,
    load_segments_config,
    parse_selection,
)
from adplan.lake import Lake
from adplan.warehouse import Warehouse

ZONE = "analytics"
PROFILES_DS_TABLE = "audience_profiles_ds"
MEMBERS_DS_TABLE = "audience_segment_members_ds"


class MissingInputError(LookupError):
    """An input table has no partition for the run's date (run the upstream job first)."""


def build_profiles(
    ds: str,
    *,
    include_publisher_attributes: bool = True,
    config_path: str | None = None,
    threads: int | None = None,
    lake: str | None = None,
) -> dict[str, Any]:
    """Unified profiles of ``ds`` -> table ``profiles``."""
    config = load_segments_config(config_path)
    warehouse = Warehouse.at(lake)
    con = warehouse.connect(threads)
    try:
        _require_tables(con, ["identity_graph", "curated_orders", "curated_crm_customers"], ds)
        summary = profiles.build_profiles_table(
            con, ds, config, include_publisher_attributes=include_publisher_attributes
        )
        warehouse.lake.write_partition(ZONE, "profiles", ds, f"SELECT * FROM {profiles.PROFILES_TABLE}", con)
    finally:
        con.close()
    warehouse.refresh_catalog()
    return {"table": "profiles", "dt": ds, **summary.as_dict()}


def build_segments(
    ds: str,
    segments: str | Sequence[str] = "all",
    *,
    clusters: bool | None = None,
    config_path: str | None = None,
    threads: int | None = None,
    lake: str | None = None,
) -> dict[str, Any]:
    """Segments of ``ds`` -> tables ``segments``, ``segment_members``, ``segment_overlap``.

    ``segments`` selects rule segments by id ("all" or a list); the partition then holds only those.
    Clusters are built with "all" unless ``clusters`` is given.
    """
    config = load_segments_config(config_path)
    warehouse = Warehouse.at(lake)
    store = warehouse.lake
    con = warehouse.connect(threads)
    try:
        _materialize_partition(con, "profiles", ds, PROFILES_DS_TABLE)
        result = segment_engine.build_segments(
            con, PROFILES_DS_TABLE, config, segments=segments, clusters=clusters
        )
        store.write_partition(ZONE, "segment_members", ds, f"SELECT * FROM {result.members_table}", con)
        store.write_partition(ZONE, "segments", ds, result.segments)
        store.write_partition(ZONE, "segment_overlap", ds, result.overlap)
        members = con.execute(f"SELECT count(*) FROM {result.members_table}").fetchall()[0][0]
    finally:
        con.close()
    warehouse.refresh_catalog()
    return {
        "tables": ["segments", "segment_members", "segment_overlap"],
        "dt": ds,
        "segments": len(result.segments),
        "memberships": int(members),
        "sizes": {row.segment_id: int(row.size) for row in result.segments.itertuples()},
        "clusters": result.clusters,
        "notes": result.notes,
    }


def score_lookalikes(
    ds: str,
    seed_segment: str | Sequence[str] | None = None,
    *,
    exclude_customers: bool | None = None,
    holdout_share: float | None = None,
    config_path: str | None = None,
    threads: int | None = None,
    lake: str | None = None,
) -> dict[str, Any]:
    """Lookalike scores of publisher audience members for each seed segment -> table ``lookalike_scores``.

    The model of each seed is also saved as JSON under analytics/lookalike_models/<seed>/dt=<ds>/model.json,
    for scoring elsewhere (e.g. the publisher's side of the clean room) with ``LookalikeModel.from_dict``.
    """
    config = load_segments_config(config_path)
    settings = config.lookalike
    seeds = parse_selection(seed_segment or settings.seed_segment) or []
    if not seeds:
        raise ValueError("score_lookalikes needs seed_segment (or lookalike.seed_segment in segments.yaml)")
    exclude_customers = settings.exclude_customers if exclude_customers is None else exclude_customers
    holdout_share = settings.holdout_share if holdout_share is None else holdout_share
    warehouse = Warehouse.at(lake)
    store = warehouse.lake
    con = warehouse.connect(threads)
    try:
        _materialize_partition(con, "profiles", ds, PROFILES_DS_TABLE)
        _materialize_partition(con, "segment_members", ds, MEMBERS_DS_TABLE)
        features = con.execute(
            sqlfiles.render_duckdb(
                "audiences/publisher_features.sql", ds, {"profiles_table": PROFILES_DS_TABLE}
            )
        ).df()
        scored, models = [], {}
        for seed in seeds:  # one model per seed segment
            seed_people = _segment_people(con, seed)
            model, ranked = _score_one_seed(
                features, seed_people, seed, exclude_customers, holdout_share, settings
            )
            scored.append(ranked)
            models[seed] = _model_summary(model, ranked)
            _save_model(store, seed, ds, model)
        store.write_partition(ZONE, "lookalike_scores", ds, pd.concat(scored, ignore_index=True))
    finally:
        con.close()
    warehouse.refresh_catalog()
    return {"table": "lookalike_scores", "dt": ds, "seeds": models}


def enrich_segments(
    ds: str,
    segments: str | Sequence[str] = "all",
    *,
    run_query: enrichment.QueryRunner | None = None,
    member: str = "advertiser",
    min_customers: int = enrichment.DEFAULT_MIN_CUSTOMERS,
    threads: int | None = None,
    lake: str | None = None,
    result_location: str | None = None,
) -> dict[str, Any]:
    """Publisher interest enrichment of segments through the clean room -> table ``segment_enrichment``.

    ``result_location`` is where a protected query of the enrichment list query wrote its PARQUET result
    (the clean-room DAG's ``enrichment`` analysis, by AWS Clean Rooms or the local engine): the summary is
    made from those rows. Without it, ``run_query`` runs the list query, or else the local clean-room engine
    (``adplan.cleanroom``) runs it on the warehouse, which must hold the configured tables' data
    (cr_advertiser_customers, cr_publisher_audience); that engine keeps its privacy-budget state and results
    in the local lake's cleanrooms zone, so on an S3 lake one of the other two is required.
    """
    warehouse = Warehouse.at(lake)
    store = warehouse.lake
    wanted = parse_selection(segments)
    if result_location not in (None, "", "None"):
        rows = _list_result(warehouse, result_location, threads)
        if wanted:
            rows = rows[rows["segment"].isin(wanted)]
        summary = enrichment.enrich_segments(lambda sql: rows, wanted, min_customers=min_customers)
    elif run_query is not None:
        summary = enrichment.enrich_segments(run_query, wanted, min_customers=min_customers)
    elif not isinstance(store, Lake):
        raise ValueError(
            f"enrich_segments on {store.root} needs the result_location of the enrichment protected query "
            "(or a run_query over AWS Clean Rooms): the local clean-room engine keeps its state in a local lake"
        )
    else:
        from adplan.cleanroom import CleanRoom, load_collaboration

        con = warehouse.connect(threads)
        output_dir = store.zone_dir("cleanrooms") / "protected_queries"
        try:
            with CleanRoom(
                load_collaboration(), con, state_dir=store.zone_dir("cleanrooms") / "state"
            ) as room:
                runner = enrichment.cleanroom_query_runner(room, output_dir, member)
                summary = enrichment.enrich_segments(runner, wanted, min_customers=min_customers)
        finally:
            con.close()
    store.write_partition(ZONE, "segment_enrichment", ds, summary)
    warehouse.refresh_catalog()
    return {
        "table": "segment_enrichment",
        "dt": ds,
        "rows": len(summary),
        "segments": sorted(summary["segment_id"].unique().tolist()),
    }


def _list_result(warehouse: Warehouse, location: str, threads: int | None) -> pd.DataFrame:
    """The rows of a protected query's PARQUET result: one file, or every file below a folder (the
    service writes its result below the location it reports)."""
    pattern = location if location.endswith(".parquet") else location.rstrip("/") + "/**/*.parquet"
    con = warehouse.connect(threads)
    try:
        return con.execute("SELECT * FROM read_parquet(?)", [pattern]).df()
    except duckdb.IOException as error:
        raise FileNotFoundError(
            f"no PARQUET result of the enrichment query at {location}: {error}"
        ) from error
    finally:
        con.close()


def export_activation(
    ds: str,
    segments: str | Sequence[str] = "all",
    destinations: str | Sequence[str] = "all",
    *,
    config_path: str | None = None,
    threads: int | None = None,
    lake: str | None = None,
) -> dict[str, Any]:
    """Hashed-identifier files per segment and destination -> files + table ``activation_exports``."""
    config = load_activation_config(config_path)
    chosen_destinations = config.select(destinations)
    warehouse = Warehouse.at(lake)
    store = warehouse.lake
    con = warehouse.connect(threads)
    try:
        _materialize_partition(con, "segment_members", ds, MEMBERS_DS_TABLE)
        segment_ids = _chosen_segments(con, segments)
        activation.build_identifiers_table(con, ds)
        summaries = [
            activation.export_segment(con, store, ds, segment_id, destination, members_table=MEMBERS_DS_TABLE)
            for segment_id in segment_ids
            for destination in chosen_destinations
        ]
        store.write_partition(ZONE, "activation_exports", ds, activation.summaries_table(summaries))
    finally:
        con.close()
    warehouse.refresh_catalog()
    return {
        "table": "activation_exports",
        "dt": ds,
        "exports": len(summaries),
        "files": sum(summary.files for summary in summaries),
        "rows": sum(summary.exported for summary in summaries),
        "by_destination": {
            destination.id: {
                summary.segment_id: summary.exported
                for summary in summaries
                if summary.destination == destination.id
            }
            for destination in chosen_destinations
        },
    }


# --- helpers ----------------------------------------------------------------------------------------


def _score_one_seed(features, seed_people, seed, exclude_customers, holdout_share, settings):
    linked = features["person_id"].notna().to_numpy()
    is_seed = features["person_id"].isin(seed_people).to_numpy()
    training = features[linked]
    model = lookalike.train_lookalike(
        training, is_seed[linked], holdout_share=holdout_share, max_interests=settings.max_interests
    )
    candidates = ~is_seed
    if exclude_customers:
        candidates &= ~features["is_customer"].fillna(False).to_numpy(dtype=bool)
    pool = features[candidates]
    ranked = lookalike.rank_scores(
        pool[["audience_record_id", "publisher_id", "maid_sha256"]], model.score(pool)
    )
    ranked.insert(0, "seed_segment", seed)
    return model, ranked


def _model_summary(model: lookalike.LookalikeModel, ranked: pd.DataFrame) -> dict[str, Any]:
    reach = {}
    for share in (0.01, 0.05, 0.1, 0.25):  # a few cuts, not per row
        cut = max(1, int(len(ranked) * share))
        if len(ranked):
            reach[f"top_{int(share * 100)}pct"] = {
                "reach": cut,
                "expected_precision": float(ranked["expected_precision_at_cut"].iloc[cut - 1]),
            }
    return {
        "training_rows": model.training_rows,
        "seeds": model.seeds,
        "candidates": len(ranked),
        "holdout_auc": model.holdout_auc,
        "holdout_top_decile_lift": model.holdout_top_decile_lift,
        "top_weights": model.top_weights(5),
        "reach": reach,
    }


def _save_model(store, seed: str, ds: str, model: lookalike.LookalikeModel) -> None:
    """The model as JSON at analytics/lookalike_models/<seed>/dt=<ds>/model.json (replaced on a rerun)."""
    relative = f"{ZONE}/lookalike_models/{seed}/dt={ds}/model.json"
    store.write_bytes(relative, json.dumps(model.to_dict()).encode("utf-8"))


def _segment_people(con: duckdb.DuckDBPyConnection, segment_id: str) -> np.ndarray:
    rows = con.execute(
        f"SELECT person_id FROM {MEMBERS_DS_TABLE} WHERE segment_id = ?", [segment_id]
    ).fetchnumpy()["person_id"]
    if len(rows) == 0:
        raise ValueError(
            f"seed segment {segment_id!r} has no members in segment_members (run build_segments)"
        )
    return np.asarray(rows, dtype=object)


def _chosen_segments(con: duckdb.DuckDBPyConnection, wanted: str | Sequence[str]) -> list[str]:
    present = [
        row[0]
        for row in con.execute(f"SELECT DISTINCT segment_id FROM {MEMBERS_DS_TABLE} ORDER BY 1").fetchall()
    ]
    names = parse_selection(wanted)
    if names is None:
        return present
    missing = [name for name in names if name not in present]
    if missing:
        raise ValueError(
            f"segment(s) {', '.join(missing)} have no members in segment_members; present: {present}"
        )
    return names


def _materialize_partition(con: duckdb.DuckDBPyConnection, table: str, ds: str, into: str) -> None:
    """Copy the ``ds`` partition of an upstream audience table into a temporary table (read many times)."""
    _require_tables(con, [table], ds, exact=True)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {into} AS SELECT * EXCLUDE (dt) FROM {table} WHERE dt = ?", [ds]
    )


def _require_tables(
    con: duckdb.DuckDBPyConnection, tables: list[str], ds: str, *, exact: bool = False
) -> None:
    views = {
        row[0] for row in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()
    }
    missing = [table for table in tables if table not in views]
    if missing:
        raise MissingInputError(
            f"no lake table(s) {', '.join(missing)}: run the upstream stage for dt={ds} first"
        )
    condition = "dt = ?" if exact else "dt <= ?"
    for table in tables:
        if not con.execute(f"SELECT 1 FROM {table} WHERE {condition} LIMIT 1", [ds]).fetchall():
            wanted = "for" if exact else "on or before"
            raise MissingInputError(f"table {table} has no partition {wanted} dt={ds}")
