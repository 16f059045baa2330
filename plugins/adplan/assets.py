"""Airflow Assets for the lake's tables, named after the tables, located on the current target.

A producing task lists the assets it writes as ``outlets``; a downstream DAG is scheduled on them.
"""

from __future__ import annotations

from airflow.sdk import Asset

from adplan.catalog import LANDING_SOURCES
from adplan.settings import get_settings

__all__ = ["LANDING_SOURCES", "curated", "table_asset"]



def table_asset(zone: str, table: str) -> Asset:
    settings = get_settings()
    if settings.target == "aws":
        uri = f"{settings.s3_lake}/{zone}/{table}/"
    else:
        uri = (settings.lake_dir / zone / table).as_uri()
    return Asset(name=table, uri=uri, group="adplan")


def curated(source: str) -> Asset:
    return table_asset("curated", f"curated_{source}")
