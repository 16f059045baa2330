"""Small audience worlds for the audience engine tests.

``world`` is a synthetic world (adplan.audiences.synthetic) of a few thousand people with profiles built,
shared by the tests that only read it; ``hand_profiles`` is a hand-made profiles table whose segment
memberships can be worked out by eye.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd
import pytest

from adplan.audiences import profiles, synthetic
from adplan.audiences.config import SegmentsConfig, load_segments_config
from adplan.audiences.profiles import ProfileSummary

DS = "2026-11-28"
WORLD_PEOPLE = 12_000


@dataclass
class World:
    con: duckdb.DuckDBPyConnection
    truth: synthetic.WorldTruth
    config: SegmentsConfig
    summary: ProfileSummary
    profiles_table: str = profiles.PROFILES_TABLE


@pytest.fixture(scope="session")
def segments_config() -> SegmentsConfig:
    return load_segments_config()


@pytest.fixture(scope="session")
def world(segments_config) -> World:
    con = duckdb.connect()
    truth = synthetic.build_world(con, WORLD_PEOPLE, DS, seed=11)
    summary = profiles.build_profiles_table(con, DS, segments_config)
    return World(con, truth, segments_config, summary)


@pytest.fixture
def hand_profiles() -> duckdb.DuckDBPyConnection:
    """Eight people; the comments say which segments of segments.yaml each belongs to."""
    rows = [
        # p1: loyal top customer -> icp, high_value_loyal, top_ltv_tier, social_first
        dict(person_id="p1", is_customer=True, recency_days=10, r_score=5, f_score=5, m_score=4, ltv_tier="top",
             predicted_ltv_12m=400.0, p_alive=0.9, lifecycle="loyal", clicks=2, days_since_exposure=3,
             exposures=9, affinity_social=0.6, interests=["outdoors", "travel"], consent_ads=True),
        # p2: at-risk high tier -> at_risk_valuable
        dict(person_id="p2", is_customer=True, recency_days=200, r_score=2, f_score=4, m_score=5, ltv_tier="high",
             predicted_ltv_12m=120.0, p_alive=0.4, lifecycle="at_risk", clicks=0, days_since_exposure=90,
             exposures=2, affinity_social=0.0, interests=["cooking"], consent_ads=True),
        # p3: lapsed -> lapsed_buyers
        dict(person_id="p3", is_customer=True, recency_days=500, r_score=1, f_score=1, m_score=2, ltv_tier="low",
             predicted_ltv_12m=5.0, p_alive=0.1, lifecycle="lapsed", clicks=0, days_since_exposure=None,
             exposures=0, affinity_social=0.0, interests=None, consent_ads=False),
        # p4: new customer -> new_customers
        dict(person_id="p4", is_customer=True, recency_days=20, r_score=5, f_score=1, m_score=3, ltv_tier="mid",
             predicted_ltv_12m=60.0, p_alive=1.0, lifecycle="new", clicks=0, days_since_exposure=40,
             exposures=1, affinity_social=1.0, interests=[], consent_ads=True),
        # p5: engaged prospect with a social habit -> engaged_prospects, social_first
        dict(person_id="p5", is_customer=False, recency_days=None, r_score=None, f_score=None, m_score=None,
             ltv_tier="none", predicted_ltv_12m=None, p_alive=None, lifecycle="prospect", clicks=1,
             days_since_exposure=5, exposures=4, affinity_social=0.75, interests=["gaming"], consent_ads=False),
        # p6: prospect who clicked long ago -> nothing
        dict(person_id="p6", is_customer=False, recency_days=None, r_score=None, f_score=None, m_score=None,
             ltv_tier="none", predicted_ltv_12m=None, p_alive=None, lifecycle="prospect", clicks=3,
             days_since_exposure=60, exposures=5, affinity_social=0.2, interests=None, consent_ads=False),
        # p7: high predicted value but probably gone -> top_ltv_tier only (icp needs p_alive >= 0.5)
        dict(person_id="p7", is_customer=True, recency_days=150, r_score=3, f_score=5, m_score=5, ltv_tier="top",
             predicted_ltv_12m=300.0, p_alive=0.3, lifecycle="active", clicks=0, days_since_exposure=None,
             exposures=0, affinity_social=0.0, interests=None, consent_ads=True),
        # p8: exactly at the icp boundary (150 is not above 150) -> nothing
        dict(person_id="p8", is_customer=True, recency_days=30, r_score=4, f_score=3, m_score=3, ltv_tier="mid",
             predicted_ltv_12m=150.0, p_alive=0.8, lifecycle="active", clicks=0, days_since_exposure=None,
             exposures=2, affinity_social=0.5, interests=None, consent_ads=True),
    ]  # fmt: skip
    frame = pd.DataFrame(rows)
    # value fields the descriptions read (not used by the rules)
    frame["avg_order_value"] = frame["predicted_ltv_12m"] / 4
    frame["ltv_to_date"] = frame["predicted_ltv_12m"] * 2
    con = duckdb.connect()
    con.register("frame", frame)
    con.execute(
        """
        CREATE TABLE profiles AS SELECT
            person_id, is_customer, CAST(recency_days AS BIGINT) AS recency_days,
            CAST(r_score AS TINYINT) AS r_score, CAST(f_score AS TINYINT) AS f_score,
            CAST(m_score AS TINYINT) AS m_score, ltv_tier, predicted_ltv_12m, p_alive, lifecycle,
            CAST(clicks AS BIGINT) AS clicks, CAST(days_since_exposure AS BIGINT) AS days_since_exposure,
            CAST(exposures AS BIGINT) AS exposures, affinity_social, CAST(interests AS VARCHAR[]) AS interests,
            consent_ads, avg_order_value, ltv_to_date
        FROM frame
        """
    )
    con.unregister("frame")
    return con
