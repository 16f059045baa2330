"""`adplan match`: Entity Resolution workflows on files, for people without Airflow."""

from __future__ import annotations

import csv
import json

import pytest
from click.testing import CliRunner

from adplan.cli import main


@pytest.fixture
def files(tmp_path):
    people = {
        "schemaName": "people",
        "mappedInputFields": [
            {"fieldName": "id", "type": "UNIQUE_ID"},
            {"fieldName": "email", "type": "EMAIL_ADDRESS", "matchKey": "Email"},
        ],
    }
    workflow = {
        "workflowName": "people-rules",
        "inputSourceConfig": [
            {"inputSourceARN": "crm", "schemaName": "people", "applyNormalization": True},
            {"inputSourceARN": "shop", "schemaName": "people", "applyNormalization": True},
        ],
        "outputSourceConfig": [{"outputS3Path": "s3://x/out/", "output": [{"name": "email"}]}],
        "resolutionTechniques": {
            "resolutionType": "RULE_MATCHING",
            "ruleBasedProperties": {
                "rules": [{"ruleName": "SameEmail", "matchingKeys": ["Email"]}],
                "attributeMatchingModel": "ONE_TO_ONE",
            },
        },
    }
    (tmp_path / "people.json").write_text(json.dumps(people))
    (tmp_path / "workflow.json").write_text(json.dumps(workflow))
    (tmp_path / "crm.csv").write_text("id,email\nc1, Ann.Lee@Example.com\nc2,bob@example.com\n")
    (tmp_path / "shop.csv").write_text("id,email\ns1,ann.lee@example.com\ns2,carol@example.com\n")
    return tmp_path


def _invoke(files, *inputs):
    args = [
        "match",
        "--schema-mapping",
        str(files / "people.json"),
        "--workflow",
        str(files / "workflow.json"),
    ]
    for item in inputs:
        args += ["--input", item]
    return CliRunner().invoke(main, [*args, "--out", str(files / "out.csv")])


def test_match_links_records_across_inputs(files):
    result = _invoke(files, f"crm={files / 'crm.csv'}", f"shop={files / 'shop.csv'}")
    assert result.exit_code == 0, result.output
    with open(files / "out.csv") as handle:
        rows = {row["record_id"]: row for row in csv.DictReader(handle)}
    assert rows["c1"]["MatchID"] == rows["s1"]["MatchID"]
    assert rows["c1"]["MatchRule"] == "SameEmail"
    assert len({rows[key]["MatchID"] for key in ("c1", "c2", "s2")}) == 3
    assert {rows["c1"]["InputSourceARN"], rows["s1"]["InputSourceARN"]} == {"crm", "shop"}


def test_unknown_input_is_a_clear_error(files):
    result = _invoke(files, f"crm={files / 'crm.csv'}", f"store={files / 'shop.csv'}")
    assert result.exit_code == 1
    assert "store" in result.output
    assert "Traceback" not in result.output


def test_input_must_be_name_equals_path(files):
    result = _invoke(files, "crm")
    assert result.exit_code == 2
    assert "is not NAME=PATH" in result.output
