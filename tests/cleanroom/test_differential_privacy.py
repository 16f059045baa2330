"""Differential privacy on custom-rule tables: noise, clipping, group release and the privacy budget."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from adplan.cleanroom import CleanRoom, Collaboration
from adplan.cleanroom.privacy import release_threshold

from .conftest import collaboration_document, custom


def dp_collaboration(epsilon=20, noise=10, limit=2) -> Collaboration:
    """The test collaboration, with the protected impressions open to direct queries by the agency."""
    document = collaboration_document(dp_epsilon=epsilon)
    for table in document["configuredTables"]:
        if table["name"] == "pub_impressions_dp":
            table["analysisRule"] = custom(["ANY_QUERY"], providers=["agency"], dp_column="email_sha256")
    document["differentialPrivacyPolicy"]["parameters"]["differentialPrivacy"]["usersNoisePerQuery"] = noise
    document["differentialPrivacyPolicy"]["userContributionLimit"] = limit
    return Collaboration.from_dict(document)


REACH = "SELECT i.campaign_id, COUNT(DISTINCT i.email_sha256) AS reach FROM pub_impressions_dp i GROUP BY i.campaign_id"


def test_template_result_carries_sensitivity_parameters_and_charges_budget(room, tmp_path):
    record = room.start_protected_query("agency", None, "CSV", tmp_path, analysis_template="conversions_dp")
    assert record["status"] == "SUCCESS", record.get("error")
    params = record["differentialPrivacy"]["sensitivityParameters"]
    assert [p["aggregationType"] for p in params] == ["COUNT_DISTINCT", "SUM"]
    assert params[1]["minColumnValue"] == 0
    assert params[1]["maxColumnValue"] == 100
    assert all(p["userContributionLimit"] == 2 for p in params)
    budget = room.privacy_budget()
    # 2 aggregations + 1 hidden count for group release, at epsilon 1/10 each.
    assert budget["epsilonSpent"] == pytest.approx(0.3)
    assert budget["remainingAggregations"] == 7


def test_budget_is_persisted_and_exhausted_queries_release_nothing(collaboration, warehouse, tmp_path):
    state = tmp_path / "state"
    with CleanRoom(collaboration, warehouse, state_dir=state) as room:  # epsilon 1 = 10 aggregations
        statuses = [
            room.start_protected_query(
                "agency", None, "CSV", tmp_path / "out", analysis_template="conversions_dp"
            )["status"]
            for _ in range(3)
        ]
    assert statuses == ["SUCCESS"] * 3  # 9 of 10 aggregations spent
    with CleanRoom(collaboration, warehouse, state_dir=state) as room:  # a new process sees the ledger
        assert room.privacy_budget()["remainingAggregations"] == 1
        check = room.check("agency", analysis_template="conversions_dp")
        assert check.allowed
        assert check.epsilon_cost == pytest.approx(0.3)
        record = room.start_protected_query(
            "agency", None, "CSV", tmp_path / "late", analysis_template="conversions_dp"
        )
    assert record["status"] == "FAILED"
    assert record["error"]["code"] == "PRIVACY_BUDGET_EXHAUSTED"
    assert not (tmp_path / "late").exists()


def test_noise_is_unbiased_with_the_configured_scale(warehouse, tmp_path):
    collaboration = dp_collaboration(epsilon=20, noise=10, limit=2)  # 200 aggregations
    sql = "SELECT COUNT(*) AS n FROM pub_impressions_dp i"
    with CleanRoom(collaboration, warehouse, state_dir=tmp_path, seed=5) as room:
        draws = [
            pd.read_csv(
                room.start_protected_query("agency", sql, "CSV", tmp_path)["result"]["output"]["s3"][
                    "location"
                ]
            ).n[0]
            for _ in range(60)
        ]
    clipped_truth = warehouse.execute(
        "SELECT SUM(LEAST(n, 2)) FROM (SELECT email_sha256, COUNT(*) AS n FROM cr_publisher_impressions GROUP BY 1)"
    ).fetchall()[0][0]
    errors = np.array(draws) - clipped_truth
    scale = 2 * 10  # contribution limit / epsilon per aggregation
    assert abs(errors.mean()) < 4 * scale * np.sqrt(2) / np.sqrt(len(errors))
    assert 0.5 * scale < np.abs(errors).mean() < 1.6 * scale  # mean |Laplace(b)| = b


def test_contribution_clipping_bounds_a_heavy_user(tmp_path):
    connection = duckdb.connect()
    rows = [(f"u{i}", "c", "cr", "2024-01-01") for i in range(3000)] + [
        ("heavy", "c", "cr", "2024-01-01")
    ] * 5000
    frame = pd.DataFrame(rows, columns=["email_sha256", "campaign_id", "creative_id", "ts"])  # noqa: F841
    connection.execute("CREATE TABLE cr_publisher_impressions AS SELECT * FROM frame")
    with CleanRoom(dp_collaboration(), connection, state_dir=tmp_path, seed=3) as room:
        record = room.start_protected_query(
            "agency", "SELECT COUNT(*) AS n FROM pub_impressions_dp i", "CSV", tmp_path
        )
    released = pd.read_csv(record["result"]["output"]["s3"]["location"]).n[0]
    assert abs(released - 3002) < 400  # not 8000: the heavy user counts for 2 rows


def test_groups_below_the_release_threshold_are_suppressed(tmp_path):
    collaboration = dp_collaboration(epsilon=20, noise=10, limit=1)
    threshold = release_threshold(collaboration.differential_privacy_policy)
    connection = duckdb.connect()
    big = [(f"u{i}", "big", "cr", "2024-01-01") for i in range(int(threshold) * 3)]
    small = [(f"v{i}", f"tiny{i % 5}", "cr", "2024-01-01") for i in range(10)]
    frame = pd.DataFrame(big + small, columns=["email_sha256", "campaign_id", "creative_id", "ts"])  # noqa: F841
    connection.execute("CREATE TABLE cr_publisher_impressions AS SELECT * FROM frame")
    with CleanRoom(collaboration, connection, state_dir=tmp_path, seed=9) as room:
        record = room.start_protected_query("agency", REACH, "CSV", tmp_path)
    released = pd.read_csv(record["result"]["output"]["s3"]["location"])
    assert list(released.campaign_id) == ["big"]
    assert list(released.columns) == ["campaign_id", "reach"]


@pytest.mark.parametrize(
    ("sql", "fragment"),
    [
        ("SELECT i.email_sha256, COUNT(*) AS n FROM pub_impressions_dp i GROUP BY 1", "user identifier"),
        (
            "SELECT i.campaign_id, COUNT(*) AS n FROM pub_impressions_dp i GROUP BY 1 HAVING COUNT(*) > 5",
            "HAVING",
        ),
        ("SELECT i.campaign_id, COUNT(*) AS n FROM pub_impressions_dp i GROUP BY 1 ORDER BY n", "ORDER"),
        ("SELECT MAX(i.ts) AS t FROM pub_impressions_dp i", "plain COUNT"),
        ("SELECT COUNT(*) * 2 AS n FROM pub_impressions_dp i", "plain COUNT"),
        ("SELECT i.campaign_id FROM pub_impressions_dp i", "at least one"),
        ("SELECT SUM(LENGTH(i.campaign_id)) AS s FROM pub_impressions_dp i", "single column"),
        ("SELECT SUM(i.creative_id) AS s FROM pub_impressions_dp i", "columnBounds"),
        (
            "SELECT COUNT(*) AS n FROM pub_impressions_dp a JOIN pub_impressions_dp b ON a.email_sha256 = b.email_sha256",
            "one protected table",
        ),
        ("WITH x AS (SELECT campaign_id FROM pub_impressions_dp) SELECT COUNT(*) AS n FROM x", "WITH"),
        ("SELECT COUNT(*) OVER () AS n FROM pub_impressions_dp i", "window"),
    ],
)
def test_queries_outside_the_private_structure_are_refused(warehouse, tmp_path, sql, fragment):
    with CleanRoom(dp_collaboration(), warehouse, state_dir=tmp_path) as room:
        check = room.check("agency", sql)
        assert check.error is not None
        assert check.error["code"] == "INVALID_QUERY", check.error
        assert fragment in check.error["message"]
        assert room.privacy_budget()["epsilonSpent"] == 0
