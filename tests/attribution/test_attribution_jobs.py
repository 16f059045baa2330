"""The media attribution jobs (``attribute``, ``plan_budget``) on a small generated world, run through
hygiene and identity resolution, and the touchpoint / conversion SQL on hand-built tables."""

from __future__ import annotations

import json

import duckdb
import pandas as pd
import pyarrow as pa
import pytest
import sqlglot

from adplan import sqlfiles
from adplan.attribution.jobs import (
    ATTRIBUTION_MODELS,
    BUDGET_TABLE,
    CREDITS_TABLE,
    HEURISTIC_MODELS,
    INCREMENTALITY_TABLE,
    PATH_MODELS,
    ROAS_TABLE,
    MissingInputError,
    attribute,
    model_scale,
    parse_models,
    plan_budget,
    prepare_inputs,
)
from adplan.lake import Lake
from adplan.settings import get_settings
from adplan.warehouse import Warehouse

DS = "2026-11-28"
LATER_DS = "2026-11-29"  # reads the same (latest on or before) partitions; used for extra runs
SOURCES = (
    "crm_customers",
    "orders",
    "publisher_audience",
    "identity_events",
    "ad_impressions",
    "ad_clicks",
    "spend",
)
TABLES = (CREDITS_TABLE, INCREMENTALITY_TABLE, ROAS_TABLE, BUDGET_TABLE)
ATTRIBUTE_PARAMS = {  # as Airflow renders them: strings
    "models": "all",
    "lookback_days": "30",
    "click_window_days": "",
    "view_window_days": "None",
    "n_bootstrap": "20",
    "unused_param": "ignored",
}
BUDGET_PARAMS = {
    "total_budget": "",
    "flight_days": "14",
    "model": "incrementality",
    "min_share": "0.05",
    "max_share": "0.4",
    "n_bootstrap": "20",
}


def read_tables(lake: Lake, ds: str = DS) -> dict[str, pd.DataFrame]:
    return {table: pd.read_parquet(lake.partition_file("analytics", table, ds)) for table in TABLES}


@pytest.fixture(scope="module")
def world(tmp_path_factory, resolved_world):
    home = tmp_path_factory.mktemp("attribution-world")
    patch = pytest.MonkeyPatch()
    patch.setenv("ADPLAN_HOME", str(home))
    get_settings.cache_clear()
    try:
        resolved_world(home, DS, people=1500, days=14, seed=7, sources=SOURCES)
        lake = Lake.from_settings()
        first = {"attribute": attribute(DS, **ATTRIBUTE_PARAMS), "budget": plan_budget(DS, **BUDGET_PARAMS)}
        first_tables = read_tables(lake)
        second = {"attribute": attribute(DS, **ATTRIBUTE_PARAMS), "budget": plan_budget(DS, **BUDGET_PARAMS)}
        yield {
            "home": home,
            "lake": lake,
            "summary": first["attribute"],
            "budget": first["budget"],
            "rerun": second,
            "first_tables": first_tables,
            "tables": read_tables(lake),
        }
    finally:
        patch.undo()
        get_settings.cache_clear()


def test_every_table_has_a_partition_for_ds_in_the_catalog(world):
    lake: Lake = world["lake"]
    for table in TABLES:
        assert lake.partitions("analytics", table) == [DS], table
    catalog = duckdb.connect(str(world["home"] / "warehouse.duckdb"), read_only=True)
    try:
        for table in TABLES:
            rows = catalog.execute(f"SELECT count(*) FROM {table} WHERE dt = ?", [DS]).fetchall()[0][0]
            assert rows == len(world["tables"][table]) > 0, table
    finally:
        catalog.close()


def test_summary_counts_are_consistent_and_serializable(world):
    summary = world["summary"]
    json.dumps(summary)
    assert summary["touchpoints"] + summary["touchpoints_without_person"] == summary["touchpoints_read"]
    assert summary["touchpoints_without_person"] > 0  # the world has devices no identity event links
    assert summary["conversions"] + summary["conversions_without_person"] == summary["conversions_read"]
    assert 0 < summary["attributed_conversions"] <= summary["conversions_in_window"]
    assert summary["unattributed_conversions"] == (
        summary["conversions_in_window"] - summary["attributed_conversions"]
    )
    assert summary["models"] == [*ATTRIBUTION_MODELS, "incrementality"]
    assert summary["windows"] == {
        "lookback_days": 30,
        "click_window_days": None,
        "view_window_days": None,
        "analysis_days": 30,
    }
    assert summary["notes"] == []


