"""Media attribution jobs: the entry points the ``media_attribution`` DAG runs (``fn(ds, **params) -> dict``,
see ``adplan.jobs``).

``attribute(ds, ...)``
    touchpoints (``sql/attribution/touchpoints.sql``: impressions and clicks with the person of their
    device or cookie) and conversions (``conversions.sql``: orders with the person of the order) ->
    journeys -> credits of the six heuristic models (SQL, per channel and campaign), Markov chains of
    order 1..3 and Shapley values (on the aggregated paths, per channel), and the incrementality model
    (on exposures). Writes, as analytics partitions ``dt = ds``:

    * ``attribution_credits``: model, channel, campaign_id, credit_level, conversions, value,
      removal_effect. Heuristic models credit campaigns (``credit_level = 'campaign'``). Path models
      (markov_1..3, shapley) see channels only: their rows have ``campaign_id`` NULL and
      ``credit_level = 'channel'``. Per model the credits sum to the attributed conversions (the
      conversions with at least one touchpoint in their click or view window).
    * ``attribution_incrementality``: channel, incremental_conversions, incremental_value, share,
      ci_low, ci_high (interval of incremental_conversions), share_ci_low, share_ci_high, unit, units,
      observed_conversions, baseline_conversions. Incremental conversions are Shapley values of the
      fitted outcome model's counterfactual game, so they sum to the conversions that advertising
      added, not to the attributed conversions.
    * ``channel_roas``: model, channel, campaign_id, spend, conversions, value, roas, cpa, per model
      (the attribution models and ``incrementality``: incremental ROAS / CPA). Rows with a campaign
      exist for campaign-level models; every model has channel totals (``campaign_id`` NULL).

``plan_budget(ds, ...)``
    fits a response curve per channel on daily spend against daily conversions attributed by
    ``model`` (for a model without a daily grain: daily linear credits scaled per channel to that
    model's totals) and allocates the next flight's budget -> ``budget_recommendation``: channel,
    current_spend, recommended_spend, change, expected_conversions, ci_low, ci_high,
    current_expected_conversions, current_daily_spend, recommended_daily_spend, min_spend, max_spend,
    marginal_cpa, beyond_observed_spend, model, flight_days; and a ``TOTAL`` row.

Both read and write the lake named by ``lake`` (``s3://bucket`` on the aws target's Glue job, a folder, or
by default the target's lake), through ``Warehouse.at``: the same code on both targets.

Parameters may arrive as strings from Airflow templates: integers and floats are coerced and ``""``,
``"None"`` or ``"null"`` mean None. Both jobs return counts and model figures, never personal data.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from adplan import sqlfiles
from adplan.attribution.budget import allocate_budget, fit_response_curves
from adplan.attribution.heuristics import MODELS as HEURISTIC_MODELS
from adplan.attribution.incrementality import MAX_CHANNELS as INCREMENTALITY_MAX_CHANNELS
from adplan.attribution.incrementality import UNIT_COLUMNS, incrementality
from adplan.attribution.journeys import (
    JOURNEYS_TABLE,
    build_journeys,
    channel_roas,
    daily_response_data,
    exposures_from_journeys,
    heuristic_credits,
    paths_from_journeys,
)
from adplan.attribution.markov import markov
from adplan.attribution.paths import CREDIT_COLUMNS, paths_from_frame
from adplan.attribution.shapley import MAX_CHANNELS as SHAPLEY_MAX_CHANNELS
from adplan.attribution.shapley import shapley
from adplan.warehouse import Warehouse

ZONE = "analytics"
CREDITS_TABLE = "attribution_credits"
INCREMENTALITY_TABLE = "attribution_incrementality"
ROAS_TABLE = "channel_roas"
BUDGET_TABLE = "budget_recommendation"

# Working tables on the job's in-memory connection.
TOUCHPOINTS = "attribution_touchpoints"
CONVERSIONS = "attribution_conversions"
SPEND = "attribution_spend"
SCALE_JOURNEYS = "attribution_journeys_scale"  # plan_budget: the attribution window's journeys

# Floats in the tables are rounded to this many decimals: parallel SQL sums of doubles differ in the last
# bits from run to run, and a rerun should write the same numbers.
DIGITS = 9

INPUT_TABLES = ("curated_ad_impressions", "curated_ad_clicks", "curated_orders", "identity_graph")

MARKOV_MODELS = ("markov_1", "markov_2", "markov_3")
PATH_MODELS = (*MARKOV_MODELS, "shapley")
ATTRIBUTION_MODELS = (*HEURISTIC_MODELS, *PATH_MODELS)  # credits sum to the attributed conversions
ALL_MODELS = (*ATTRIBUTION_MODELS, "incrementality")
CHANNEL_LEVEL_MODELS = (*PATH_MODELS, "incrementality")
MODEL_ALIASES: dict[str, tuple[str, ...]] = {
    "all": ALL_MODELS,
    "heuristics": HEURISTIC_MODELS,
    "markov": MARKOV_MODELS,
    "last_non_direct": ("last_non_direct_click",),
    **{f"markov{order}": (f"markov_{order}",) for order in (1, 2, 3)},
}
INCREMENTALITY_UNITS = ("person", "journey")

CREDITS_SCHEMA = pa.schema(
    [
        ("model", pa.string()),
        ("channel", pa.string()),
        ("campaign_id", pa.string()),
        ("credit_level", pa.string()),
        ("conversions", pa.float64()),
        ("value", pa.float64()),
        ("removal_effect", pa.float64()),
    ]
)
INCREMENTALITY_SCHEMA = pa.schema(
    [
        ("channel", pa.string()),
        ("incremental_conversions", pa.float64()),
        ("incremental_value", pa.float64()),
        ("share", pa.float64()),
        ("ci_low", pa.float64()),
        ("ci_high", pa.float64()),
        ("share_ci_low", pa.float64()),
        ("share_ci_high", pa.float64()),
        ("unit", pa.string()),
        ("units", pa.int64()),
        ("observed_conversions", pa.float64()),
        ("baseline_conversions", pa.float64()),
    ]
)
ROAS_SCHEMA = pa.schema(
    [
        ("model", pa.string()),
        ("channel", pa.string()),
        ("campaign_id", pa.string()),
        ("spend", pa.float64()),
        ("conversions", pa.float64()),
        ("value", pa.float64()),
        ("roas", pa.float64()),
        ("cpa", pa.float64()),
    ]
)
BUDGET_SCHEMA = pa.schema(
    [
        ("channel", pa.string()),
        ("current_spend", pa.float64()),
        ("recommended_spend", pa.float64()),
        ("change", pa.float64()),
        ("expected_conversions", pa.float64()),
        ("ci_low", pa.float64()),
        ("ci_high", pa.float64()),
        ("current_expected_conversions", pa.float64()),
        ("current_daily_spend", pa.float64()),
        ("recommended_daily_spend", pa.float64()),
        ("min_spend", pa.float64()),
        ("max_spend", pa.float64()),
        ("marginal_cpa", pa.float64()),
        ("beyond_observed_spend", pa.bool_()),
        ("model", pa.string()),
        ("flight_days", pa.int64()),
    ]
)


class MissingInputError(LookupError):
    """An input table has no partition for the run's date (run the upstream job first)."""


