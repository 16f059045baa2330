"""Conversions of exposed vs unexposed customers by creative, on the collaboration's own configured tables.

The analysis is the ``conversions_by_creative`` analysis template of include/config/collaboration.yaml
(custom rule: an anti-join and a conditional count that no aggregation rule allows). Its answer is
checked against an independent pandas count on a world whose exposures are known, every output row
meets the threshold written into the template, and the adversarial variants are refused.
"""

from __future__ import annotations

import copy

import duckdb
import numpy as np
import pandas as pd
import pytest
import yaml

from adplan.cleanroom import CleanRoom, Collaboration
from adplan.settings import PROJECT_DIR

CONFIG = PROJECT_DIR / "include" / "config" / "collaboration.yaml"
TEMPLATE = "conversions_by_creative"
THRESHOLD = 100
START = pd.Timestamp("2026-03-01")


def document() -> dict:
    return yaml.safe_load(CONFIG.read_text())


def build_world(con: duckdb.DuckDBPyConnection, seed: int = 3) -> dict[str, pd.DataFrame]:
    """2,000 customers; impressions of four creatives, one of them seen by only 60 customers."""
    rng = np.random.default_rng(seed)
    people = 2600
    email = np.array([f"{i:064x}" for i in range(people)])
    customers = np.arange(2000)  # people 2000.. are the publisher's only
    segment = rng.choice(["s1", "s2"], len(customers))
    base = pd.DataFrame(
        {"customer_id": customers.astype(str), "email_sha256": email[customers], "phone_sha256": None,
         "segment": segment, "ltv_tier": "high", "region": "north"}
    )  # fmt: skip
    rows = []
    for creative, campaign, viewers in (
        ("cr1", "CMP1", rng.choice(people, 700, replace=False)),
        ("cr2", "CMP1", rng.choice(people, 500, replace=False)),
        ("cr3", "CMP2", rng.choice(people, 400, replace=False)),
        ("rare", "CMP2", rng.choice(people, 60, replace=False)),  # below the threshold
    ):
        for person in viewers:
            for _ in range(int(rng.integers(1, 4))):
                day = START + pd.Timedelta(days=int(rng.integers(-10, 20)))
                rows.append((email[person], campaign, creative, day))
    impressions = pd.DataFrame(rows, columns=["email_sha256", "campaign_id", "creative_id", "ts"])
    buyers = rng.choice(people, 500, replace=False)
    conversions = pd.DataFrame(
        {"email_sha256": email[buyers],
         "conversion_ts": [START + pd.Timedelta(days=int(d)) for d in rng.integers(-5, 30, len(buyers))],
         "creative_id": None, "value": rng.gamma(2.0, 30.0, len(buyers)).round(2)}
    )  # fmt: skip
    frames = {
        "cr_advertiser_customers": base,
        "cr_publisher_impressions": impressions,
        "cr_advertiser_conversions": conversions,
        "cr_publisher_audience": pd.DataFrame(
            {
                "email_sha256": email[:10],
                "phone_sha256": None,
                "maid_sha256": None,
                "interest": "x",
                "age_band": "18-24",
                "region": "north",
            }
        ),
    }
    for name, frame in frames.items():
        con.register(f"{name}_frame", frame)
        con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM {name}_frame")
    return frames


def expected(frames: dict[str, pd.DataFrame], start=START, campaign: str = "") -> pd.DataFrame:
    """The analysis computed row by row in pandas, without the clean room."""
    customers = set(frames["cr_advertiser_customers"].email_sha256)
    imp = frames["cr_publisher_impressions"]
    imp = imp[imp.email_sha256.isin(customers) & (imp.ts >= start)]
    if campaign:
        imp = imp[imp.campaign_id == campaign]
    first = imp.groupby(["campaign_id", "creative_id", "email_sha256"]).ts.min().reset_index()
    conv = frames["cr_advertiser_conversions"]
    conv = conv[conv.email_sha256.isin(customers) & (conv.conversion_ts >= start)]
    merged = first.merge(conv[["email_sha256", "conversion_ts"]], on="email_sha256", how="left")
    merged["converted"] = merged.conversion_ts >= merged.ts
    converted = merged[merged.converted].groupby(["campaign_id", "creative_id"]).email_sha256.nunique()
    exposed = first.groupby(["campaign_id", "creative_id"]).email_sha256.nunique()
    out = (
        pd.DataFrame({"exposed_customers": exposed, "exposed_converters": converted}).fillna(0).reset_index()
    )
    unexposed = customers - set(first.email_sha256)
    out["unexposed_customers"] = len(unexposed)
    out["unexposed_converters"] = len(unexposed & set(conv.email_sha256))
    return out[out.exposed_customers >= THRESHOLD].reset_index(drop=True)


