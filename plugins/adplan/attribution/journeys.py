"""Run the attribution SQL files (``sql/attribution/*.sql``, Athena SQL) on DuckDB.

The files are the same ones the aws target sends to Athena; here they are rendered with Jinja and
transpiled by sqlglot (``adplan.sqlfiles``). Journeys are materialized once as a temporary table and
every later query (paths, heuristics, exposures) reads that table, as the Athena DAG reads its CTAS.
"""

from __future__ import annotations

from typing import Any

import duckdb
import pandas as pd

from adplan import sqlfiles

JOURNEYS_TABLE = "attribution_journeys"


def sql(name: str, ds: str, params: dict[str, Any]) -> str:
    """``sql/attribution/<name>.sql`` rendered and transpiled to DuckDB."""
    return sqlfiles.render_duckdb(f"attribution/{name}.sql", ds, params)


def journey_params(
    touchpoints_table: str,
    conversions_table: str,
    *,
    lookback_days: int = 30,
    click_window_days: int | None = None,
    view_window_days: int | None = None,
    analysis_days: int | None = None,
) -> dict[str, Any]:
    """The params of ``journeys.sql`` (None: the window defaults to ``lookback_days``)."""
    return {
        "touchpoints_table": touchpoints_table,
        "conversions_table": conversions_table,
        "lookback_days": lookback_days,
        "click_window_days": click_window_days,
        "view_window_days": view_window_days,
        "analysis_days": analysis_days,
    }


def build_journeys(
    con: duckdb.DuckDBPyConnection,
    touchpoints_table: str,
    conversions_table: str,
    ds: str,
    *,
    lookback_days: int = 30,
    click_window_days: int | None = None,
    view_window_days: int | None = None,
    analysis_days: int | None = None,
    journeys_table: str = JOURNEYS_TABLE,
) -> str:
    """Materialize the journeys of ``ds`` as a temporary table on ``con``; returns its name."""
    params = journey_params(
        touchpoints_table,
        conversions_table,
        lookback_days=lookback_days,
        click_window_days=click_window_days,
        view_window_days=view_window_days,
        analysis_days=analysis_days,
    )
    con.execute(f"CREATE OR REPLACE TEMP TABLE {journeys_table} AS {sql('journeys', ds, params)}")
    return journeys_table


def journeys_from_touchpoints(
    con: duckdb.DuckDBPyConnection,
    touchpoints_table: str,
    conversions_table: str,
    ds: str,
    *,
    lookback_days: int = 30,
    click_window_days: int | None = None,
    view_window_days: int | None = None,
    analysis_days: int | None = None,
    journeys_table: str = JOURNEYS_TABLE,
) -> pd.DataFrame:
    """Aggregated paths (path, total_conversions, total_conversion_value, total_null) of ``ds``.

    Leaves the touch-level journeys in the temporary table ``journeys_table`` for the other queries.
    """
    build_journeys(
        con,
        touchpoints_table,
        conversions_table,
        ds,
        lookback_days=lookback_days,
        click_window_days=click_window_days,
        view_window_days=view_window_days,
        analysis_days=analysis_days,
        journeys_table=journeys_table,
    )
    return paths_from_journeys(con, ds, journeys_table)


def paths_from_journeys(
    con: duckdb.DuckDBPyConnection, ds: str, journeys_table: str = JOURNEYS_TABLE
) -> pd.DataFrame:
    return con.execute(sql("paths", ds, {"journeys_table": journeys_table})).df()


def heuristic_credits(
    con: duckdb.DuckDBPyConnection,
    ds: str,
    journeys_table: str = JOURNEYS_TABLE,
    *,
    direct_channel: str = "direct",
    first_weight: float = 0.4,
    last_weight: float = 0.4,
    half_life_days: float = 7.0,
    daily: bool = False,
) -> pd.DataFrame:
    """Credits of the six heuristic models per channel and campaign (``heuristics.sql``):
    model, channel, campaign_id, conversions, value (and conversion_date when ``daily``)."""
    params = {
        "journeys_table": journeys_table,
        "direct_channel": direct_channel,
        "first_weight": first_weight,
        "last_weight": last_weight,
        "half_life_days": half_life_days,
        "daily": daily,
    }
    return con.execute(sql("heuristics", ds, params)).df()


