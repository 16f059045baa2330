"""The KPI marts on the hand-made lake: every figure below is checked by hand (see insights_world)."""

from __future__ import annotations

import pytest
from insights_world import DS, write_world

from adplan.insights import jobs
from adplan.warehouse import Warehouse


def mart(name: str) -> list[dict]:
    con = Warehouse.from_settings().connect()
    try:
        relation = con.sql(f"SELECT * EXCLUDE (dt) FROM {name} WHERE dt = '{DS}'")
        return [dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()]
    finally:
        con.close()


def by_key(rows: list[dict], *keys: str) -> dict:
    return {tuple(str(row[k]) for k in keys): row for row in rows}


def test_build_marts_kpi_arithmetic(world):
    summary = jobs.build_marts(DS)
    assert summary["tables"] == {"campaign_kpis_daily": 3, "campaign_pacing": 3, "reach_frequency": 2}
    assert summary["credited_conversions"] == summary["allocated_conversions"] == 3.0
    rows = by_key(mart("campaign_kpis_daily"), "date", "campaign_id")
    assert set(rows) == {("2026-03-09", "C1"), ("2026-03-10", "C1"), ("2026-03-10", "C2")}

    first = rows[("2026-03-09", "C1")]
    assert (first["advertiser_id"], first["channel"], first["publisher_id"], first["creative_id"]) == (
        "ADV1",
        "search",
        "PUB1",
        "CR1",  # the stale CR_OLD version of i1 is gone
    )
    assert (first["impressions"], first["clicks"]) == (4, 1)
    assert first["ctr"] == pytest.approx(0.25)
    assert first["spend"] == pytest.approx(2.0)
    assert first["cpm"] == pytest.approx(500.0)  # 2.00 * 1000 / 4
    assert first["cpc"] == pytest.approx(2.0)
    # C1/search: 2 linear conversions worth 20, split by clicks (1 of 2 on each day)
    assert first["conversions"] == pytest.approx(1.0)
    assert first["revenue"] == pytest.approx(10.0)
    assert first["cpa"] == pytest.approx(2.0)
    assert first["roas"] == pytest.approx(5.0)

    second = rows[("2026-03-10", "C1")]
    assert (second["impressions"], second["clicks"]) == (2, 1)  # the impression after ds does not count
    assert second["cpm"] == pytest.approx(500.0)
    assert second["cpc"] == pytest.approx(1.0)
    assert second["roas"] == pytest.approx(10.0)

    display = rows[("2026-03-10", "C2")]
    assert (display["impressions"], display["clicks"], display["ctr"]) == (4, 0, 0.0)
    assert display["cpm"] == pytest.approx(1000.0)
    assert display["cpc"] is None  # no click: no cost per click
    assert display["conversions"] == pytest.approx(1.0)  # no clicks: allocated by impressions
    assert display["roas"] == pytest.approx(3.0)
    assert display["cpa"] == pytest.approx(4.0)
    assert {r["model"] for r in rows.values()} == {"linear"}


def test_model_parameter_and_missing_credits(lake):
    write_world(lake, credits=True)
    jobs.build_marts(DS, model="last_touch")
    rows = mart("campaign_kpis_daily")
    assert sum(r["conversions"] for r in rows) == pytest.approx(1.0)
    assert sum(r["revenue"] for r in rows) == pytest.approx(5.0)
    with pytest.raises(ValueError, match="invalid attribution model"):
        jobs.build_marts(DS, model="linear' OR 1=1 --")


def test_without_credits_or_identity_graph(lake):
    write_world(lake, credits=False, identity=False)
    summary = jobs.build_marts(DS)
    assert set(summary["tables"]) == {"campaign_kpis_daily", "campaign_pacing"}
    assert any("attribution_credits" in note for note in summary["notes"])
    assert any("reach_frequency skipped" in note for note in summary["notes"])
    rows = mart("campaign_kpis_daily")
    assert sum(r["conversions"] for r in rows) == 0
    assert all(r["roas"] == 0 for r in rows)


def test_missing_delivery_is_an_error(lake):
    with pytest.raises(RuntimeError, match="curated_"):
        jobs.build_marts(DS)


def test_pacing_projection_and_alerts(world):
    jobs.build_marts(DS)
    rows = by_key(mart("campaign_pacing"), "campaign_id", "channel")
    c1 = rows[("C1", "search")]
    # 20-day flight from 03-01; by the end of 03-10, 10 days elapsed: plan to date 100 * 10/20 = 50
    assert (c1["flight_days"], c1["elapsed_days"], c1["status"]) == (20, 10, "in_flight")
    assert c1["planned_spend_to_date"] == pytest.approx(50.0)
    assert c1["actual_spend"] == pytest.approx(3.0)
    assert c1["pacing_ratio"] == pytest.approx(0.06)
    assert c1["projected_spend"] == pytest.approx(6.0)  # 3 + 0.3 a day x 10 days left
    assert c1["planned_impressions_to_date"] == pytest.approx(1000.0)
    assert c1["actual_impressions"] == 6
    assert c1["projected_impressions"] == pytest.approx(12.0)

    c2 = rows[("C2", "display")]
    assert (c2["elapsed_days"], c2["status"]) == (1, "in_flight")
    assert c2["pacing_ratio"] == pytest.approx(1.0)
    assert c2["projected_spend"] == pytest.approx(8.0)

    c3 = rows[("C3", "social")]
    assert (c3["status"], c3["pacing_ratio"], c3["projected_spend"]) == ("not_started", None, 0)

    alerts = jobs.pacing_alerts(DS, threshold="0.2")
    assert alerts["checked"] == 2
    assert [(a["campaign_id"], a["direction"]) for a in alerts["alerts"]] == [("C1", "under")]
    assert alerts["alerts"][0]["pacing_ratio"] == pytest.approx(0.06)
    assert jobs.pacing_alerts(DS, threshold=0.95)["count"] == 0


def test_pacing_alerts_without_built_marts(world):
    # the mart is computed in memory when it was not built for ds
    assert jobs.pacing_alerts(DS)["count"] == 1


def test_reach_and_frequency_through_the_identity_graph(world):
    jobs.build_marts(DS)
    rows = by_key(mart("reach_frequency"), "campaign_id")
    c1 = rows[("C1",)]
    # d1 x3 and d2 -> P1 (4 exposures); d3 and cookie k1 (unknown device dX) -> P2 (2)
    assert (c1["advertiser_id"], c1["impressions"], c1["unresolved_impressions"]) == ("ADV1", 6, 0)
    assert c1["reach"] == 2
    assert c1["avg_frequency"] == pytest.approx(3.0)
    assert (c1["freq_1"], c1["freq_2"], c1["freq_3_5"], c1["freq_6_10"], c1["freq_11_plus"]) == (
        0,
        1,
        1,
        0,
        0,
    )
    assert c1["max_frequency"] == 4
    c2 = rows[("C2",)]
    assert (c2["impressions"], c2["unresolved_impressions"], c2["reach"], c2["freq_2"]) == (4, 2, 1, 1)
    assert c2["avg_frequency"] == pytest.approx(2.0)


def test_rerun_replaces_the_partition(world):
    jobs.build_marts(DS)
    jobs.build_marts(DS)
    assert len(mart("campaign_kpis_daily")) == 3