# --- parameters ---------------------------------------------------------------------------------------


def parse_models(models: str | Iterable[str] | None, allowed: Sequence[str] = ALL_MODELS) -> tuple[str, ...]:
    """Model names from a comma-separated string or a list ("all", groups "heuristics" and "markov",
    aliases "last_non_direct", "markov1".."markov3"), in the canonical order of ``allowed``."""
    if models is None or (isinstance(models, str) and models.strip().lower() in {"", "none", "null"}):
        models = "all"
    names = models.split(",") if isinstance(models, str) else list(models)
    chosen: set[str] = set()
    for raw in names:
        name = str(raw).strip().lower()
        if not name:
            continue
        expanded = MODEL_ALIASES.get(name, (name,))
        if name == "all":
            expanded = tuple(allowed)
        unknown = [model for model in expanded if model not in allowed]
        if unknown:
            raise ValueError(f"unknown model {raw.strip()!r}; models are: all, {', '.join(allowed)}")
        chosen.update(expanded)
    if not chosen:
        raise ValueError(f"no model selected; models are: all, {', '.join(allowed)}")
    return tuple(model for model in allowed if model in chosen)


def _ds(ds: str) -> str:
    """``ds`` checked as a date (it is inlined into SQL)."""
    try:
        return date.fromisoformat(str(ds)).isoformat()
    except ValueError:
        raise ValueError(f"ds must be a date YYYY-MM-DD, not {ds!r}") from None


def _is_none(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip().lower() in {"", "none", "null"})


def _int(value: Any, name: str, *, optional: bool = False, minimum: int | None = None) -> int | None:
    if _is_none(value):
        if optional:
            return None
        raise ValueError(f"{name} is required")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an integer, not {value!r}") from None
    if not number.is_integer():
        raise ValueError(f"{name} must be an integer, not {value!r}")
    if minimum is not None and number < minimum:
        raise ValueError(f"{name} must be at least {minimum}, not {value!r}")
    return int(number)


def _float(value: Any, name: str, *, optional: bool = False) -> float | None:
    if _is_none(value):
        if optional:
            return None
        raise ValueError(f"{name} is required")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, not {value!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"{name} must be finite, not {value!r}")
    return number