def test_credits_of_every_model_sum_to_the_attributed_conversions(world):
    credits = world["tables"][CREDITS_TABLE]
    summary = world["summary"]
    assert set(credits["model"]) == set(ATTRIBUTION_MODELS)
    totals = credits.groupby("model")[["conversions", "value"]].sum()
    assert totals["conversions"].to_numpy() == pytest.approx(
        [summary["attributed_conversions"]] * len(totals), rel=1e-9
    )
    assert totals["value"].to_numpy() == pytest.approx([summary["attributed_value"]] * len(totals), abs=0.01)
    assert set(credits["channel"]) == set(summary["channels"])


def test_heuristics_credit_campaigns_and_path_models_credit_channels(world):
    credits = world["tables"][CREDITS_TABLE]
    heuristic = credits[credits["model"].isin(HEURISTIC_MODELS)]
    assert heuristic["campaign_id"].notna().all()
    assert set(heuristic["credit_level"]) == {"campaign"}
    assert heuristic["removal_effect"].isna().all()
    path = credits[credits["model"].isin(PATH_MODELS)]
    assert path["campaign_id"].isna().all()
    assert set(path["credit_level"]) == {"channel"}
    assert not path.duplicated(["model", "channel"]).any()
    markov = path[path["model"].str.startswith("markov_")]
    assert (markov["removal_effect"].between(0, 1)).all()
    assert set(markov["model"]) == {"markov_1", "markov_2", "markov_3"}
    assert "shapley" in set(path["model"])


def test_incrementality_shares_intervals_and_baseline(world):
    lift = world["tables"][INCREMENTALITY_TABLE]
    assert sorted(lift["channel"]) == world["summary"]["channels"]
    assert lift["share"].sum() == pytest.approx(1.0)
    assert (lift["ci_low"] <= lift["incremental_conversions"] + 1e-9).all()
    assert (lift["incremental_conversions"] <= lift["ci_high"] + 1e-9).all()
    assert set(lift["unit"]) == {"person"}
    # The intercept is not penalized, so the fitted model reproduces the observed conversions:
    # baseline + incremental = observed.
    observed = lift["observed_conversions"].iloc[0]
    assert observed == world["summary"]["attributed_conversions"]
    assert lift["baseline_conversions"].iloc[0] + lift["incremental_conversions"].sum() == pytest.approx(
        observed, rel=1e-6
    )


def test_roas_per_model_uses_the_spend_of_the_window(world):
    roas = world["tables"][ROAS_TABLE]
    assert set(roas["model"]) == {*ATTRIBUTION_MODELS, "incrementality"}
    con = Warehouse(world["lake"], world["home"] / "warehouse.duckdb").connect()
    spend = dict(
        con.execute(
            f"""SELECT channel, sum(spend)::DOUBLE FROM curated_spend
                WHERE dt = '{DS}' AND date > DATE '{DS}' - INTERVAL 30 DAY AND date <= DATE '{DS}'
                GROUP BY channel"""
        ).fetchall()
    )
    totals = roas[roas["campaign_id"].isna()]
    for row in totals.itertuples():
        assert row.spend == pytest.approx(spend.get(row.channel, 0.0)), (row.model, row.channel)
        if row.spend > 0:
            assert row.roas == pytest.approx(row.value / row.spend)
        if row.conversions > 0:
            assert row.cpa == pytest.approx(row.spend / row.conversions)
    # channel-level models have channel totals only; heuristics also have campaign rows
    assert roas.loc[roas["model"].isin([*PATH_MODELS, "incrementality"]), "campaign_id"].isna().all()
    assert roas.loc[roas["model"] == "linear", "campaign_id"].notna().any()
    credits = world["tables"][CREDITS_TABLE]
    linear = credits[credits["model"] == "linear"].groupby("channel")["conversions"].sum()
    linear_roas = totals[totals["model"] == "linear"].set_index("channel")["conversions"]
    assert linear_roas.reindex(linear.index).to_numpy() == pytest.approx(linear.to_numpy())