def exposures_from_journeys(
    con: duckdb.DuckDBPyConnection,
    ds: str,
    journeys_table: str = JOURNEYS_TABLE,
    channels: list[str] | None = None,
) -> pd.DataFrame:
    """One row per journey: person_id, journey_no, an exposure count column per channel (all
    channels in the journeys unless given), exposures, clicks, converted and value; the input of
    :func:`adplan.attribution.incrementality`."""
    if channels is None:
        rows = con.execute(
            f"SELECT DISTINCT channel FROM {journeys_table} WHERE channel IS NOT NULL"
        ).fetchall()
        channels = sorted(row[0] for row in rows)
    params = {"journeys_table": journeys_table, "channels": channels}
    return con.execute(sql("exposures", ds, params)).df()


def channel_roas(
    con: duckdb.DuckDBPyConnection,
    ds: str,
    credits_table: str,
    spend_table: str,
    *,
    lookback_days: int = 30,
    analysis_days: int | None = None,
) -> pd.DataFrame:
    """ROAS and CPA per model, channel and campaign, plus channel totals (campaign_id NULL)."""
    params = {
        "credits_table": credits_table,
        "spend_table": spend_table,
        "lookback_days": lookback_days,
        "analysis_days": analysis_days,
    }
    return con.execute(sql("channel_roas", ds, params)).df()


def roas_cpa(
    credits: pd.DataFrame,
    spend: pd.DataFrame,
    ds: str,
    *,
    lookback_days: int = 30,
    analysis_days: int | None = None,
) -> pd.DataFrame:
    """:func:`channel_roas` on in-memory frames (credits in the shared credit shape, spend rows
    ``date, campaign_id, channel, publisher_id, spend``)."""
    with duckdb.connect() as con:
        con.register("attribution_credits_input", credits)
        con.register("attribution_spend_input", spend)
        return channel_roas(
            con,
            ds,
            "attribution_credits_input",
            "attribution_spend_input",
            lookback_days=lookback_days,
            analysis_days=analysis_days,
        )


def daily_response_data(
    con: duckdb.DuckDBPyConnection,
    ds: str,
    spend_table: str,
    *,
    history_days: int,
    journeys_table: str = JOURNEYS_TABLE,
    model: str = "linear",
    **heuristic_options,
) -> pd.DataFrame:
    """Daily spend and ``model``-attributed conversions per channel (date, channel, spend,
    conversions, value): the points that :func:`fit_response_curves` fits. The journeys should cover
    the same history (``build_journeys(..., analysis_days=history_days)``)."""
    credits = heuristic_credits(con, ds, journeys_table, daily=True, **heuristic_options)
    credits = credits[credits["model"] == model]
    outcome = (
        credits.rename(columns={"conversion_date": "date"})
        .groupby(["date", "channel"], as_index=False)[["conversions", "value"]]
        .sum()
    )
    spend = con.execute(
        sql("daily_channel_spend", ds, {"spend_table": spend_table, "history_days": history_days})
    ).df()
    spend = spend.rename(columns={"spend_date": "date"})
    for frame in (outcome, spend):
        frame["date"] = pd.to_datetime(frame["date"])
    # Outer: a day without spend still has conversions; channels that never spend are not planned.
    daily = spend.merge(outcome, on=["date", "channel"], how="outer")
    daily = daily[daily["channel"].isin(spend["channel"].unique())]
    return daily.fillna({"spend": 0.0, "conversions": 0.0, "value": 0.0}).sort_values(["date", "channel"])