def _windows(
    lookback_days: Any, click_window_days: Any, view_window_days: Any, analysis_days: Any
) -> dict[str, int | None]:
    return {
        "lookback_days": _int(lookback_days, "lookback_days", minimum=1),
        "click_window_days": _int(click_window_days, "click_window_days", optional=True, minimum=0),
        "view_window_days": _int(view_window_days, "view_window_days", optional=True, minimum=0),
        "analysis_days": _int(analysis_days, "analysis_days", optional=True, minimum=1),
    }


def _reach_days(windows: dict[str, int | None]) -> int:
    """Days of history that journeys.sql reads: the analysis window plus the longest lookback."""
    lookback = windows["lookback_days"]
    analysis = windows["analysis_days"] or lookback
    longest = max(lookback, windows["click_window_days"] or lookback, windows["view_window_days"] or lookback)
    return analysis + longest + 1


# --- inputs -------------------------------------------------------------------------------------------


def require_tables(con: duckdb.DuckDBPyConnection, tables: Iterable[str], ds: str) -> None:
    """Every table is in the lake with a partition on or before ``ds``."""
    views = {
        row[0] for row in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()
    }
    missing = [table for table in tables if table not in views]
    if missing:
        raise MissingInputError(
            f"no lake table(s) {', '.join(missing)}: run hygiene and identity resolution for dt={ds} first"
        )
    for table in tables:
        if not con.execute(f'SELECT 1 FROM "{table}" WHERE dt <= ? LIMIT 1', [ds]).fetchall():
            raise MissingInputError(f"table {table} has no partition on or before dt={ds}")


def prepare_inputs(
    con: duckdb.DuckDBPyConnection, ds: str, *, history_days: int, sales_channels: Sequence[str] | None = None
) -> dict[str, int]:
    """Materialize the touchpoints and conversions of the ``history_days`` before the end of ``ds`` as
    temporary tables (people resolved through the identity graph); returns counts, including the
    touchpoints and orders dropped for want of a person."""
    counts: dict[str, int] = {}
    for table, name, extra in (
        (TOUCHPOINTS, "touchpoints", {}),
        (CONVERSIONS, "conversions", {"sales_channels": list(sales_channels or [])}),
    ):
        params = {"history_days": history_days, "keep_unresolved": True, **extra}
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {table} AS "
            + sqlfiles.render_duckdb(f"attribution/{name}.sql", ds, params)
        )
        total, unresolved = con.execute(
            f"SELECT count(*), count(*) FILTER (WHERE person_id IS NULL) FROM {table}"
        ).fetchall()[0]
        con.execute(f"DELETE FROM {table} WHERE person_id IS NULL")
        counts[f"{name}_read"] = int(total)
        counts[f"{name}_without_person"] = int(unresolved)
        counts[name] = int(total - unresolved)
    return counts


def create_spend_view(con: duckdb.DuckDBPyConnection, ds: str, spend_table: str = "curated_spend") -> str:
    """Spend rows (date, campaign_id, channel, publisher_id, spend) as delivered up to ``ds``: the
    latest delivery of each (date, campaign, channel, publisher), as ``touchpoints.sql`` reads events."""
    con.execute(
        f"""
        CREATE OR REPLACE TEMP VIEW {SPEND} AS
        SELECT "date", campaign_id, channel, publisher_id, CAST(spend AS DOUBLE) AS spend
        FROM (
            SELECT *, row_number() OVER (
                PARTITION BY "date", campaign_id, channel, publisher_id
                ORDER BY dt DESC, source_file DESC, source_row DESC
            ) AS version_rank
            FROM "{spend_table}"
            WHERE dt <= '{ds}' AND "date" <= DATE '{ds}'
        )
        WHERE version_rank = 1
        """
    )
    return SPEND


# --- attribute ----------------------------------------------------------------------------------------


