"""The attribution SQL files: Athena SQL that renders, parses as Trino, transpiles and runs on DuckDB,
with the journey semantics and model credits checked by hand on a small world (see conftest)."""

from __future__ import annotations

import math

import jinja2
import pandas as pd
import pytest
import sqlglot
from attribution_world import DS

from adplan import sqlfiles
from adplan.attribution import (
    CREDIT_COLUMNS,
    build_journeys,
    channel_roas,
    daily_response_data,
    exposures_from_journeys,
    heuristic_credits,
    incrementality,
    journeys_from_touchpoints,
    path_models,
    roas_cpa,
)

ALL_PARAMS = {
    "touchpoints_table": "touchpoints",
    "conversions_table": "conversions",
    "lookback_days": 30,
    "click_window_days": 30,
    "view_window_days": 7,
    "journeys_table": "attribution_journeys",
    "credits_table": "credits",
    "spend_table": "spend",
    "history_days": 30,
    "channels": ["search", "display", "it's"],
}
# touchpoints/conversions read the curated lake tables: tests/test_sql_files.py and
# test_attribution_jobs.py run them on a generated world.
LAKE_READERS = ("attribution/touchpoints.sql", "attribution/conversions.sql")
FILES = [
    name for name in sqlfiles.sql_files() if name.startswith("attribution/") and name not in LAKE_READERS
]


def test_every_attribution_sql_file_is_covered():
    assert {name.split("/")[1] for name in FILES} == {
        "journeys.sql",
        "paths.sql",
        "heuristics.sql",
        "exposures.sql",
        "channel_roas.sql",
        "daily_channel_spend.sql",
    }


@pytest.mark.parametrize("name", FILES)
def test_sql_renders_parses_as_trino_transpiles_and_runs_on_duckdb(name, con):
    build_journeys(con, "touchpoints", "conversions", DS, view_window_days=7)
    con.execute(
        "CREATE TABLE credits AS SELECT 'linear' AS model, 'search' AS channel, 's1' AS campaign_id, "
        "1.0 AS conversions, 10.0 AS value"
    )
    athena_sql = sqlfiles.render(name, DS, ALL_PARAMS)
    assert "{{" not in athena_sql
    assert "{%" not in athena_sql
    sqlglot.parse_one(athena_sql, read="trino")
    con.execute(sqlfiles.to_duckdb(athena_sql)).fetchall()


def test_sql_fails_loudly_on_a_missing_param():
    with pytest.raises(jinja2.UndefinedError, match="_table"):
        sqlfiles.render("attribution/journeys.sql", DS, {"lookback_days": 30})


def test_journeys_cut_at_conversions_and_respect_click_and_view_windows(con):
    paths = journeys_from_touchpoints(con, "touchpoints", "conversions", DS, view_window_days=7)
    got = {
        row.path: (row.total_conversions, row.total_conversion_value, row.total_null)
        for row in paths.itertuples()
    }
    assert got == {
        # p1: a direct click after email; p2's display impression is 14.5 days old (view window 7);
        # p4's December search belongs to its December conversion; p5's touch shares the instant.
        "search > display > email > direct": (1, 100, 0),
        "direct > direct": (1, 50, 0),
        "video": (1, 20, 0),
        "search": (1, 10, 0),
        # open paths: p1 after converting, p3 who never converted
        "social": (0, 0, 2),
    }


def test_a_longer_view_window_lets_the_old_impression_in(con):
    paths = journeys_from_touchpoints(con, "touchpoints", "conversions", DS, view_window_days=30)
    assert "direct > display > direct" in set(paths["path"])


def test_a_short_lookback_drops_old_conversions_and_touches(con):
    paths = journeys_from_touchpoints(con, "touchpoints", "conversions", DS, lookback_days=5)
    # Only p5's conversion (Jan 30) is within 5 days; p3's Jan 25 impression is too old to be open.
    assert set(paths["path"]) == {"search"}