def test_budget_respects_total_and_share_bounds(world):
    budget = world["tables"][BUDGET_TABLE]
    summary = world["budget"]
    channels = budget[budget["channel"] != "TOTAL"]
    total = budget[budget["channel"] == "TOTAL"].iloc[0]
    assert budget["channel"].iloc[-1] == "TOTAL"
    # total_budget "" -> the spend of the last flight (14 days)
    assert summary["total_budget"] == pytest.approx(channels["current_spend"].sum(), abs=0.01)
    assert channels["recommended_spend"].sum() == pytest.approx(summary["total_budget"], rel=1e-9)
    assert total["recommended_spend"] == pytest.approx(channels["recommended_spend"].sum())
    assert total["current_spend"] == pytest.approx(channels["current_spend"].sum())
    budget_total = channels["recommended_spend"].sum()
    assert (channels["recommended_spend"] >= 0.05 * budget_total - 1e-6).all()
    assert (channels["recommended_spend"] <= 0.4 * budget_total + 1e-6).all()
    assert (channels["ci_low"] <= channels["ci_high"]).all()
    assert total["ci_low"] <= total["expected_conversions"] <= total["ci_high"]
    assert set(budget["model"]) == {"incrementality"}
    assert set(budget["flight_days"]) == {14}
    assert summary["recommended_spend"] == {
        row.channel: pytest.approx(row.recommended_spend, abs=0.01) for row in channels.itertuples()
    }


def test_budget_with_a_heuristic_model_and_a_given_budget(world):
    result = plan_budget(LATER_DS, total_budget="1000", flight_days=7, model="linear", n_bootstrap=5)
    budget = pd.read_parquet(world["lake"].partition_file("analytics", BUDGET_TABLE, LATER_DS))
    assert result["total_budget"] == 1000
    channels = budget[budget["channel"] != "TOTAL"]
    assert channels["recommended_spend"].sum() == pytest.approx(1000)
    assert (channels["recommended_spend"] <= 0.6 * 1000 + 1e-6).all()
    with pytest.raises(ValueError, match="max_share"):
        plan_budget(LATER_DS, total_budget=1000, model="linear", max_share=0.1, n_bootstrap=5)
    with pytest.raises(ValueError, match="one model"):
        plan_budget(LATER_DS, model="linear,last_touch")


def test_outputs_hold_no_personal_data(world):
    truth = pd.read_parquet(world["home"] / "ground_truth" / "people.parquet")
    graph = pd.read_parquet(world["lake"].partition_file("curated", "identity_graph", DS))
    personal = set()
    for column in ("email", "email_sha256", "phone_e164", "phone_sha256", "work_email"):
        personal |= set(truth[column].dropna().astype(str))
    personal |= set(graph["person_id"]) | set(graph["record_id"])
    for table, frame in world["tables"].items():
        for column in frame.columns:
            assert not any(word in column for word in ("email", "phone", "person", "device", "cookie")), (
                table,
                column,
            )
            if frame[column].dtype == object:
                assert not set(frame[column].dropna().astype(str)) & personal, (table, column)
    summary_text = json.dumps([world["summary"], world["budget"]])
    assert not any(value in summary_text for value in personal if len(value) > 8)


def test_a_rerun_replaces_the_partitions_with_identical_tables(world):
    for table in TABLES:
        pd.testing.assert_frame_equal(world["first_tables"][table], world["tables"][table], check_exact=True)
        assert len(list(world["lake"].partition_dir("analytics", table, DS).iterdir())) == 1
    assert world["rerun"]["attribute"] == world["summary"]


def test_selected_models_only_and_empty_incrementality(world):
    summary = attribute(LATER_DS, models="linear,markov1,last_non_direct")
    assert summary["models"] == ["last_non_direct_click", "linear", "markov_1"]
    lake: Lake = world["lake"]
    credits = pd.read_parquet(lake.partition_file("analytics", CREDITS_TABLE, LATER_DS))
    assert set(credits["model"]) == {"last_non_direct_click", "linear", "markov_1"}
    lift = pd.read_parquet(lake.partition_file("analytics", INCREMENTALITY_TABLE, LATER_DS))
    assert lift.empty
    assert list(lift.columns)[:6] == [
        "channel",
        "incremental_conversions",
        "incremental_value",
        "share",
        "ci_low",
        "ci_high",
    ]
    # plan_budget computes the model it plans with itself, whatever attribute ran
    plan = plan_budget(LATER_DS, model="shapley", total_budget=500, n_bootstrap=5)
    assert plan["model"] == "shapley"
    assert sum(plan["recommended_spend"].values()) == pytest.approx(500, abs=0.05)