def attribute(
    ds: str,
    models: str | Sequence[str] = "all",
    lookback_days: int | str = 30,
    click_window_days: int | str | None = None,
    view_window_days: int | str | None = None,
    *,
    analysis_days: int | str | None = None,
    direct_channel: str = "direct",
    incrementality_unit: str = "person",
    n_bootstrap: int | str = 200,
    sales_channels: str | Sequence[str] | None = None,
    threads: int | str | None = None,
    lake: str | None = None,
    **_: Any,
) -> dict[str, Any]:
    """Attribute the conversions of the analysis window ending with ``ds`` (default: the last
    ``lookback_days``) and write ``attribution_credits``, ``attribution_incrementality`` and
    ``channel_roas`` for ``ds``. See the module docstring for the tables.

    ``models``: "all" or a comma list of first_touch, last_touch, last_non_direct_click, linear,
    position_based, time_decay, markov_1..3, shapley, incrementality (groups: heuristics, markov).
    ``lookback_days``: how far back touchpoints count (and open paths reach); ``click_window_days`` /
    ``view_window_days`` narrow it for clicks / impressions. ``incrementality_unit``: "person" (one
    unit per person: exposures over their journeys, converted if any journey converted) or "journey".
    ``sales_channels``: only orders of these sales channels are conversions (default: all).
    ``lake``: where to read and write (``s3://bucket`` or a folder; default: the target's lake).
    """
    ds = _ds(ds)
    windows = _windows(lookback_days, click_window_days, view_window_days, analysis_days)
    selected = parse_models(models)
    unit = str(incrementality_unit or "person").strip().lower()
    if unit not in INCREMENTALITY_UNITS:
        raise ValueError(f"incrementality_unit must be one of {', '.join(INCREMENTALITY_UNITS)}")
    bootstrap = _int(n_bootstrap, "n_bootstrap", minimum=0)
    channels_filter = _list(sales_channels)
    analysis = windows["analysis_days"] or windows["lookback_days"]

    warehouse = Warehouse.at(lake)
    con = warehouse.connect(_int(threads, "threads", optional=True, minimum=1))
    notes: list[str] = []
    try:
        require_tables(con, [*INPUT_TABLES, "curated_spend"], ds)
        counts = prepare_inputs(con, ds, history_days=_reach_days(windows), sales_channels=channels_filter)
        build_journeys(con, TOUCHPOINTS, CONVERSIONS, ds, **windows)
        paths = paths_from_journeys(con, ds)
        credits = attribution_credits(con, ds, paths, selected, direct_channel=direct_channel, notes=notes)
        lift = None
        if "incrementality" in selected:
            lift = incremental_conversions(con, ds, unit=unit, n_bootstrap=bootstrap, notes=notes)
        spend_view = create_spend_view(con, ds)
        roas = roas_table(con, ds, credits, lift, spend_view, windows["lookback_days"], analysis)
        window_counts = _window_counts(con, ds, analysis)
    finally:
        con.close()

    incrementality_frame = incrementality_table(lift, unit)
    target = warehouse.lake
    target.write_partition(ZONE, CREDITS_TABLE, ds, _arrow(credits, CREDITS_SCHEMA))
    target.write_partition(
        ZONE, INCREMENTALITY_TABLE, ds, _arrow(incrementality_frame, INCREMENTALITY_SCHEMA)
    )
    target.write_partition(ZONE, ROAS_TABLE, ds, _arrow(roas, ROAS_SCHEMA))
    warehouse.refresh_catalog()

    attributed = int(paths["total_conversions"].sum()) if len(paths) else 0
    summary: dict[str, Any] = {
        "tables": [CREDITS_TABLE, INCREMENTALITY_TABLE, ROAS_TABLE],
        "dt": ds,
        "models": list(selected),
        "windows": {**windows, "analysis_days": analysis},
        **counts,
        **window_counts,
        "paths": len(paths),
        "attributed_conversions": attributed,
        "attributed_value": round(float(paths["total_conversion_value"].sum()) if len(paths) else 0.0, 2),
        "unattributed_conversions": window_counts["conversions_in_window"] - attributed,
        "open_journeys": int(paths["total_null"].sum()) if len(paths) else 0,
        "channels": sorted(credits["channel"].dropna().unique().tolist()),
        "credit_rows": len(credits),
        "roas_rows": len(roas),
        "notes": notes,
    }
    if lift is not None:
        summary["incrementality"] = {
            "unit": unit,
            "units": int(lift.attrs["units"]),
            "observed_conversions": float(lift.attrs["observed_conversions"]),
            "baseline_conversions": round(float(lift.attrs["baseline_conversions"]), 3),
            "incremental_conversions": round(float(lift["conversions"].sum()), 3),
            "share": {row.channel: round(float(row.share), 4) for row in lift.itertuples()},
        }
    return summary


def attribution_credits(
    con: duckdb.DuckDBPyConnection,
    ds: str,
    paths: pd.DataFrame,
    models: Sequence[str],
    *,
    direct_channel: str = "direct",
    notes: list[str] | None = None,
) -> pd.DataFrame:
    """Credits of the selected attribution models (heuristics per campaign, path models per channel)
    from the journeys on ``con`` and their aggregated ``paths``, in the ``attribution_credits`` shape."""
    notes = notes if notes is not None else []
    frames = []
    heuristic = [model for model in models if model in HEURISTIC_MODELS]
    if heuristic:
        credits = heuristic_credits(con, ds, direct_channel=direct_channel)
        frames.append(credits[credits["model"].isin(heuristic)].assign(credit_level="campaign"))
    path_models = [model for model in models if model in PATH_MODELS]
    path_set = paths_from_frame(paths) if len(paths) else None
    if path_models and (path_set is None or path_set.total_conversions <= 0):
        notes.append("no converting journeys: Markov and Shapley credits are empty")
    elif path_models:
        for model in path_models:
            if model in MARKOV_MODELS:
                credits = markov(path_set, int(model.rsplit("_", 1)[1]))
                frames.append(credits[[*CREDIT_COLUMNS, "removal_effect"]].assign(credit_level="channel"))
            elif path_set.n_channels > SHAPLEY_MAX_CHANNELS:
                notes.append(
                    f"shapley skipped: {path_set.n_channels} channels, exact Shapley takes at most "
                    f"{SHAPLEY_MAX_CHANNELS}"
                )
            else:
                frames.append(shapley(path_set).assign(credit_level="channel"))
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=CREDITS_SCHEMA.names)
    frame = frame.reindex(columns=CREDITS_SCHEMA.names)
    return _sorted(frame, ["model", "channel", "campaign_id"], models)


