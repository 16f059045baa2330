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

The engine imports neither Airflow nor boto3. Its names are imported on first use (PEP 562), so that
``adplan.cleanroom.analyses`` (the analysis registry, read when a DAG file is parsed) costs no sqlglot,
DuckDB or numpy import.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "CheckedQuery": "adplan.cleanroom.checker",
    "QueryChecker": "adplan.cleanroom.checker",
    "AggregationRule": "adplan.cleanroom.config",
    "AnalysisTemplate": "adplan.cleanroom.config",
    "Collaboration": "adplan.cleanroom.config",
    "ConfiguredTable": "adplan.cleanroom.config",
    "CustomRule": "adplan.cleanroom.config",
    "DifferentialPrivacyPolicy": "adplan.cleanroom.config",
    "ListRule": "adplan.cleanroom.config",
    "Member": "adplan.cleanroom.config",
    "load_collaboration": "adplan.cleanroom.config",
    "parse_analysis_rule_policy": "adplan.cleanroom.config",
    "CleanRoomsError": "adplan.cleanroom.errors",
    "CollaborationConfigError": "adplan.cleanroom.errors",
    "TERMINAL_STATUSES": "adplan.cleanroom.room",
    "CleanRoom": "adplan.cleanroom.room",
    "QueryCheck": "adplan.cleanroom.room",
    "wait_until_terminal": "adplan.cleanroom.room",
}

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


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


if TYPE_CHECKING:
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
