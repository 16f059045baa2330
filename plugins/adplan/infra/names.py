"""Names the templates share with the aws target and the engines.

The aws target (``adplan.targets.aws``) and the clean-room jobs import Airflow and DuckDB engines;
rendering must stay a quick, Airflow-free step, so the few names are repeated here and
tests/infra/test_names.py checks that they equal the originals.
"""

from __future__ import annotations

GLUE_JOB_NAME = "adplan-job"  # adplan.targets.aws.GLUE_JOB_NAME
CLEAN_ROOM_ZONE = "cleanrooms"  # adplan.cleanroom.jobs.ZONE: where the configured tables' data lives


def matching_workflow_name(workflow: str) -> str:
    """As ``adplan.targets.aws.matching_workflow_name``: ``workflows/identity_rules.json`` -> ``adplan-identity-rules``."""
    return "adplan-" + workflow.rsplit("/", 1)[-1].removesuffix(".json").replace("_", "-")