def incremental_conversions(
    con: duckdb.DuckDBPyConnection,
    ds: str,
    *,
    unit: str = "person",
    n_bootstrap: int = 200,
    seed: int = 0,
    notes: list[str] | None = None,
    journeys_table: str = JOURNEYS_TABLE,
) -> pd.DataFrame | None:
    """The incrementality model on the exposures of the journeys on ``con`` (one unit per person or
    per journey); None (with a note) when there is nothing to fit."""
    notes = notes if notes is not None else []
    exposures = exposures_from_journeys(con, ds, journeys_table)
    channels = [c for c in exposures.columns if c not in UNIT_COLUMNS]
    if unit == "person" and len(exposures):
        exposures = person_exposures(exposures, channels)
    converted = (
        exposures["converted"].fillna(False).astype(bool) if len(exposures) else pd.Series([], dtype=bool)
    )
    if not channels or not converted.any() or converted.all():
        notes.append("incrementality skipped: it needs converting and non-converting units")
        return None
    if len(channels) > INCREMENTALITY_MAX_CHANNELS:
        notes.append(
            f"incrementality skipped: {len(channels)} channels, at most {INCREMENTALITY_MAX_CHANNELS}"
        )
        return None
    return incrementality(exposures, channels, n_bootstrap=n_bootstrap, seed=seed)


def person_exposures(exposures: pd.DataFrame, channels: Sequence[str]) -> pd.DataFrame:
    """Per-journey exposures summed per person: exposures over all their journeys, converted if any
    journey converted, value summed."""
    numeric = [*channels, "exposures", "clicks"]
    frame = exposures.assign(converted=exposures["converted"].fillna(False).astype(int))
    grouped = frame.groupby("person_id", sort=True).agg(
        {**dict.fromkeys(numeric, "sum"), "converted": "max", "value": "sum"}
    )
    grouped["journey_no"] = 0
    return grouped.reset_index()


def incrementality_table(lift: pd.DataFrame | None, unit: str) -> pd.DataFrame:
    if lift is None:
        return pd.DataFrame(columns=INCREMENTALITY_SCHEMA.names)
    frame = pd.DataFrame(
        {
            "channel": lift["channel"],
            "incremental_conversions": lift["conversions"],
            "incremental_value": lift["value"],
            "share": lift["share"],
            "ci_low": lift.get("conversions_lo", np.nan),
            "ci_high": lift.get("conversions_hi", np.nan),
            "share_ci_low": lift.get("share_lo", np.nan),
            "share_ci_high": lift.get("share_hi", np.nan),
            "unit": unit,
            "units": int(lift.attrs["units"]),
            "observed_conversions": float(lift.attrs["observed_conversions"]),
            "baseline_conversions": float(lift.attrs["baseline_conversions"]),
        }
    )
    return frame.sort_values("channel", kind="stable").reset_index(drop=True)


def roas_table(
    con: duckdb.DuckDBPyConnection,
    ds: str,
    credits: pd.DataFrame,
    lift: pd.DataFrame | None,
    spend_view: str,
    lookback_days: int,
    analysis_days: int,
) -> pd.DataFrame:
    """ROAS and CPA per model from the credits (and incremental conversions) and the spend of the
    analysis window. Channel-level models keep their channel totals only (their campaign rows would
    show the campaigns' spend against no conversions)."""
    frames = [credits[CREDIT_COLUMNS]] if len(credits) else []
    if lift is not None:
        frames.append(lift[CREDIT_COLUMNS])
    if not frames:
        return pd.DataFrame(columns=ROAS_SCHEMA.names)
    all_credits = pd.concat(frames, ignore_index=True)
    all_credits["campaign_id"] = all_credits["campaign_id"].astype("string")
    con.register("attribution_credits_input", all_credits)
    try:
        roas = channel_roas(
            con,
            ds,
            "attribution_credits_input",
            spend_view,
            lookback_days=lookback_days,
            analysis_days=analysis_days,
        )
    finally:
        con.unregister("attribution_credits_input")
    roas = roas[~(roas["model"].isin(CHANNEL_LEVEL_MODELS) & roas["campaign_id"].notna())]
    return _sorted(roas.reindex(columns=ROAS_SCHEMA.names), ["model", "channel", "campaign_id"], ALL_MODELS)


