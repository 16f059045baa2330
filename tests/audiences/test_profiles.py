"""Profiles: the SQL's per-person figures on a world small enough to check by hand, and the model
outputs on the synthetic world."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from adplan.audiences import profiles
from adplan.audiences.profiles import quantile_scores

DS = "2026-11-28"
DEVICE = "6f1c2a4e-0b3d-4c5e-9f7a-1b2c3d4e5f60"


@pytest.fixture(scope="module")
def micro(segments_config):
    """Three people: A (two CRM records, three orders on two days, ads on a device), B (two orders today,
    one of them a guest order found through the CRM id), C (a publisher-only prospect seen on a cookie)."""
    con = duckdb.connect()
    con.execute(
        f"""
        CREATE TABLE identity_graph AS SELECT *, NULL AS match_rule, NULL::DOUBLE AS confidence, '{DS}' AS dt
        FROM (VALUES ('crm_customers', 'C1', 'A'), ('crm_customers', 'C2', 'A'), ('crm_customers', 'C3', 'B'),
                     ('orders', 'O1', 'A'), ('orders', 'O2', 'A'), ('orders', 'O3', 'A'), ('orders', 'O4', 'B'),
                     ('publisher_audience', 'R1', 'A'), ('publisher_audience', 'R2', 'C'),
                     ('ad_devices', '{DEVICE}', 'A'), ('ad_devices', 'ck1', 'C')) AS g(source, record_id, person_id);
        CREATE TABLE curated_orders AS
        SELECT order_id, customer_id, NULL AS email_sha256, NULL AS phone_sha256, CAST(ts AS TIMESTAMP) AS order_ts,
               value AS order_value, 'USD' AS currency, 'web' AS sales_channel, dt
        FROM (VALUES
            ('O1', 'C1', '2026-01-10 09:00:00', 100.0, '{DS}'),
            ('O2', NULL, '2026-01-10 18:00:00', 50.0, '{DS}'),
            ('O3', 'C1', '2026-06-01 12:00:00', 30.0, '{DS}'),
            ('O4', 'C3', '2026-11-28 01:00:00', 70.0, '2026-11-27'),   -- an older delivery of O4 ...
            ('O4', 'C3', '2026-11-28 01:00:00', 80.0, '{DS}'),         -- ... replaced by the latest
            ('O5', 'C3', '2026-11-28 23:00:00', 20.0, '{DS}'),         -- guest order, not in the graph
            ('O6', 'C3', '2026-11-29 08:00:00', 999.0, '{DS}'),        -- after ds: ignored
            ('O7', 'C1', '2026-11-29 08:00:00', 999.0, '2026-11-29')   -- a later delivery: ignored
        ) AS o(order_id, customer_id, ts, value, dt);
        CREATE TABLE curated_crm_customers AS
        SELECT customer_id, 'x' AS first_name, 'y' AS last_name, NULL AS email, sha256(customer_id) AS email_sha256,
               true AS email_valid, NULL AS phone, NULL AS phone_sha256, NULL AS address_line1, NULL AS city, state,
               NULL AS postal_code, 'US' AS country, CAST(dob AS DATE) AS date_of_birth,
               CAST(signup AS DATE) AS signup_date, true AS consent_email, consent_ads, dt
        FROM (VALUES
            ('C1', 'NY', '1990-11-29', '2025-01-01', true, '{DS}'),
            ('C2', 'CA', '1990-11-29', '2025-06-01', false, '{DS}'),   -- A withdrew consent on a newer record
            ('C3', 'TX', '2000-01-01', '2025-03-01', true, '{DS}'),
            ('C3', 'TX', '2000-01-01', '2025-03-01', false, '2026-11-01') -- an older snapshot: ignored
        ) AS c(customer_id, state, dob, signup, consent_ads, dt);
        CREATE TABLE curated_publisher_audience AS
        SELECT 'PUB1' AS publisher_id, audience_record_id, NULL AS email_sha256, NULL AS phone_sha256, NULL AS maid,
               NULL AS maid_sha256, interests, age_band, 'west' AS region, DATE '2026-01-01' AS first_seen, '{DS}' AS dt
        FROM (VALUES ('R1', 'Travel; outdoors;;travel', '35-44'), ('R2', 'gaming', '18-24'))
            AS p(audience_record_id, interests, age_band);
        CREATE TABLE curated_ad_impressions AS
        SELECT 'I' || CAST(n AS VARCHAR) AS impression_id, CAST(ts AS TIMESTAMP) AS ts, 'CMP' AS campaign_id,
               'CR' AS creative_id, channel, 'PUB1' AS publisher_id, device_id, cookie_id, '{DS}' AS dt
        FROM (VALUES
            (1, '2026-11-01 10:00:00', 'social', '{DEVICE}', NULL), (2, '2026-11-02 10:00:00', 'social', '{DEVICE}', NULL),
            (3, '2026-11-03 10:00:00', 'social', '{DEVICE}', 'ck9'), (4, '2026-11-20 10:00:00', 'search', '{DEVICE}', NULL),
            (5, '2026-11-10 10:00:00', 'display', NULL, 'ck1'), (6, '2026-11-11 10:00:00', 'display', NULL, 'ck1'),
            (7, '2026-11-11 10:00:00', 'video', NULL, 'unknown')
        ) AS i(n, ts, channel, device_id, cookie_id);
        CREATE TABLE curated_ad_clicks AS
        SELECT 'K1' AS click_id, 'I3' AS impression_id, TIMESTAMP '2026-11-03 10:00:05' AS ts, 'CMP' AS campaign_id,
               'CR' AS creative_id, 'social' AS channel, 'PUB1' AS publisher_id, '{DEVICE}' AS device_id,
               NULL AS cookie_id, '{DS}' AS dt;
        """
    )
    summary = profiles.build_profiles_table(con, DS, segments_config)
    rows = con.execute(f"SELECT * FROM {profiles.PROFILES_TABLE} ORDER BY person_id").df()
    return summary, {row["person_id"]: row for row in rows.to_dict("records")}


def test_order_figures(micro):
    _, people = micro
    a, b, c = people["A"], people["B"], people["C"]
    assert (a["orders"], a["purchase_days"], a["frequency"]) == (3, 2, 1)
    assert (a["recency_days"], a["tenure_days"], a["t_x_days"]) == (180, 322, 142)
    assert (a["total_revenue"], a["avg_order_value"], a["repeat_avg_value"]) == (180.0, 60.0, 30.0)
    # B: the latest version of O4 (80) and the guest order O5 found through its CRM id; O6 is after ds
    assert (b["orders"], b["purchase_days"], b["recency_days"], b["total_revenue"]) == (2, 1, 0, 100.0)
    assert pd.isna(b["repeat_avg_value"])
    assert not c["is_customer"]
    assert c["orders"] == 0
    assert pd.isna(c["recency_days"])


def test_lifecycle_and_scores(micro):
    _, people = micro
    assert [people[p]["lifecycle"] for p in "ABC"] == ["active", "new", "prospect"]
    assert (people["A"]["r_score"], people["B"]["r_score"]) == (2, 4)  # B bought more recently
    assert (people["A"]["f_score"], people["B"]["f_score"]) == (4, 2)
    assert people["A"]["rfm_cell"] == "244"
    assert people["C"]["ltv_tier"] == "none"
    assert pd.isna(people["C"]["r_score"])


def test_exposures_and_affinity(micro):
    _, people = micro
    a, c = people["A"], people["C"]
    assert (a["impressions"], a["clicks"], a["exposures"], a["ctr"]) == (4, 1, 5, 0.25)
    assert (a["affinity_social"], a["affinity_search"], a["top_channel"]) == (0.8, 0.2, "social")
    assert (c["impressions"], c["affinity_display"], c["top_channel"]) == (
        2,
        1.0,
        "display",
    )  # via cookie ck1
    assert a["days_since_exposure"] == 8


def test_consent_and_publisher_attributes(micro):
    _, people = micro
    a, b, c = people["A"], people["B"], people["C"]
    assert (a["consent_ads"], b["consent_ads"], c["consent_ads"]) == (False, True, False)  # a withdrawal wins
    assert (a["crm_records"], a["state"], a["age"]) == (2, "CA", 35)  # latest record; birthday is tomorrow
    assert list(a["interests"]) == ["outdoors", "travel"]  # trimmed, lowercased, deduplicated
    assert list(c["interests"]) == ["gaming"]
    assert c["age_band"] == "18-24"
    assert not c["has_crm"]


def test_too_few_customers_leaves_predictions_empty_with_a_note(micro):
    summary, people = micro
    assert summary.bgnbd is None
    assert any("BG/NBD not fitted" in note for note in summary.model_notes)
    assert pd.isna(people["A"]["predicted_ltv_12m"])
    assert {people["A"]["ltv_tier"], people["B"]["ltv_tier"]} <= {"top", "high", "mid", "low"}


def test_synthetic_world_profiles(world):
    summary = world.summary
    assert summary.bgnbd is not None
    assert summary.gamma_gamma is not None
    # the world buys by BG/NBD with known parameters; the profile pipeline (SQL + fit) recovers them
    assert summary.bgnbd["r"] == pytest.approx(0.9, rel=0.25)
    assert summary.bgnbd["a"] == pytest.approx(0.8, rel=0.3)
    assert summary.gamma_gamma["p"] == pytest.approx(6.0, rel=0.3)
    con, table = world.con, world.profiles_table
    checks = con.execute(
        f"""
        SELECT count(*), count(DISTINCT person_id),
               count_if(is_customer AND r_score BETWEEN 1 AND 5 AND predicted_ltv_12m >= 0),
               count_if(is_customer), count_if(NOT is_customer AND lifecycle = 'prospect' AND ltv_tier = 'none'),
               count_if(NOT is_customer),
               max(abs(affinity_search + affinity_social + affinity_display + affinity_video + affinity_ctv
                       + affinity_email - 1)) FILTER (WHERE exposures > 0)
        FROM {table}
        """
    ).fetchall()[0]
    rows, people, scored, customers, prospects, non_customers, affinity_error = checks
    assert rows == people == summary.profiles
    assert scored == customers == summary.customers
    assert prospects == non_customers
    assert affinity_error < 1e-9
    tiers = dict(
        con.execute(f"SELECT ltv_tier, count(*) FROM {table} WHERE is_customer GROUP BY 1").fetchall()
    )
    assert tiers["top"] / customers == pytest.approx(0.10, abs=0.01)


def test_quantile_scores_keep_ties_together():
    scores = quantile_scores(np.array([1, 1, 1, 1, 1, 1, 2, 3, 4, 5], dtype=float), 5)
    assert len(set(scores[:6])) == 1  # six one-time buyers share a score
    assert list(scores[6:]) == sorted(scores[6:])
    assert scores[-1] == 5
    assert quantile_scores(np.array([]), 5).size == 0
