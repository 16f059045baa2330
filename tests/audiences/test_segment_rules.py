"""Segment rules: evaluated correctly on a hand-made profiles table, and refused clearly when unsafe."""

from __future__ import annotations

import dataclasses

import pytest

from adplan.audiences import segments
from adplan.audiences.config import (
    AudienceConfigError,
    SegmentDefinition,
    parse_segments_config,
)
from adplan.audiences.rules import SegmentRuleError, compile_rule

EXPECTED_MEMBERS = {
    "icp_high_predicted_ltv": {"p1"},
    "high_value_loyal": {"p1"},
    "top_ltv_tier": {"p1", "p7"},
    "new_customers": {"p4"},
    "at_risk_valuable": {"p2"},
    "lapsed_buyers": {"p3"},
    "engaged_prospects": {"p5"},
    "social_first": {"p1", "p5"},
}


def members_by_segment(con, table: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for segment_id, person_id in con.execute(f"SELECT segment_id, person_id FROM {table}").fetchall():
        found.setdefault(segment_id, set()).add(person_id)
    return found


def test_configured_rules_select_the_expected_people(hand_profiles, segments_config):
    config = dataclasses.replace(segments_config, describe_features=("recency_days", "affinity_*"))
    result = segments.build_segments(hand_profiles, "profiles", config, clusters=False)
    found = members_by_segment(hand_profiles, result.members_table)
    assert {segment: found.get(segment, set()) for segment in EXPECTED_MEMBERS} == EXPECTED_MEMBERS
    sizes = dict(zip(result.segments["segment_id"], result.segments["size"], strict=True))
    assert sizes == {segment: len(people) for segment, people in EXPECTED_MEMBERS.items()}


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("contains(interests, 'outdoors')", {"p1"}),
        ("cardinality(interests) = 0", {"p4"}),  # NULL interests are unknown, not empty
        ("NOT consent_ads", {"p3", "p5", "p6"}),
        ("coalesce(recency_days, 9999) > 365", {"p3", "p5", "p6"}),
        ("ltv_tier IN ('top', 'high') AND r_score BETWEEN 2 AND 3", {"p2", "p7"}),
        ("lower(lifecycle) LIKE 'at%' OR abs(affinity_social - 0.75) < 0.01", {"p2", "p5"}),
        ("days_since_exposure IS NULL AND is_customer = true", {"p3", "p7", "p8"}),
        ("round(predicted_ltv_12m / 100, 0) = 4", {"p1"}),
    ],
)
def test_rule_grammar(hand_profiles, segments_config, rule, expected):
    config = dataclasses.replace(
        segments_config,
        segments=(SegmentDefinition("probe", "Probe", rule),),
        describe_features=("exposures",),
    )
    result = segments.build_segments(hand_profiles, "profiles", config, clusters=False)
    assert members_by_segment(hand_profiles, result.members_table).get("probe", set()) == expected


COLUMNS = {
    "is_customer": "BOOLEAN",
    "recency_days": "BIGINT",
    "ltv_tier": "VARCHAR",
    "interests": "VARCHAR[]",
}


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("recency_dayz > 30", "unknown field 'recency_dayz' (did you mean 'recency_days'?)"),
        ("recency_days > 30 AND email = 'x'", "unknown field 'email'"),
        ("dt = '2026-11-28'", "unknown field 'dt'"),
        ("p.recency_days > 30", "must not be qualified"),
        ("recency_days > (SELECT max(recency_days) FROM profiles)", "subqueries are not allowed"),
        ("ltv_tier IN (SELECT 'top')", "subqueries are not allowed"),
        ("random() > 0.5", "function"),
        ("CAST(recency_days AS varchar) = '1'", "function cast() is not allowed"),
        ("recency_days", "is not a condition"),
        ("is_customer AND recency_days", "recency_days is not a condition"),
        ("recency_days > 1; DROP TABLE profiles", "a rule is one expression"),
        ("recency_days >", "not valid SQL"),
    ],
)
def test_refused_rules_name_the_segment_and_field(rule, message):
    with pytest.raises(SegmentRuleError) as raised:
        compile_rule("my_segment", rule, COLUMNS)
    assert "segment 'my_segment'" in str(raised.value)
    assert message in str(raised.value)


def test_all_refusals_are_reported_together(hand_profiles, segments_config):
    config = dataclasses.replace(
        segments_config,
        segments=(SegmentDefinition("good", "Good", "is_customer"), SegmentDefinition("bad_one", "B", "nope > 1"),
                  SegmentDefinition("bad_two", "B", "upper(ltv_tier)")),
    )  # fmt: skip
    with pytest.raises(SegmentRuleError) as raised:
        segments.build_segments(hand_profiles, "profiles", config, clusters=False)
    assert "segment 'bad_one'" in str(raised.value)
    assert "segment 'bad_two'" in str(raised.value)
    assert "'good'" not in str(raised.value)


def test_compiled_rule_is_quoted_duckdb():
    assert compile_rule("s", "contains(interests, 'a') AND NOT is_customer", COLUMNS) == (
        'ARRAY_CONTAINS("interests", \'a\') AND NOT "is_customer"'
    )


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"segments": [{"id": "Bad-Id", "rule": "x"}]}, "lowercase letters"),
        ({"segments": [{"id": "cluster_9", "rule": "x"}]}, "reserved"),
        ({"segments": [{"id": "a", "rule": ""}]}, "a rule is required"),
        ({"segments": [{"id": "a", "rule": "x"}, {"id": "a", "rule": "y"}]}, "appears twice"),
        ({"segments": [], "clusters": {"k_maxx": 3}}, "unknown key"),
        ({"segments": [{"id": "a", "rule": "x"}], "lookalike": {"seed_segment": "b"}}, "not a segment id"),
    ],
)
def test_config_errors(document, message):
    with pytest.raises(AudienceConfigError, match=message):
        parse_segments_config(document)


def test_repository_segments_file_compiles_against_real_profiles(world):
    columns = segments.column_types(world.con, world.profiles_table)
    for definition in world.config.segments:
        compile_rule(definition.id, definition.rule, columns)
