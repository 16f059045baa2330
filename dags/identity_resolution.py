"""Identity resolution: every advertiser, publisher and ad-log record gets a person_id."""

from __future__ import annotations

from airflow.sdk import Param, dag

from adplan.assets import curated, table_asset
from adplan.dag_defaults import dag_kwargs
from adplan.targets import builders

DOC = """
### Identity resolution

Runs when the nightly hygiene run has published the curated CRM, orders, publisher audience and
identity events.

1. **ad_devices / ad_cookies**: devices and cookies that logins and newsletter clicks linked to
   hashed emails become matching inputs (`sql/identity/ad_identifiers.sql`).
2. **match**: the AWS Entity Resolution matching workflow in `include/config/entity_resolution/`
   (`workflows/identity_<technique>.json`): rule matching as a waterfall, or ML matching (Splink
   locally). Output in the service's shape: `InputSourceARN`, record id, `MatchID`, `MatchRule` or
   `ConfidenceLevel` (`entity_resolution_output`).
3. **identity_graph**: source, record_id, person_id (= MatchID), match_rule, confidence; published
   as an Asset for audiences, clean rooms and attribution.

The local matching job also reports cluster sizes, matched records per source and, when ground truth
is present (generated worlds), precision, recall and F1 in its XCom.
"""

b = builders()


@dag(
    dag_id="identity_resolution",
    schedule=(
        curated("crm_customers")
        & curated("orders")
        & curated("publisher_audience")
        & curated("identity_events")
    ),
    doc_md=DOC,
    params={
        "technique": Param(
            "rules",
            enum=["rules", "ml"],
            description="RULE_MATCHING (waterfall of exact rules) or ML_MATCHING (probabilistic).",
        ),
    },
    **dag_kwargs("identity"),
)
def identity_resolution():
    ad_devices = b.query(
        "ad_devices",
        "identity/ad_identifiers.sql",
        output_table="curated_ad_devices",
        zone="curated",
        params={"id_column": "device_id"},
    )
    ad_cookies = b.query(
        "ad_cookies",
        "identity/ad_identifiers.sql",
        output_table="curated_ad_cookies",
        zone="curated",
        params={"id_column": "cookie_id"},
    )
    match = b.matching_job("match", "workflows/identity_{{ params.technique }}.json")
    graph = b.query(
        "identity_graph",
        "identity/identity_graph.sql",
        output_table="identity_graph",
        zone="curated",
    )
    # The graph is published (and schedules audiences, attribution, clean rooms) only once it passes.
    checks = b.quality_checks(
        "check_identity_graph",
        "curated",
        "identity_graph",
        column_checks={
            "person_id": {"null_check": {"equal_to": 0}},
            "record_id": {"null_check": {"equal_to": 0}},
        },
        table_checks={
            "has_records": {"check_statement": "COUNT(*) > 0"},
            "one_person_per_record": {
                "check_statement": "COUNT(*) = COUNT(DISTINCT source || '/' || record_id)"
            },
        },
        outlets=[table_asset("curated", "identity_graph")],
    )
    [ad_devices, ad_cookies] >> match >> graph >> checks


identity_resolution()