def _window_counts(con: duckdb.DuckDBPyConnection, ds: str, analysis_days: int) -> dict[str, int]:
    start = pd.Timestamp(ds) + pd.Timedelta(days=1) - pd.Timedelta(days=analysis_days)
    end = pd.Timestamp(ds) + pd.Timedelta(days=1)
    row = con.execute(
        f"""
        SELECT
            (SELECT count(*) FROM {CONVERSIONS} WHERE ts >= ? AND ts < ?),
            (SELECT count(DISTINCT person_id) FROM {TOUCHPOINTS}),
            (SELECT count(*) FROM {JOURNEYS_TABLE})
        """,
        [start.to_pydatetime(), end.to_pydatetime()],
    ).fetchall()[0]
    return {
        "conversions_in_window": int(row[0]),
        "people_with_touchpoints": int(row[1]),
        "journey_touchpoints": int(row[2]),
    }


# --- plan_budget --------------------------------------------------------------------------------------


def plan_budget(
    ds: str,
    total_budget: float | str | None = None,
    flight_days: int | str = 28,
    model: str = "incrementality",
    min_share: float | str = 0.05,
    max_share: float | str = 0.6,
    *,
    history_days: int | str = 90,
    lookback_days: int | str = 30,
    click_window_days: int | str | None = None,
    view_window_days: int | str | None = None,
    form: str = "exp",
    n_bootstrap: int | str = 200,
    ci: float | str = 0.9,
    direct_channel: str = "direct",
    incrementality_unit: str = "person",
    threads: int | str | None = None,
    lake: str | None = None,
    **_: Any,
) -> dict[str, Any]:
    """Recommend how to split the next flight's budget across channels -> ``budget_recommendation``.

    Response curves (``form``: exp or hill) are fitted per channel on the daily spend and the daily
    conversions that ``model`` attributes over the last ``history_days``. A heuristic model gives daily
    credits directly; for a channel-level model (markov_1..3, shapley, incrementality), which has no
    daily grain, each channel's daily linear credits are scaled by the ratio of that model's conversions
    to linear's, both computed as ``attribute`` computes them for ``ds`` with the same ``lookback_days``,
    ``click_window_days``, ``view_window_days`` and ``incrementality_unit`` (self-contained: it does not
    read ``attribute``'s tables, so any ``models`` choice there is fine). ``total_budget`` defaults to the spend of the last ``flight_days`` up to ``ds``; every channel gets
    between ``min_share`` and ``max_share`` of it. ``lake``: as for ``attribute``.
    """
    ds = _ds(ds)
    flight = _int(flight_days, "flight_days", minimum=1)
    history = _int(history_days, "history_days", minimum=2)
    low_share = _float(min_share, "min_share")
    high_share = _float(max_share, "max_share")
    if not 0 <= low_share <= high_share <= 1:
        raise ValueError(f"need 0 <= min_share <= max_share <= 1, not {low_share} and {high_share}")
    chosen = parse_models(model)
    if len(chosen) != 1:
        raise ValueError(f"plan_budget plans with one model, not {', '.join(chosen)}")
    model_name = chosen[0]
    attribution_windows = _windows(lookback_days, click_window_days, view_window_days, None)
    windows = {**attribution_windows, "analysis_days": history}
    unit = str(incrementality_unit or "person").strip().lower()
    if unit not in INCREMENTALITY_UNITS:
        raise ValueError(f"incrementality_unit must be one of {', '.join(INCREMENTALITY_UNITS)}")
    bootstrap = _int(n_bootstrap, "n_bootstrap", minimum=1)
    interval = _float(ci, "ci")
    if not 0 < interval < 1:
        raise ValueError(f"ci must be between 0 and 1, not {interval}")

    warehouse = Warehouse.at(lake)
    con = warehouse.connect(_int(threads, "threads", optional=True, minimum=1))
    try:
        require_tables(con, [*INPUT_TABLES, "curated_spend"], ds)
        prepare_inputs(con, ds, history_days=_reach_days(windows))
        scale = None
        if model_name not in HEURISTIC_MODELS:
            scale = model_scale(
                con,
                ds,
                model_name,
                attribution_windows,
                direct_channel=direct_channel,
                incrementality_unit=unit,
            )
        build_journeys(con, TOUCHPOINTS, CONVERSIONS, ds, **windows)
        spend_view = create_spend_view(con, ds)
        daily = daily_response_data(
            con,
            ds,
            spend_view,
            history_days=history,
            model=model_name if scale is None else "linear",
            direct_channel=direct_channel,
        )
        flight_spend = last_flight_spend(con, ds, flight)
    finally:
        con.close()
    if scale is not None:
        factor = daily["channel"].map(scale).fillna(0.0)
        daily = daily.assign(conversions=daily["conversions"] * factor, value=daily["value"] * factor)
    # Rounded (see DIGITS), so that the fit, and the allocation, of a rerun see the same points.
    daily = daily.round({"spend": DIGITS, "conversions": DIGITS, "value": DIGITS})

    curves = fit_response_curves(daily, form=form, n_bootstrap=bootstrap)
    if not curves:
        raise MissingInputError(f"no channel has spend in the {history} days up to dt={ds}: nothing to plan")
    channels = list(curves)
    budget = _float(total_budget, "total_budget", optional=True)
    if budget is None:
        budget = float(sum(flight_spend.get(channel, 0.0) for channel in channels))
    if budget <= 0:
        raise ValueError(f"total_budget must be positive (the last {flight} days spent {budget})")
    n = len(channels)
    if n * low_share > 1 + 1e-12 or n * high_share < 1 - 1e-12:
        raise ValueError(
            f"min_share {low_share} and max_share {high_share} cannot split a budget across {n} channels "
            f"(need min_share <= {1 / n:.4f} <= max_share)"
        )
    plan = allocate_budget(
        curves,
        budget,
        flight_days=flight,
        min_spend=dict.fromkeys(channels, low_share * budget),
        max_spend=dict.fromkeys(channels, high_share * budget),
        ci=interval,
    )
    frame = budget_frame(plan, curves, flight_spend, model_name, flight)
    warehouse.lake.write_partition(ZONE, BUDGET_TABLE, ds, _arrow(frame, BUDGET_SCHEMA))
    warehouse.refresh_catalog()

    allocation = frame[frame["channel"] != "TOTAL"]
    return {
        "table": BUDGET_TABLE,
        "dt": ds,
        "model": model_name,
        "form": form,
        "flight_days": flight,
        "history_days": history,
        "total_budget": round(budget, 2),
        "channels": len(channels),
        "recommended_spend": {
            r.channel: round(float(r.recommended_spend), 2) for r in allocation.itertuples()
        },
        "current_spend": {r.channel: round(float(r.current_spend), 2) for r in allocation.itertuples()},
        "expected_conversions": round(plan.expected_conversions, 3),
        "expected_conversions_ci": [
            round(plan.expected_conversions_lo, 3),
            round(plan.expected_conversions_hi, 3),
        ],
        "current_mix_conversions": round(plan.current_mix_conversions, 3),
        "equal_split_conversions": round(plan.equal_split_conversions, 3),
        "curve_r2": {
            c: (None if math.isnan(curve.r2) else round(curve.r2, 3)) for c, curve in curves.items()
        },
        "beyond_observed_spend": sorted(
            allocation.loc[allocation["beyond_observed_spend"], "channel"].tolist()
        ),
    }


