"""Every audience SQL file renders and transpiles (Athena -> DuckDB), except the clean-room query, which is
Clean Rooms SQL and is sent as written."""

from __future__ import annotations

import pytest
import sqlglot

from adplan import sqlfiles

PARAMS = {
    "channels": ["search", "social"],
    "include_publisher_attributes": True,
    "base_table": "b",
    "scores_table": "s",
    "new_max_days": 90,
    "active_max_days": 180,
    "lapsed_min_days": 365,
    "loyal_min_purchase_days": 3,
    "members_table": "m",
    "profiles_table": "p",
    "segment_ids": ["a", "b"],
    "features": ["x", "y"],
    "segment_members_table": "sm",
    "rows_table": "r",
    "min_customers": 10,
    "segments": ["a"],
}
FILES = [name for name in sqlfiles.sql_files() if name.startswith("audiences/")]


def test_all_files_are_covered():
    assert len(FILES) >= 10


@pytest.mark.parametrize("name", FILES)
def test_renders_and_transpiles(name):
    athena = sqlfiles.render(name, "2026-11-28", PARAMS)
    assert "{{" not in athena
    assert "{%" not in athena
    if name == "audiences/cleanroom_enrichment.sql":
        sqlglot.parse_one(athena, read="trino")  # valid SQL, sent to the clean room untranspiled
        return
    duckdb_sql = sqlfiles.to_duckdb(athena)
    assert isinstance(sqlglot.parse_one(duckdb_sql, read="duckdb"), sqlglot.exp.Query)
