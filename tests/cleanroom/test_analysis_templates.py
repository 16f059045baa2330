"""Analysis templates: parameters, approval by every custom-rule table, and output controls."""

from __future__ import annotations

import pandas as pd
import pytest


def run(room, tmp_path, member, template, parameters=None):
    return room.start_protected_query(
        member, None, "CSV", tmp_path, parameters=parameters, analysis_template=template
    )


def test_template_runs_with_default_and_given_parameters(room, warehouse, tmp_path):
    default = run(room, tmp_path, "agency", "conversions_by_campaign")
    assert default["status"] == "SUCCESS", default.get("error")
    assert default["sqlParameters"]["analysisTemplateArn"].endswith(
        "/analysistemplate/conversions_by_campaign"
    )
    late = run(room, tmp_path, "agency", "conversions_by_campaign", {"start_date": "2024-04-10 00:00:00"})
    late_frame = pd.read_csv(late["result"]["output"]["s3"]["location"])
    truth = warehouse.execute(
        "SELECT i.campaign_id, COUNT(DISTINCT c.email_sha256) AS converters FROM cr_publisher_impressions i "
        "JOIN cr_advertiser_conversions c ON c.email_sha256 = i.email_sha256 "
        "WHERE c.conversion_ts >= TIMESTAMP '2024-04-10' GROUP BY 1"
    ).df()
    merged = late_frame.merge(truth, on="campaign_id", suffixes=("", "_true"))
    assert len(merged) == len(truth)
    assert (merged.converters == merged.converters_true).all()
    assert late["sqlParameters"]["parameters"] == {"start_date": "2024-04-10 00:00:00"}


@pytest.mark.parametrize(
    ("member", "template", "parameters", "code", "fragment"),
    [
        ("agency", "conversions_by_campaign", {"start_date": "yesterday'; DROP TABLE x; --"}, "MALFORMED_QUERY", "TIMESTAMP"),
        ("agency", "conversions_by_campaign", {"end_date": "2024-01-01"}, "MALFORMED_QUERY", "has no parameters"),
        ("agency", "no_such_template", None, "RESOURCE_NOT_FOUND", "does not exist"),
        ("advertiser", "not_approved", None, "RESOURCE_ACCESS_DENIED", "has not approved"),
        ("advertiser", "leaky", {"min_value": "10"}, "INVALID_QUERY", "adv_conversions.email_sha256"),
        ("advertiser", "leaky", None, "MALFORMED_QUERY", "needs a value"),
        ("publisher", "conversions_by_campaign", None, "RESOURCE_ACCESS_DENIED", "CAN_QUERY"),
    ],
    ids=["injection", "unknown parameter", "unknown template", "not approved", "disallowed output", "missing value", "no CAN_QUERY"],
)  # fmt: skip
def test_refused_templates(room, tmp_path, member, template, parameters, code, fragment):
    record = run(room, tmp_path, member, template, parameters)
    assert record["status"] == "FAILED"
    assert record["error"]["code"] == code
    assert fragment in record["error"]["message"]
    assert "result" not in record


def test_template_on_a_table_that_approved_only_through_providers(room):
    # pub_impressions_any approves any query authored by the agency; adv_conversions approves by name.
    assert room.check("agency", analysis_template="conversions_by_campaign").allowed
    # The advertiser may run the agency's template too: approval is of the template, not the runner.
    assert room.check("advertiser", analysis_template="conversions_by_campaign").allowed


def test_sql_and_template_together_are_refused(room):
    check = room.check("agency", "SELECT 1", analysis_template="conversions_by_campaign")
    assert check.error["code"] == "MALFORMED_QUERY"