def _credits(con, **options) -> dict[tuple[str, str], tuple[float, float]]:
    build_journeys(con, "touchpoints", "conversions", DS, view_window_days=7)
    frame = heuristic_credits(con, DS, **options)
    return {(r.model, r.channel): (r.conversions, r.value) for r in frame.itertuples()}


def test_heuristic_models_in_sql_match_a_hand_computation(con):
    credits = _credits(con)
    expected = {
        "first_touch": {"search": (2, 110), "direct": (1, 50), "video": (1, 20)},
        "last_touch": {"direct": (2, 150), "video": (1, 20), "search": (1, 10)},
        # p1's last click is direct, so email (the last non-direct click) gets it; p2 is all direct
        "last_non_direct_click": {"email": (1, 100), "direct": (1, 50), "video": (1, 20), "search": (1, 10)},
        "linear": {
            "search": (1.25, 35),
            "display": (0.25, 25),
            "email": (0.25, 25),
            "direct": (1.25, 75),
            "video": (1, 20),
        },
        # p1: 0.4 / 0.1 / 0.1 / 0.4; p2's two touches are both direct
        "position_based": {
            "search": (1.4, 50),
            "display": (0.1, 10),
            "email": (0.1, 10),
            "direct": (1.4, 90),
            "video": (1, 20),
        },
    }
    # time decay, half-life 7 days: p1's touches were 5, 3, 1 and 0.5 days before its conversion
    decay = [2 ** (-d / 7) for d in (5, 3, 1, 0.5)]
    share = [w / sum(decay) for w in decay]
    expected["time_decay"] = {
        "search": (share[0] + 1, share[0] * 100 + 10),
        "display": (share[1], share[1] * 100),
        "email": (share[2], share[2] * 100),
        "direct": (share[3] + 1, share[3] * 100 + 50),
        "video": (1, 20),
    }
    for model, by_channel in expected.items():
        for channel in ("search", "display", "email", "direct", "video"):
            want = by_channel.get(channel, (0, 0))
            assert credits[(model, channel)] == pytest.approx(want), (model, channel)
        assert sum(v[0] for (m, _), v in credits.items() if m == model) == pytest.approx(4)


def test_position_weights_and_half_life_are_params(con):
    credits = _credits(con, first_weight=0.5, last_weight=0.3, half_life_days=1e9)
    assert credits[("position_based", "search")] == pytest.approx((1.5, 60))
    assert credits[("position_based", "display")] == pytest.approx((0.1, 10))
    assert credits[("time_decay", "display")] == pytest.approx((0.25, 25))  # no decay: linear


def test_heuristics_keep_campaigns_and_a_daily_grain(con):
    build_journeys(con, "touchpoints", "conversions", DS, view_window_days=7)
    frame = heuristic_credits(con, DS)
    assert list(frame.columns) == ["model", "channel", "campaign_id", "conversions", "value"]
    assert set(frame.loc[frame["channel"] == "search", "campaign_id"]) == {"s1"}
    daily = heuristic_credits(con, DS, daily=True)
    first = daily[(daily["model"] == "first_touch") & (daily["channel"] == "search")]
    assert sorted(pd.to_datetime(first["conversion_date"]).dt.strftime("%m-%d")) == ["01-15", "01-30"]


def test_exposures_give_one_row_per_journey_with_outcome(con):
    build_journeys(con, "touchpoints", "conversions", DS, view_window_days=7)
    wide = exposures_from_journeys(con, DS).set_index(["person_id", "journey_no"])
    assert len(wide) == 6
    channels = ["direct", "display", "email", "search", "social", "video"]
    assert list(wide.columns) == [*channels, "exposures", "clicks", "converted", "value"]
    assert wide.loc[("p2", 1), channels].tolist() == [2, 0, 0, 0, 0, 0]
    assert bool(wide.loc[("p2", 1), "converted"])
    assert wide.loc[("p1", 1), ["exposures", "clicks", "value"]].tolist() == [4, 3, 100]
    assert not wide.loc[("p1", 2), "converted"]
    assert wide.loc[("p1", 2), "social"] == 1


