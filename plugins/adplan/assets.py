"""Airflow Assets for the lake's tables, named after the tables, located on the current target.

A producing task lists the assets it writes as ``outlets``; a downstream DAG is scheduled on them.
"""

from __future__ import annotations

from airflow.sdk import Asset

from adplan.settings import get_settings

# Landing sources, in the order the nightly DAG takes them (one contract each in include/contracts/).
LANDING_SOURCES = (
    "advertisers",
    "campaigns",
    "media_plan",
    "creatives",
    "crm_customers",
    "orders",
    "publisher_audience",
    "ad_impressions",
    "ad_clicks",
    "identity_events",
    "spend",
)


def table_asset(zone: str, table: str) -> Asset:
    settings = get_settings()
    if settings.target == "aws":
        uri = f"{settings.s3_lake}/{zone}/{table}/"
    else:
        uri = (settings.lake_dir / zone / table).as_uri()
    return Asset(name=table, uri=uri, group="adplan")


def curated(source: str) -> Asset:
    return table_asset("curated", f"curated_{source}")
