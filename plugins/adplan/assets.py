"""Airflow Assets for the lake's tables, named after the tables.

A producing task lists the assets it writes as ``outlets``; a downstream DAG is scheduled on them.
"""

from __future__ import annotations

from airflow.sdk import Asset

from adplan.catalog import LANDING_SOURCES
from adplan.settings import get_settings

__all__ = ["LANDING_SOURCES", "curated", "table_asset"]


def table_asset(zone: str, table: str) -> Asset:
    """The Asset of a lake table, identified by its production location on both targets.

    The local lake mirrors the S3 layout, so the S3 URI names the same table locally. It must not
    depend on ADPLAN_HOME: Airflow keeps one active asset per name, and two homes with different URIs
    would make the other home's assets inactive.
    """
    return Asset(name=table, uri=f"{get_settings().s3_lake}/{zone}/{table}/", group="adplan")


def curated(source: str) -> Asset:
    return table_asset("curated", f"curated_{source}")