def test_roas_and_cpa_per_channel_and_campaign(con):
    build_journeys(con, "touchpoints", "conversions", DS, view_window_days=7)
    con.register("credits", heuristic_credits(con, DS))
    frame = channel_roas(con, DS, "credits", "spend")
    linear = frame[frame["model"] == "linear"]
    search = linear[(linear["channel"] == "search") & (linear["campaign_id"] == "s1")].iloc[0]
    assert (search.spend, search.conversions, search.value) == pytest.approx((50, 1.25, 35))
    assert search.roas == pytest.approx(35 / 50)
    assert search.cpa == pytest.approx(50 / 1.25)
    display_total = linear[(linear["channel"] == "display") & linear["campaign_id"].isna()].iloc[0]
    assert display_total.spend == 40  # December's 1000 is outside the window
    social = linear[(linear["channel"] == "social") & linear["campaign_id"].isna()].iloc[0]
    assert social.conversions == 0
    assert math.isnan(social.cpa)
    assert social.roas == 0
    direct = linear[(linear["channel"] == "direct")]
    assert len(direct) == 1
    assert direct.iloc[0].value == 75


def test_roas_cpa_on_frames_counts_channel_level_credits_in_channel_totals():
    credits = pd.DataFrame(
        {
            "model": ["markov_1"],
            "channel": ["search"],
            "campaign_id": [None],
            "conversions": [4.0],
            "value": [80.0],
        }
    )
    spend = pd.DataFrame(
        {
            "date": pd.to_datetime(["2024-01-30", "2024-01-31"]).date,
            "campaign_id": ["s1", "s2"],
            "channel": ["search", "search"],
            "publisher_id": ["p", "p"],
            "spend": [10.0, 30.0],
        }
    )
    frame = roas_cpa(credits, spend, DS)
    total = frame[frame["campaign_id"].isna()].iloc[0]
    assert (total.spend, total.conversions, total.roas, total.cpa) == pytest.approx((40, 4, 2, 10))
    assert set(frame["campaign_id"].dropna()) == {"s1", "s2"}


def test_daily_response_data_pairs_spend_with_attributed_conversions(con):
    build_journeys(con, "touchpoints", "conversions", DS, view_window_days=7)
    daily = daily_response_data(con, DS, "spend", history_days=30, model="linear")
    assert set(daily["channel"]) == {"search", "display", "social"}
    on_15th = daily[daily["date"] == "2024-01-15"].set_index("channel")
    assert on_15th.loc["display", "spend"] == 40
    assert on_15th.loc["display", "conversions"] == pytest.approx(0.25)
    assert on_15th.loc["search", "spend"] == 0
    assert on_15th.loc["search", "conversions"] == pytest.approx(0.25)


def test_the_public_api_composes_end_to_end(con):
    paths = journeys_from_touchpoints(con, "touchpoints", "conversions", DS, view_window_days=7)
    credits = pd.concat([heuristic_credits(con, DS), path_models(paths)], ignore_index=True)
    assert list(credits.columns) == CREDIT_COLUMNS
    assert set(credits["model"]) >= {"linear", "markov_1", "markov_2", "markov_3", "shapley"}
    totals = credits.groupby("model")["conversions"].sum()
    assert totals.to_numpy() == pytest.approx([4.0] * len(totals))
    lift = incrementality(exposures_from_journeys(con, DS), n_bootstrap=5)
    assert len(lift) == 6
    roas = roas_cpa(pd.concat([credits, lift[CREDIT_COLUMNS]]), con.execute("SELECT * FROM spend").df(), DS)
    assert {"incrementality", "markov_1"} <= set(roas["model"])
