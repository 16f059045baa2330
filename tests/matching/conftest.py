"""Small hand-made inputs for the matching tests: schema mappings, workflows and CSV files."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

from adplan.matching.config import load_matching_workflow, load_schema_mapping
from adplan.matching.engine import MatchRun, run_matching
from adplan.matching.inputs import file_relation

PEOPLE_MAPPING = {
    "schemaName": "people",
    "mappedInputFields": [
        {"fieldName": "id", "type": "UNIQUE_ID"},
        {"fieldName": "first_name", "type": "NAME_FIRST", "groupName": "name", "matchKey": "Name"},
        {"fieldName": "last_name", "type": "NAME_LAST", "groupName": "name", "matchKey": "Name"},
        {"fieldName": "email", "type": "EMAIL_ADDRESS", "matchKey": "Email"},
        {"fieldName": "business_email", "type": "EMAIL_ADDRESS", "matchKey": "Email"},
        {"fieldName": "phone", "type": "PHONE_NUMBER", "matchKey": "Phone"},
    ],
}
PEOPLE_COLUMNS = ["id", "first_name", "last_name", "email", "business_email", "phone"]


def write_csv(path: Path, columns: list[str], rows: list[tuple]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        writer.writerows(["" if value is None else value for value in row] for row in rows)
    return path


def rule_workflow(
    rules: list[tuple[str, list[str]]],
    model: str = "MANY_TO_MANY",
    inputs: list[tuple[str, str]] = (("people", "people"),),
    normalize: bool = False,
    output: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {
        "workflowName": "test-rules",
        "inputSourceConfig": [
            {"inputSourceARN": arn, "schemaName": schema, "applyNormalization": normalize}
            for arn, schema in inputs
        ],
        "outputSourceConfig": [{"outputS3Path": "s3://bucket/out/", "output": output or []}],
        "resolutionTechniques": {
            "resolutionType": "RULE_MATCHING",
            "ruleBasedProperties": {
                "rules": [{"ruleName": name, "matchingKeys": keys} for name, keys in rules],
                "attributeMatchingModel": model,
                "matchPurpose": "IDENTIFIER_GENERATION",
            },
        },
    }


@pytest.fixture
def people_csv(tmp_path: Path):
    def make(rows: list[tuple], name: str = "people.csv") -> Path:
        return write_csv(tmp_path / name, PEOPLE_COLUMNS, rows)

    return make


def run_rules(workflow_doc: dict, files: dict[str, Path], mappings: list[dict] | None = None) -> MatchRun:
    schema_mappings = [load_schema_mapping(doc) for doc in (mappings or [PEOPLE_MAPPING])]
    workflow = load_matching_workflow(workflow_doc, schema_mappings)
    return run_matching(workflow, {name: file_relation(path) for name, path in files.items()})


def assignments(run: MatchRun) -> dict[str, tuple[str, str | None]]:
    """record_id -> (MatchID, MatchRule) from the run's output."""
    rows = run.con.execute(f"SELECT record_id, MatchID, MatchRule FROM ({run.output_sql()})").fetchall()
    return {record_id: (match_id, rule) for record_id, match_id, rule in rows}