def model_scale(
    con: duckdb.DuckDBPyConnection,
    ds: str,
    model: str,
    windows: dict[str, int | None],
    *,
    direct_channel: str = "direct",
    incrementality_unit: str = "person",
) -> dict[str, float]:
    """Per channel, ``model``'s conversions over linear's, both computed as ``attribute`` computes them
    (journeys of the attribution ``windows`` from the touchpoints and conversions on ``con``)."""
    build_journeys(con, TOUCHPOINTS, CONVERSIONS, ds, **windows, journeys_table=SCALE_JOURNEYS)
    linear = heuristic_credits(con, ds, SCALE_JOURNEYS, direct_channel=direct_channel)
    linear = linear[linear["model"] == "linear"].groupby("channel")["conversions"].sum()
    target = None
    if model == "incrementality":
        lift = incremental_conversions(
            con, ds, unit=incrementality_unit, n_bootstrap=0, journeys_table=SCALE_JOURNEYS
        )
        target = None if lift is None else lift.set_index("channel")["conversions"]
    elif not linear.empty:
        paths = paths_from_journeys(con, ds, SCALE_JOURNEYS)
        credits = attribution_credits(con, ds, paths, [model], direct_channel=direct_channel)
        target = credits.groupby("channel")["conversions"].sum() if len(credits) else None
    if linear.empty or target is None:
        raise MissingInputError(
            f"no {model} credits in the {windows['analysis_days'] or windows['lookback_days']} days up to "
            f"dt={ds} to scale the daily credits with: plan with a heuristic model"
        )
    return {
        str(channel): round(float(target.get(channel, 0.0)) / float(conversions), DIGITS)
        if conversions
        else 0.0
        for channel, conversions in linear.items()
    }


