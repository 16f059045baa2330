"""The collaboration file: the example loads, and the API's constraints are enforced at load time."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from adplan.cleanroom import (
    AggregationRule,
    Collaboration,
    CollaborationConfigError,
    CustomRule,
    ListRule,
    load_collaboration,
    parse_analysis_rule_policy,
)

from .conftest import collaboration_document

EXAMPLE = Path(__file__).resolve().parents[2] / "include" / "config" / "collaboration.yaml"


def test_example_collaboration_loads():
    collaboration = load_collaboration(EXAMPLE)
    assert collaboration.dialect == "redshift"
    assert collaboration.member("agency").can("CAN_QUERY")
    assert not collaboration.member("publisher").can("CAN_QUERY")
    locations = {table.table_name for table in collaboration.configured_tables.values()}
    assert locations == {
        "cr_advertiser_customers",
        "cr_advertiser_conversions",
        "cr_publisher_audience",
        "cr_publisher_impressions",
    }
    rule = collaboration.table("advertiser_customers").analysis_rule
    assert isinstance(rule, AggregationRule)
    assert rule.functions_for("email_sha256") == {"COUNT_DISTINCT"}
    assert isinstance(collaboration.table("publisher_audience_list").analysis_rule, ListRule)
    custom = collaboration.table("publisher_impressions_dp").analysis_rule
    assert isinstance(custom, CustomRule)
    assert custom.differential_privacy.user_column == "email_sha256"
    assert collaboration.differential_privacy_policy.max_aggregations == 200


def test_policy_shape_is_the_api_shape():
    rule = parse_analysis_rule_policy(
        {"v1": {"list": {"joinColumns": ["email_sha256"], "listColumns": ["interest"]}}}, members={}
    )
    assert rule.allowed_join_operators == {"AND"}  # the API's default


def mutate(path, value):
    document = copy.deepcopy(collaboration_document())
    target = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return document


AGG = ("configuredTables", 0, "analysisRule", "policy", "v1", "aggregation")


@pytest.mark.parametrize(
    ("path", "value", "fragment"),
    [
        ((*AGG, "outputConstraints"), [{"columnName": "email_sha256", "minimum": 1}], "minimum"),
        (
            (*AGG, "aggregateColumns"),
            [{"columnNames": ["email_sha256"], "function": "MAX"}],
            "aggregate function",
        ),
        ((*AGG, "scalarFunctions"), ["REGEXP_REPLACE"], "scalarFunctions"),
        ((*AGG, "allowedJoinOperators"), ["XOR"], "allowedJoinOperators"),
        ((*AGG, "dimensionColumns"), ["segment", "email_sha256"], "both join and dimension"),
        ((*AGG, "dimensionColumns"), ["shoe_size"], "outside allowedColumns"),
        ((*AGG, "joinRequired"), "ALWAYS", "joinRequired"),
        (("configuredTables", 0, "owner"), "nobody", "not a member"),
        (("members", 0, "memberAbilities"), ["CAN_FLY"], "memberAbilities"),
        (
            ("configuredTables", 6, "analysisRule", "policy", "v1", "custom", "allowedAnalysisProviders"),
            [],
            "required",
        ),
        (
            ("configuredTables", 5, "analysisRule", "policy", "v1", "custom", "allowedAnalyses"),
            ["ghost"],
            "unknown templates",
        ),
        (("differentialPrivacyPolicy", "parameters", "differentialPrivacy", "epsilon"), 50, "epsilon"),
        (("collaboration", "analyticsEngine"), "ORACLE", "analyticsEngine"),
    ],
)
def test_invalid_configurations_fail_at_load(path, value, fragment):
    with pytest.raises(CollaborationConfigError, match=fragment):
        Collaboration.from_dict(mutate(path, value))