@pytest.fixture(scope="module")
def world():
    con = duckdb.connect()
    frames = build_world(con)
    yield con, frames
    con.close()


@pytest.fixture
def room(world, tmp_path):
    con, _ = world
    with CleanRoom(Collaboration.from_dict(document()), con, state_dir=tmp_path / "state") as clean_room:
        yield clean_room


def run(room, tmp_path, parameters=None, member="agency", template=TEMPLATE):
    return room.start_protected_query(
        member, None, "CSV", tmp_path, parameters=parameters, analysis_template=template
    )


def result(record) -> pd.DataFrame:
    assert record["status"] == "SUCCESS", record.get("error")
    return pd.read_csv(record["result"]["output"]["s3"]["location"])


@pytest.mark.parametrize("campaign", ["", "CMP1"])
def test_answer_equals_an_independent_count(room, world, tmp_path, campaign):
    _, frames = world
    got = result(run(room, tmp_path, {"start_date": str(START), "campaign_id": campaign}))
    want = expected(frames, START, campaign)
    assert len(want) > 0
    assert got[list(want.columns)].astype(want.dtypes.to_dict()).equals(want)
    rate = got.exposed_converters / got.exposed_customers
    assert np.allclose(got.exposed_conversion_rate, rate.round(4))
    baseline = got.unexposed_converters / got.unexposed_customers
    assert np.allclose(got.unexposed_conversion_rate, baseline.round(4))
    if campaign:
        assert set(got.campaign_id) == {campaign}


def test_rows_under_the_threshold_are_dropped_without_trace(room, world, tmp_path):
    got = result(run(room, tmp_path, {"start_date": str(START)}))
    assert "rare" not in set(got.creative_id)  # 60 viewers at most
    assert set(got.creative_id) == {"cr1", "cr2", "cr3"}


@pytest.mark.parametrize(
    "start", ["2026-02-01 00:00:00", "2026-03-10 00:00:00", "2026-03-18 00:00:00", "2027-01-01 00:00:00"]
)
def test_every_output_row_meets_the_threshold_whatever_the_window(room, tmp_path, start):
    got = result(run(room, tmp_path, {"start_date": start}))
    assert (got.exposed_customers >= THRESHOLD).all()
    assert (got.unexposed_customers >= THRESHOLD).all()


def test_a_campaign_parameter_is_a_value_never_sql(room, tmp_path):
    got = result(run(room, tmp_path, {"campaign_id": "x' OR '1'='1"}))
    assert got.empty


def test_the_dag_analysis_runs_the_template(room, tmp_path):
    from adplan.cleanroom.analyses import ANALYSES, render_parameters

    analysis = ANALYSES["conversions_by_creative"]
    parameters = render_parameters(analysis, "2026-03-29", {"lookback_days": 28})
    assert parameters == {"start_date": "2026-03-01 00:00:00", "campaign_id": ""}
    assert analysis.template == TEMPLATE
    assert not result(run(room, tmp_path, parameters)).empty


# --- adversarial variants ---------------------------------------------------------------------------

TEMPLATE_SQL = next(t for t in document()["analysisTemplates"] if t["name"] == TEMPLATE)["source"]["text"]
NO_THRESHOLD = TEMPLATE_SQL.replace(
    "WHERE x.exposed_customers >= 100\n  AND u.unexposed_customers >= 100\n", ""
)
PER_PERSON = TEMPLATE_SQL.replace(
    "SELECT x.campaign_id,\n", "SELECT x.campaign_id, e.email_sha256,\n"
).replace("FROM exposed x\n", "FROM exposed x JOIN exposures e ON e.creative_id = x.creative_id\n")


def with_template(name: str, sql: str, approve: bool, parameters=None) -> Collaboration:
    """The collaboration plus a template ``name``; with ``approve``, every custom table approves it."""
    doc = copy.deepcopy(document())
    doc["analysisTemplates"].append(
        {"name": name, "owner": "agency", "format": "SQL", "source": {"text": sql},
         "analysisParameters": parameters or [
             {"name": "start_date", "type": "TIMESTAMP", "defaultValue": "2026-01-01 00:00:00"},
             {"name": "campaign_id", "type": "VARCHAR", "defaultValue": ""}]}
    )  # fmt: skip
    if approve:
        for table in doc["configuredTables"]:
            custom = table["analysisRule"]["policy"]["v1"].get("custom")
            if custom is not None:
                custom["allowedAnalyses"] = [*custom["allowedAnalyses"], name]
    return Collaboration.from_dict(doc)