def test_budget_scales_daily_credits_as_attribute_credits_the_model(world):
    """A channel-level model's curves scale the daily linear credits by that model's totals over
    linear's: the same totals attribute wrote for the date."""
    tables = world["tables"]
    credits = tables[CREDITS_TABLE]
    linear = credits[credits["model"] == "linear"].groupby("channel")["conversions"].sum()
    con = Warehouse(world["lake"], world["home"] / "warehouse.duckdb").connect()
    try:
        windows = {"lookback_days": 30, "click_window_days": None, "view_window_days": None}
        prepare_inputs(con, DS, history_days=61)
        incremental = model_scale(con, DS, "incrementality", {**windows, "analysis_days": None})
        markov = model_scale(con, DS, "markov_2", {**windows, "analysis_days": None})
    finally:
        con.close()
    lift = tables[INCREMENTALITY_TABLE].set_index("channel")["incremental_conversions"]
    assert incremental == pytest.approx((lift / linear).to_dict(), abs=1e-6)
    markov_2 = credits[credits["model"] == "markov_2"].set_index("channel")["conversions"]
    assert markov == pytest.approx((markov_2 / linear).to_dict(), abs=1e-6)


def test_missing_inputs_name_the_tables(tmp_path, monkeypatch):
    monkeypatch.setenv("ADPLAN_HOME", str(tmp_path))
    get_settings.cache_clear()
    try:
        with pytest.raises(MissingInputError, match="curated_ad_impressions"):
            attribute(DS)
    finally:
        get_settings.cache_clear()


def test_parameters_are_checked():
    assert parse_models("all") == (*ATTRIBUTION_MODELS, "incrementality")
    assert parse_models("markov, shapley") == ("markov_1", "markov_2", "markov_3", "shapley")
    assert parse_models(["heuristics"]) == HEURISTIC_MODELS
    with pytest.raises(ValueError, match="unknown model 'nope'"):
        parse_models("linear,nope")
    with pytest.raises(ValueError, match="lookback_days must be an integer"):
        attribute(DS, lookback_days="thirty")
    with pytest.raises(ValueError, match="incrementality_unit"):
        attribute(DS, incrementality_unit="household")
    with pytest.raises(ValueError, match="ds must be a date"):
        attribute("2026-11-28'; DROP TABLE x; --")
    with pytest.raises(ValueError, match="min_share"):
        plan_budget(DS, min_share="0.7", max_share="0.6")


# --- touchpoints.sql and conversions.sql on hand-built tables ------------------------------------------


def _table(con: duckdb.DuckDBPyConnection, name: str, rows: list[tuple], columns: list[str]) -> None:
    frame = pd.DataFrame(rows, columns=columns)
    for column in ("ts", "order_ts"):
        if column in frame:
            frame[column] = pd.to_datetime(frame[column])
    frame["source_file"] = "f.csv"
    frame["source_row"] = range(len(frame))
    con.register(f"{name}_frame", pa.Table.from_pandas(frame, preserve_index=False))
    con.execute(f"CREATE TABLE {name} AS SELECT * FROM {name}_frame")


