"""The local AWS Clean Rooms engine: analysis rules checked with sqlglot, protected queries on DuckDB.

Public API::

    from adplan.cleanroom import CleanRoom, load_collaboration

    collaboration = load_collaboration()                 # include/config/collaboration.yaml
    room = CleanRoom(collaboration, duckdb_connection, state_dir=...)
    room.check("agency", sql)                            # QueryCheck(allowed, rule_type, tables, error)
    record = room.start_protected_query("agency", sql, "PARQUET", output_dir)
    record["status"], record["result"]["output"]["s3"]["location"]
    room.start_protected_query("advertiser", None, "CSV", output_dir,
                               parameters={"start_date": "2024-01-01"}, analysis_template="...")
    room.get_protected_query(record["id"])

The engine imports neither Airflow nor boto3.
"""

from adplan.cleanroom.checker import CheckedQuery, QueryChecker
from adplan.cleanroom.config import (
    AggregationRule,
    AnalysisTemplate,
    Collaboration,
    ConfiguredTable,
    CustomRule,
    DifferentialPrivacyPolicy,
    ListRule,
    Member,
    load_collaboration,
    parse_analysis_rule_policy,
)
from adplan.cleanroom.errors import CleanRoomsError, CollaborationConfigError
from adplan.cleanroom.room import TERMINAL_STATUSES, CleanRoom, QueryCheck, wait_until_terminal

__all__ = [
    "TERMINAL_STATUSES",
    "AggregationRule",
    "AnalysisTemplate",
    "CheckedQuery",
    "CleanRoom",
    "CleanRoomsError",
    "Collaboration",
    "CollaborationConfigError",
    "ConfiguredTable",
    "CustomRule",
    "DifferentialPrivacyPolicy",
    "ListRule",
    "Member",
    "QueryCheck",
    "QueryChecker",
    "load_collaboration",
    "parse_analysis_rule_policy",
    "wait_until_terminal",
]