# The template's text with its parameters written in, run as a direct query.
TEMPLATE_AS_QUERY = TEMPLATE_SQL.replace(":start_date", "CAST('2026-03-01 00:00:00' AS TIMESTAMP)").replace(
    ":campaign_id", "''"
)
AGGREGATION_VARIANT = (
    "SELECT i.creative_id, COUNT(DISTINCT c.email_sha256) AS unexposed FROM advertiser_customers c "
    "LEFT JOIN publisher_impressions i ON i.email_sha256 = c.email_sha256 WHERE i.email_sha256 IS NULL "
    "GROUP BY i.creative_id"
)

REFUSED_SQL = {
    "the template's SQL as a direct query": (TEMPLATE_AS_QUERY, "RESOURCE_ACCESS_DENIED", "allows only the analysis templates"),
    "direct query on the exposures table": (
        "SELECT creative_id, COUNT(DISTINCT email_sha256) AS n FROM publisher_exposures GROUP BY creative_id",
        "RESOURCE_ACCESS_DENIED", "allows only the analysis templates",
    ),
    "direct query on the customer base": (
        "SELECT COUNT(*) AS n FROM advertiser_customer_base", "RESOURCE_ACCESS_DENIED", "allows only the analysis templates",
    ),
    "unexposed baseline under the aggregation rule (anti-join)": (AGGREGATION_VARIANT, "INVALID_QUERY", "LEFT JOIN is not allowed"),
    "conditional count under the aggregation rule": (
        "SELECT i.creative_id, COUNT(DISTINCT CASE WHEN i.ts IS NOT NULL THEN c.email_sha256 END) AS n "
        "FROM advertiser_customers c JOIN publisher_impressions i ON i.email_sha256 = c.email_sha256 GROUP BY i.creative_id",
        "INVALID_QUERY", None,
    ),
    "exposures CTE under the aggregation rule": (
        "WITH e AS (SELECT email_sha256, creative_id FROM publisher_impressions) "
        "SELECT e.creative_id, COUNT(DISTINCT e.email_sha256) AS n FROM e GROUP BY e.creative_id",
        "INVALID_QUERY", None,
    ),
    "mixing the custom tables with aggregation tables": (
        "SELECT x.creative_id, COUNT(DISTINCT c.email_sha256) AS n FROM publisher_exposures x "
        "JOIN advertiser_customers c ON c.email_sha256 = x.email_sha256 GROUP BY x.creative_id",
        "INVALID_QUERY", "same analysis rule type",
    ),
}  # fmt: skip


@pytest.mark.parametrize(("sql", "code", "fragment"), list(REFUSED_SQL.values()), ids=list(REFUSED_SQL))
def test_direct_variants_are_refused(room, tmp_path, sql, code, fragment):
    record = room.start_protected_query("agency", sql, "CSV", tmp_path)
    assert record["status"] == "FAILED"
    assert record["error"]["code"] == code, record["error"]
    if fragment:
        assert fragment in record["error"]["message"], record["error"]["message"]
    assert "result" not in record
    assert not list(tmp_path.rglob("result.*"))


def test_a_template_without_the_threshold_is_not_approved(world, tmp_path):
    assert ">= 100" in TEMPLATE_SQL and ">= 100" not in NO_THRESHOLD
    con, _ = world
    with CleanRoom(with_template("no_threshold", NO_THRESHOLD, approve=False), con) as room:
        record = run(room, tmp_path, template="no_threshold")
    assert record["status"] == "FAILED"
    assert record["error"]["code"] == "RESOURCE_ACCESS_DENIED"
    assert "has not approved analysis template no_threshold" in record["error"]["message"]


def test_an_approved_template_still_cannot_output_hashed_emails(world, tmp_path):
    assert "e.email_sha256," in PER_PERSON
    con, _ = world
    with CleanRoom(with_template("per_person", PER_PERSON, approve=True), con) as room:
        record = run(room, tmp_path, template="per_person")
    assert record["status"] == "FAILED"
    assert record["error"]["code"] == "INVALID_QUERY"
    assert "disallowedOutputColumns" in record["error"]["message"]


@pytest.mark.parametrize(
    ("parameters", "member", "code", "fragment"),
    [
        ({"minimum": "1"}, "agency", "MALFORMED_QUERY", "has no parameters"),  # the threshold is no parameter
        ({"start_date": "2026-03-01'; DROP TABLE x; --"}, "agency", "MALFORMED_QUERY", "TIMESTAMP"),
        (None, "publisher", "RESOURCE_ACCESS_DENIED", "CAN_QUERY"),
    ],
    ids=["lower the threshold", "injection", "member without CAN_QUERY"],
)
def test_refused_runs(room, tmp_path, parameters, member, code, fragment):
    record = run(room, tmp_path, parameters, member=member)
    assert record["status"] == "FAILED"
    assert record["error"]["code"] == code
    assert fragment in record["error"]["message"]
