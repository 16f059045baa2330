"""A small collaboration and warehouse for the clean-room engine tests.

The collaboration mirrors include/config/collaboration.yaml with low thresholds (so small tables have
output), plus the controls the example file can't show: joinRequired, AND-only joins, different
thresholds on two tables, ANY_QUERY providers, and a member who can't query.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pytest

from adplan.cleanroom import CleanRoom, Collaboration


def aggregation(aggregate, joins, dims, constraints, *, scalar=(), operators=("AND",), join_required=None):
    body = {
        "aggregateColumns": [{"columnNames": cols, "function": fn} for cols, fn in aggregate],
        "joinColumns": list(joins),
        "dimensionColumns": list(dims),
        "scalarFunctions": list(scalar),
        "outputConstraints": [
            {"columnName": col, "minimum": low, "type": "COUNT_DISTINCT"} for col, low in constraints
        ],
        "allowedJoinOperators": list(operators),
    }
    if join_required:
        body["joinRequired"] = join_required
    return {"type": "AGGREGATION", "policy": {"v1": {"aggregation": body}}}


def listing(joins, columns, operators=("AND", "OR")):
    body = {"joinColumns": list(joins), "listColumns": list(columns), "allowedJoinOperators": list(operators)}
    return {"type": "LIST", "policy": {"v1": {"list": body}}}


def custom(allowed, providers=(), disallowed=(), dp_column=None):
    body = {"allowedAnalyses": list(allowed), "disallowedOutputColumns": list(disallowed)}
    if providers:
        body["allowedAnalysisProviders"] = list(providers)
    if dp_column:
        body["differentialPrivacy"] = {"columns": [{"name": dp_column}]}
    return {"type": "CUSTOM", "policy": {"v1": {"custom": body}}}


def table(name, owner, location, columns, rule):
    return {
        "name": name,
        "owner": owner,
        "tableReference": {"glue": {"databaseName": "adplan", "tableName": location}},
        "allowedColumns": list(columns),
        "analysisRule": rule,
    }


CUSTOMER_COLUMNS = ["customer_id", "email_sha256", "phone_sha256", "segment", "ltv_tier", "region"]
AUDIENCE_COLUMNS = ["email_sha256", "phone_sha256", "maid_sha256", "interest", "age_band", "region"]
IMPRESSION_COLUMNS = ["email_sha256", "campaign_id", "creative_id", "ts"]
CONVERSION_COLUMNS = ["email_sha256", "conversion_ts", "creative_id", "value"]
SCALARS = ["ROUND", "LOWER", "UPPER", "CAST", "COALESCE", "TRUNC", "ABS"]

CONVERSIONS_SQL = """
SELECT i.campaign_id, COUNT(DISTINCT c.email_sha256) AS converters, SUM(c.value) AS conversion_value
FROM pub_impressions_any i JOIN adv_conversions c ON c.email_sha256 = i.email_sha256
WHERE c.conversion_ts >= :start_date
GROUP BY i.campaign_id
"""
CONVERSIONS_DP_SQL = """
SELECT i.campaign_id, COUNT(DISTINCT c.email_sha256) AS converters, SUM(c.value) AS conversion_value
FROM pub_impressions_dp i JOIN adv_conversions c ON c.email_sha256 = i.email_sha256
WHERE c.conversion_ts >= i.ts
GROUP BY i.campaign_id
"""
LEAKY_SQL = "SELECT c.email_sha256, c.value FROM adv_conversions c WHERE c.value > :min_value"


def collaboration_document(dp_epsilon: int = 1) -> dict:
    return {
        "collaboration": {"name": "test-collaboration", "analyticsEngine": "CLEAN_ROOMS_SQL"},
        "members": [
            {"displayName": "agency", "accountId": "111111111111", "memberAbilities": ["CAN_QUERY", "CAN_RECEIVE_RESULTS"]},
            {"displayName": "advertiser", "accountId": "222222222222", "memberAbilities": ["CAN_QUERY", "CAN_RECEIVE_RESULTS"]},
            {"displayName": "publisher", "accountId": "333333333333", "memberAbilities": []},
            {"displayName": "observer", "accountId": "444444444444", "memberAbilities": ["CAN_RECEIVE_RESULTS"]},
        ],
        "configuredTables": [
            table(
                "adv_customers", "advertiser", "cr_advertiser_customers", CUSTOMER_COLUMNS,
                aggregation(
                    [(["email_sha256", "phone_sha256"], "COUNT_DISTINCT")],
                    ["email_sha256", "phone_sha256"], ["segment", "ltv_tier", "region"],
                    [("email_sha256", 5)], scalar=SCALARS, operators=("AND",),
                ),
            ),
            table(
                "pub_audience", "publisher", "cr_publisher_audience", AUDIENCE_COLUMNS,
                aggregation(
                    [(["email_sha256", "phone_sha256", "maid_sha256"], "COUNT_DISTINCT")],
                    ["email_sha256", "phone_sha256", "maid_sha256"], ["interest", "age_band", "region"],
                    [("email_sha256", 8)], scalar=SCALARS, operators=("AND", "OR"), join_required="QUERY_RUNNER",
                ),
            ),
            table(
                "pub_impressions", "publisher", "cr_publisher_impressions", IMPRESSION_COLUMNS,
                aggregation(
                    [(["email_sha256"], "COUNT_DISTINCT"), (["ts"], "COUNT")],
                    ["email_sha256"], ["campaign_id", "creative_id"],
                    [("email_sha256", 5)], scalar=["CAST", "ROUND"],
                ),
            ),
            table("adv_customers_list", "advertiser", "cr_advertiser_customers", CUSTOMER_COLUMNS,
                  listing(["email_sha256", "phone_sha256"], ["customer_id", "segment"])),
            table("pub_audience_list", "publisher", "cr_publisher_audience", AUDIENCE_COLUMNS,
                  listing(["email_sha256", "phone_sha256"], ["interest", "age_band", "region"], operators=("AND",))),
            table("adv_conversions", "advertiser", "cr_advertiser_conversions", CONVERSION_COLUMNS,
                  custom(["conversions_by_campaign", "conversions_dp", "leaky"], disallowed=["email_sha256"])),
            table("pub_impressions_any", "publisher", "cr_publisher_impressions", IMPRESSION_COLUMNS,
                  custom(["ANY_QUERY"], providers=["111111111111"], disallowed=["email_sha256"])),
            table("pub_impressions_dp", "publisher", "cr_publisher_impressions", IMPRESSION_COLUMNS,
                  custom(["conversions_dp"], dp_column="email_sha256")),
        ],
        "analysisTemplates": [
            {"name": "conversions_by_campaign", "owner": "agency", "format": "SQL", "source": {"text": CONVERSIONS_SQL},
             "analysisParameters": [{"name": "start_date", "type": "TIMESTAMP", "defaultValue": "2024-01-01 00:00:00"}]},
            {"name": "conversions_dp", "owner": "agency", "format": "SQL", "source": {"text": CONVERSIONS_DP_SQL}},
            {"name": "leaky", "owner": "advertiser", "format": "SQL", "source": {"text": LEAKY_SQL},
             "analysisParameters": [{"name": "min_value", "type": "DOUBLE"}]},
            {"name": "not_approved", "owner": "advertiser", "format": "SQL",
             "source": {"text": "SELECT COUNT(*) AS n FROM adv_conversions"}},
        ],
        "differentialPrivacyPolicy": {
            "parameters": {"differentialPrivacy": {"epsilon": dp_epsilon, "usersNoisePerQuery": 10}},
            "userContributionLimit": 2,
            "columnBounds": {"adv_conversions.value": [0, 100]},
            "delta": 1e-4,
        },
    }  # fmt: skip


def build_warehouse(connection: duckdb.DuckDBPyConnection, seed: int = 7, people: int = 600) -> None:
    """Customers are people [0, 2/3 n), the audience [1/3 n, n): the overlap is the middle third."""
    rng = np.random.default_rng(seed)
    ids = np.arange(people)
    email = np.array([f"e{i:05d}" for i in ids])
    phone = np.array([f"p{i:05d}" for i in ids])
    customers = ids[: 2 * people // 3]
    audience = ids[people // 3 :]
    frames = {
        "cr_advertiser_customers": {
            "customer_id": [f"c{i}" for i in customers],
            "email_sha256": email[customers],
            "phone_sha256": phone[customers],
            "segment": rng.choice(["loyal", "lapsed", "new"], len(customers)),
            "ltv_tier": rng.choice(["high", "low"], len(customers)),
            "region": rng.choice(["north", "south"], len(customers)),
        },
        "cr_publisher_audience": {
            "email_sha256": email[audience],
            "phone_sha256": phone[audience],
            "maid_sha256": [f"m{i}" for i in audience],
            "interest": rng.choice(
                ["sport", "food", "tech", "rare"], len(audience), p=[0.4, 0.35, 0.24, 0.01]
            ),
            "age_band": rng.choice(["18-24", "25-34", "35+"], len(audience)),
            "region": rng.choice(["north", "south"], len(audience)),
        },
    }
    viewers = rng.choice(ids, 3000)
    frames["cr_publisher_impressions"] = {
        "email_sha256": email[viewers],
        "campaign_id": rng.choice(["spring", "summer", "autumn"], 3000),
        "creative_id": rng.choice(["cr1", "cr2"], 3000),
        "ts": np.datetime64("2024-03-01") + rng.integers(0, 30 * 86400, 3000).astype("timedelta64[s]"),
    }
    converters = rng.choice(ids, 800)
    frames["cr_advertiser_conversions"] = {
        "email_sha256": email[converters],
        "conversion_ts": np.datetime64("2024-03-10")
        + rng.integers(0, 40 * 86400, 800).astype("timedelta64[s]"),
        "creative_id": rng.choice(["cr1", "cr2"], 800),
        "value": rng.gamma(2.0, 30.0, 800).round(2),
    }
    import pandas as pd

    for name, columns in frames.items():
        frame = pd.DataFrame(columns)  # noqa: F841 - read by DuckDB's replacement scan
        connection.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM frame")


@pytest.fixture(scope="session")
def collaboration() -> Collaboration:
    return Collaboration.from_dict(collaboration_document())


@pytest.fixture(scope="session")
def warehouse() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    build_warehouse(connection)
    return connection


@pytest.fixture
def room(collaboration, warehouse, tmp_path):
    with CleanRoom(collaboration, warehouse, state_dir=tmp_path / "state", seed=11) as clean_room:
        yield clean_room