@pytest.fixture
def small_lake() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    graph = ["source", "record_id", "person_id", "dt"]
    _table(
        con,
        "identity_graph",
        [
            ("ad_devices", "d1", "OLD", "2026-11-27"),  # an older graph: superseded
            ("ad_devices", "d1", "P1", DS),
            ("ad_cookies", "k2", "P2", DS),
            ("ad_devices", "d3", "P3", DS),
            ("ad_cookies", "k3", "P2", DS),
            ("orders", "o1", "P1", DS),
            ("crm_customers", "c2", "P2", DS),
            ("ad_devices", "d9", "FUTURE", "2026-11-29"),  # a graph after ds: ignored
        ],
        graph,
    )
    events = ["ts", "campaign_id", "creative_id", "channel", "publisher_id", "device_id", "cookie_id", "dt"]
    _table(
        con,
        "curated_ad_impressions",
        [
            ("i1", "2026-11-20 10:00", "C1", "CR1", "display", "PB1", "d1", "k9", "2026-11-27"),
            ("i1", "2026-11-20 10:00", "C1", "CR1", "video", "PB1", "d1", "k9", DS),  # redelivered
            ("i2", "2026-11-21 10:00", "C2", "CR2", "social", "PB2", "dX", "k2", DS),  # by cookie
            ("i3", "2026-11-22 10:00", "C2", "CR2", "social", "PB2", "d3", "k3", DS),  # device first
            ("i4", "2026-11-23 10:00", "C3", "CR3", "search", "PB3", "dZ", "kZ", DS),  # nobody
            ("i5", "2026-11-24 10:00", "C3", "CR3", "search", "PB3", "d1", None, DS),  # clicked
            ("i6", "2026-11-29 10:00", "C3", "CR3", "search", "PB3", "d1", None, DS),  # after ds
            ("i7", "2026-11-24 10:00", "C3", "CR3", "search", "PB3", "d9", None, DS),  # future graph
        ],
        ["impression_id", *events],
    )
    _table(
        con,
        "curated_ad_clicks",
        [("c1", "i5", "2026-11-24 10:00:05", "C3", "CR3", "search", "PB3", "d1", None, DS)],
        ["click_id", "impression_id", *events],
    )
    _table(
        con,
        "curated_orders",
        [
            ("o1", "c1", "ann@example.com", "2026-11-25 09:00", 10.0, "USD", "web", "2026-11-27"),
            ("o1", "c1", "ann@example.com", "2026-11-25 09:00", 12.5, "USD", "web", DS),  # corrected
            ("o2", "c2", "bob@example.com", "2026-11-26 09:00", 20.0, "USD", "app", DS),  # by CRM id
            ("o3", "c7", "eve@example.com", "2026-11-26 10:00", 30.0, "USD", "web", DS),  # nobody
            ("o4", "c1", "ann@example.com", "2026-11-29 09:00", 40.0, "USD", "web", DS),  # after ds
        ],
        ["order_id", "customer_id", "email", "order_ts", "order_value", "currency", "sales_channel", "dt"],
    )
    yield con
    con.close()


def _run(con, name: str, params: dict) -> pd.DataFrame:
    athena = sqlfiles.render(f"attribution/{name}.sql", DS, params)
    sqlglot.parse_one(athena, read="trino")
    return con.execute(sqlfiles.to_duckdb(athena)).df()


def test_touchpoints_resolve_device_then_cookie_and_count_a_click_once(small_lake):
    touches = _run(small_lake, "touchpoints", {})
    got = sorted(
        zip(
            touches["touchpoint_id"],
            touches["person_id"],
            touches["channel"],
            touches["event_type"],
            strict=True,
        )
    )
    assert got == [
        ("c1", "P1", "search", "click"),  # replaces its impression i5
        ("i1", "P1", "video", "impression"),  # the latest delivery, the latest graph
        ("i2", "P2", "social", "impression"),  # the cookie's person
        ("i3", "P3", "social", "impression"),  # the device's person, not the cookie's
    ]
    assert list(touches.columns) == [
        "person_id",
        "ts",
        "channel",
        "campaign_id",
        "creative_id",
        "publisher_id",
        "event_type",
        "touchpoint_id",
    ]
    everything = _run(
        small_lake, "touchpoints", {"keep_unresolved": True, "clicks_replace_impressions": False}
    )
    unresolved = everything[everything["person_id"].isna()]
    assert sorted(unresolved["touchpoint_id"]) == ["i4", "i7"]
    assert "i5" in set(everything["touchpoint_id"])
    recent = _run(small_lake, "touchpoints", {"history_days": 5})  # from 2026-11-24 00:00
    assert sorted(recent["touchpoint_id"]) == ["c1"]


def test_conversions_resolve_order_then_customer_and_keep_no_contact_data(small_lake):
    orders = _run(small_lake, "conversions", {})
    assert list(orders.columns) == ["person_id", "ts", "value", "order_id", "currency", "sales_channel"]
    got = sorted(zip(orders["order_id"], orders["person_id"], orders["value"], strict=True))
    assert got == [("o1", "P1", 12.5), ("o2", "P2", 20.0)]
    everything = _run(small_lake, "conversions", {"keep_unresolved": True, "sales_channels": ["web"]})
    assert sorted(everything["order_id"]) == ["o1", "o3"]