def last_flight_spend(con: duckdb.DuckDBPyConnection, ds: str, flight_days: int) -> dict[str, float]:
    """Spend per channel in the ``flight_days`` up to and including ``ds``."""
    rows = con.execute(
        f"""
        SELECT channel, sum(spend) FROM {SPEND}
        WHERE CAST("date" AS DATE) > DATE '{ds}' - INTERVAL '{int(flight_days)}' DAY
          AND CAST("date" AS DATE) <= DATE '{ds}'
        GROUP BY channel
        """
    ).fetchall()
    return {str(channel): float(spend or 0.0) for channel, spend in rows}


def budget_frame(plan, curves, flight_spend: dict[str, float], model: str, flight_days: int) -> pd.DataFrame:
    """The ``budget_recommendation`` rows: one per channel and a TOTAL row."""
    allocation = plan.allocation.copy()
    channels = allocation["channel"].tolist()
    current_spend = np.array([flight_spend.get(channel, 0.0) for channel in channels])
    current_daily = current_spend / flight_days
    frame = pd.DataFrame(
        {
            "channel": channels,
            "current_spend": current_spend,
            "recommended_spend": allocation["recommended_spend"].to_numpy(),
            "change": allocation["recommended_spend"].to_numpy() - current_spend,
            "expected_conversions": allocation["expected_conversions"].to_numpy(),
            "ci_low": allocation["expected_conversions_lo"].to_numpy(),
            "ci_high": allocation["expected_conversions_hi"].to_numpy(),
            "current_expected_conversions": [
                float(curves[channel].predict(daily)) * flight_days
                for channel, daily in zip(channels, current_daily, strict=True)
            ],
            "current_daily_spend": current_daily,
            "recommended_daily_spend": allocation["recommended_daily_spend"].to_numpy(),
            "min_spend": allocation["min_spend"].to_numpy(),
            "max_spend": allocation["max_spend"].to_numpy(),
            "marginal_cpa": allocation["marginal_cpa"].to_numpy(),
            "beyond_observed_spend": allocation["beyond_observed_spend"].to_numpy(dtype=bool),
        }
    ).sort_values("channel", kind="stable")
    total = {
        "channel": "TOTAL",
        "current_spend": frame["current_spend"].sum(),
        "recommended_spend": frame["recommended_spend"].sum(),
        "change": frame["change"].sum(),
        "expected_conversions": plan.expected_conversions,
        "ci_low": plan.expected_conversions_lo,
        "ci_high": plan.expected_conversions_hi,
        "current_expected_conversions": frame["current_expected_conversions"].sum(),
        "current_daily_spend": frame["current_daily_spend"].sum(),
        "recommended_daily_spend": frame["recommended_daily_spend"].sum(),
        "min_spend": frame["min_spend"].sum(),
        "max_spend": frame["max_spend"].sum(),
        "marginal_cpa": np.nan,
        "beyond_observed_spend": bool(frame["beyond_observed_spend"].any()),
    }
    frame = pd.concat([frame, pd.DataFrame([total])], ignore_index=True)
    return frame.assign(model=model, flight_days=flight_days)


# --- helpers ------------------------------------------------------------------------------------------


def _list(value: str | Sequence[str] | None) -> list[str]:
    if _is_none(value):
        return []
    items = value.split(",") if isinstance(value, str) else list(value)
    return [str(item).strip() for item in items if str(item).strip()]


def _sorted(frame: pd.DataFrame, keys: list[str], model_order: Sequence[str]) -> pd.DataFrame:
    """Rows in a stable order (model in canonical order, then keys; NULL campaigns first)."""
    if frame.empty:
        return frame.reset_index(drop=True)
    rank = {model: i for i, model in enumerate(model_order)}
    ordered = frame.assign(
        _model_rank=frame["model"].map(rank).fillna(len(rank)),
        _campaign_null=frame["campaign_id"].notna(),
    )
    ordered = ordered.sort_values(["_model_rank", keys[1], "_campaign_null", keys[2]], kind="stable")
    return ordered.drop(columns=["_model_rank", "_campaign_null"]).reset_index(drop=True)


def _arrow(frame: pd.DataFrame, schema: pa.Schema) -> pa.Table:
    """``frame`` as an Arrow table of exactly ``schema`` (stable types, also when empty or all-NULL;
    NaN becomes NULL; floats rounded to DIGITS decimals)."""
    columns = []
    for field in schema:
        if field.name in frame.columns:
            values = frame[field.name].reset_index(drop=True)
        else:
            values = pd.Series([None] * len(frame), dtype=object)
        if pa.types.is_floating(field.type):
            values = pd.to_numeric(values, errors="coerce").astype("float64").round(DIGITS)
        elif pa.types.is_integer(field.type):
            values = pd.to_numeric(values, errors="coerce").astype("Int64")
        elif pa.types.is_boolean(field.type):
            values = values.astype("boolean")
        else:
            values = values.astype("string")
        columns.append(pa.Array.from_pandas(values, type=field.type))
    return pa.Table.from_arrays(columns, schema=schema)
