"""Enrichment through the local clean room: the list query passes the collaboration's rules, only list
columns come back, and the per-segment summary matches a direct count."""

from __future__ import annotations

import pytest

from adplan import sqlfiles
from adplan.audiences import enrichment, segments
from adplan.cleanroom import CleanRoom, load_collaboration

DS = "2026-11-28"
SEEDS = ["high_value_loyal", "lapsed_buyers", "new_customers"]


@pytest.fixture(scope="module")
def room(world, tmp_path_factory):
    con = world.con
    result = segments.build_segments(
        con, world.profiles_table, world.config, segments=SEEDS, members_table="enrichment_members"
    )
    con.execute(
        f"CREATE OR REPLACE TABLE segment_members AS SELECT *, '{DS}' AS dt FROM {result.members_table}"
    )
    con.execute(f"CREATE OR REPLACE TABLE profiles AS SELECT *, '{DS}' AS dt FROM {world.profiles_table}")
    customers = sqlfiles.render_duckdb(
        "cleanroom/advertiser_customers.sql",
        DS,
        {"segment_members_table": "segment_members", "profiles_table": "profiles", "require_consent": False},
    )
    con.execute(f"CREATE OR REPLACE TABLE cr_advertiser_customers AS {customers}")
    # the publisher's configured table: one row per audience record and interest (built by the publisher)
    con.execute(
        """
        CREATE OR REPLACE TABLE cr_publisher_audience AS
        SELECT p.email_sha256, p.phone_sha256, p.maid_sha256, trim(u.interest) AS interest, p.age_band, p.region
        FROM curated_publisher_audience p CROSS JOIN UNNEST(string_split(p.interests, ';')) AS u(interest)
        """
    )
    with CleanRoom(load_collaboration(), con, state_dir=tmp_path_factory.mktemp("state")) as clean_room:
        yield clean_room, tmp_path_factory.mktemp("results")


def test_the_list_query_passes_the_analysis_rules(room):
    clean_room, _ = room
    check = clean_room.check("advertiser", enrichment.enrichment_query(SEEDS))
    assert check.allowed, check.error
    assert check.rule_type == "LIST"
    assert "SELECT DISTINCT c.customer_id, c.segment, p.interest" in enrichment.enrichment_query()


def test_summary_matches_a_direct_count(world, room):
    clean_room, results = room
    runner = enrichment.cleanroom_query_runner(clean_room, results)
    summary = enrichment.enrich_segments(runner, SEEDS, min_customers=5)
    assert set(summary["segment_id"]) == set(SEEDS)
    assert set(summary["attribute"]) == {"interest", "age_band", "region"}
    direct = dict(
        world.con.execute(
            """
            SELECT c.segment, count(DISTINCT c.customer_id)
            FROM cr_advertiser_customers c
            WHERE c.email_sha256 IN (SELECT email_sha256 FROM cr_publisher_audience) AND c.segment IN (SELECT unnest(?))
            GROUP BY 1
            """,
            [SEEDS],
        ).fetchall()
    )
    matched = summary.groupby("segment_id")["matched_customers"].first().to_dict()
    assert matched == direct
    outdoors = summary[(summary["segment_id"] == "high_value_loyal") & (summary["value"] == "outdoors")].iloc[
        0
    ]
    expected = world.con.execute(
        """
        SELECT count(DISTINCT c.customer_id) FROM cr_advertiser_customers c
        JOIN cr_publisher_audience p ON p.email_sha256 = c.email_sha256
        WHERE c.segment = 'high_value_loyal' AND p.interest = 'outdoors'
        """
    ).fetchall()[0][0]
    assert outdoors["customers"] == expected
    assert outdoors["share"] == pytest.approx(expected / outdoors["matched_customers"])
    assert (summary["customers"] >= 5).all()
    shares = summary[summary["attribute"] == "age_band"].groupby("segment_id")["share"].sum()
    assert (shares <= 1 + 1e-9).all()


def test_a_refused_query_raises_with_the_clean_room_error(room):
    clean_room, results = room
    runner = enrichment.cleanroom_query_runner(clean_room, results, member="agency")
    with pytest.raises(enrichment.EnrichmentQueryError) as raised:
        enrichment.enrich_segments(runner, SEEDS)
    assert raised.value.code
    leaky = "SELECT DISTINCT p.email_sha256, p.interest FROM advertiser_customers_list c " \
            "INNER JOIN publisher_audience_list p ON c.email_sha256 = p.email_sha256"  # fmt: skip
    with pytest.raises(enrichment.EnrichmentQueryError, match="join column"):
        enrichment.cleanroom_query_runner(clean_room, results)(leaky)
