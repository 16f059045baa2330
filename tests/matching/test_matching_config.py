"""Schema mappings and workflows: the project's files load, and bad ones fail naming file and field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adplan.matching.config import (
    ML_MATCHING,
    RULE_MATCHING,
    aws_workflow_request,
    load_config,
    load_matching_workflow,
    load_schema_mapping,
)
from adplan.matching.errors import MatchingConfigError
from adplan.settings import PROJECT_DIR

from .conftest import PEOPLE_MAPPING, rule_workflow

CONFIG_DIR = PROJECT_DIR / "include" / "config" / "entity_resolution"


@pytest.mark.parametrize(("name", "kind"), [("identity_rules", RULE_MATCHING), ("identity_ml", ML_MATCHING)])
def test_project_workflows_load_with_their_schema_mappings(name, kind):
    workflow = load_config(CONFIG_DIR / "workflows" / f"{name}.json")
    assert workflow.resolution_type == kind
    assert {source.name for source in workflow.inputs} >= {
        "curated_crm_customers",
        "curated_publisher_audience",
    }


def test_schema_mapping_round_trips_to_the_create_schema_mapping_body():
    path = CONFIG_DIR / "schema_mappings" / "crm_customers.json"
    assert load_schema_mapping(path).to_request() == {
        key: value for key, value in json.loads(path.read_text()).items() if key != "tags"
    }


def test_grouped_fields_are_one_attribute_of_their_match_key():
    mapping = load_schema_mapping(CONFIG_DIR / "schema_mappings" / "crm_customers.json")
    by_name = {attribute.name: attribute for attribute in mapping.attributes()}
    assert [field.field_name for field in by_name["full_name"].fields] == ["first_name", "last_name"]
    assert by_name["full_name"].match_key == "Name"
    assert mapping.unique_id.field_name == "customer_id"


def test_aws_request_turns_local_names_into_glue_table_arns():
    workflow = load_config(CONFIG_DIR / "workflows" / "identity_rules.json")
    request = aws_workflow_request(
        workflow, region="eu-west-1", account_id="123456789012", glue_database="adplan", role_arn="arn:role"
    )
    assert request["inputSourceConfig"][0]["inputSourceARN"] == (
        "arn:aws:glue:eu-west-1:123456789012:table/adplan/curated_crm_customers"
    )
    rules = request["resolutionTechniques"]["ruleBasedProperties"]["rules"]
    assert rules[0] == {"ruleName": "EmailAndPhone", "matchingKeys": ["EmailHash", "PhoneHash"]}
    assert request["roleArn"] == "arn:role"


def with_fields(*fields: dict) -> dict:
    return {"schemaName": "s", "mappedInputFields": list(fields)}


UID = {"fieldName": "id", "type": "UNIQUE_ID"}


@pytest.mark.parametrize(
    ("document", "field", "problem"),
    [
        ({"mappedInputFields": [UID]}, "schemaName", "is required"),
        (with_fields(), "mappedInputFields", "non-empty"),
        (
            with_fields({"fieldName": "email", "type": "EMAIL"}),
            "mappedInputFields[0].type",
            "not an attribute type",
        ),
        (
            with_fields({"fieldName": "email", "type": "EMAIL_ADDRESS"}),
            "mappedInputFields",
            "exactly one field of type UNIQUE_ID",
        ),
        (with_fields(UID, {"fieldName": "id2", "type": "UNIQUE_ID"}), "mappedInputFields", "exactly one"),
        (
            with_fields(UID, {"fieldName": "MatchID", "type": "STRING"}),
            "mappedInputFields[1].fieldName",
            "reserved",
        ),
        (with_fields(UID, UID), "mappedInputFields[1].fieldName", "mapped twice"),
        (
            with_fields(UID, {"fieldName": "e", "type": "EMAIL_ADDRESS", "hashed": "yes"}),
            "mappedInputFields[1].hashed",
            "true or false",
        ),
        (
            with_fields(
                UID,
                {"fieldName": "f", "type": "NAME_FIRST", "groupName": "n", "matchKey": "Name"},
                {"fieldName": "l", "type": "NAME_LAST", "groupName": "n", "matchKey": "Surname"},
            ),
            "mappedInputFields[2].matchKey",
            "share one matchKey",
        ),
    ],
)
def test_bad_schema_mappings_name_the_field(document, field, problem):
    with pytest.raises(MatchingConfigError, match=problem) as error:
        load_schema_mapping(document, origin="mapping.json")
    assert error.value.field == field
    assert error.value.source == "mapping.json"


def bad_workflow(change) -> dict:
    document = rule_workflow([("ByEmail", ["Email"])])
    change(document)
    return document


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        (lambda d: d.pop("workflowName"), "workflowName", "is required"),
        (lambda d: d.update(inputSourceConfig=[]), "inputSourceConfig", "1 to 20"),
        (
            lambda d: d["inputSourceConfig"][0].update(schemaName="nope"),
            "inputSourceConfig[0].schemaName",
            "no schema mapping named 'nope'",
        ),
        (
            lambda d: d["resolutionTechniques"].update(resolutionType="FUZZY"),
            "resolutionTechniques.resolutionType",
            "must be one of",
        ),
        (
            lambda d: d["resolutionTechniques"].update(resolutionType="PROVIDER"),
            "resolutionTechniques.resolutionType",
            "only on AWS",
        ),
        (
            lambda d: d["resolutionTechniques"]["ruleBasedProperties"].update(attributeMatchingModel="SOME"),
            "resolutionTechniques.ruleBasedProperties.attributeMatchingModel",
            "ONE_TO_ONE or MANY_TO_MANY",
        ),
        (
            lambda d: d["resolutionTechniques"]["ruleBasedProperties"]["rules"][0].update(
                matchingKeys=["Email", "Shoe"]
            ),
            "resolutionTechniques.ruleBasedProperties.rules[0].matchingKeys[1]",
            "no input's schema mapping has matchKey 'Shoe'",
        ),
        (
            lambda d: d["resolutionTechniques"]["ruleBasedProperties"]["rules"].append(
                {"ruleName": "ByEmail", "matchingKeys": ["Phone"]}
            ),
            "resolutionTechniques.ruleBasedProperties.rules[1].ruleName",
            "used by another rule",
        ),
        (
            lambda d: d["outputSourceConfig"][0].update(output=[{"name": "shoe_size"}]),
            "outputSourceConfig[0].output[0].name",
            "not a field",
        ),
        (
            lambda d: d["resolutionTechniques"].update(resolutionType="ML_MATCHING"),
            "resolutionTechniques.ruleBasedProperties",
            "only allowed with RULE_MATCHING",
        ),
    ],
)
def test_bad_workflows_name_the_field(change, field, problem):
    with pytest.raises(MatchingConfigError, match=problem) as error:
        load_matching_workflow(
            bad_workflow(change), [load_schema_mapping(PEOPLE_MAPPING)], origin="workflow.json"
        )
    assert error.value.field == field
    assert "workflow.json" in str(error.value)


def test_a_unique_id_that_is_another_inputs_field_is_rejected():
    crm = {
        "schemaName": "crm",
        "mappedInputFields": [
            {"fieldName": "customer_id", "type": "UNIQUE_ID"},
            {"fieldName": "email", "type": "EMAIL_ADDRESS", "matchKey": "Email"},
        ],
    }
    orders = {
        "schemaName": "orders",
        "mappedInputFields": [
            {"fieldName": "order_id", "type": "UNIQUE_ID"},
            {"fieldName": "customer_id", "type": "STRING", "matchKey": "Email"},
        ],
    }
    document = rule_workflow([("ByEmail", ["Email"])], inputs=[("crm", "crm"), ("orders", "orders")])
    with pytest.raises(MatchingConfigError, match="also a mapped field of orders"):
        load_matching_workflow(document, [load_schema_mapping(crm), load_schema_mapping(orders)])


def test_unreadable_files_are_config_errors(tmp_path: Path):
    broken = tmp_path / "broken.json"
    broken.write_text('{"schemaName": ')
    with pytest.raises(MatchingConfigError, match="not valid JSON") as error:
        load_schema_mapping(broken)
    assert error.value.source == str(broken)
    with pytest.raises(MatchingConfigError, match="file not found"):
        load_schema_mapping(tmp_path / "missing.json")


def test_a_description_longer_than_the_service_allows_is_refused():
    from adplan.matching.config import MatchingConfigError, load_schema_mapping

    body = {
        "schemaName": "s",
        "description": "x" * 256,
        "mappedInputFields": [{"fieldName": "id", "type": "UNIQUE_ID"}],
    }
    with pytest.raises(MatchingConfigError, match=r"description.*256 characters"):
        load_schema_mapping(body, origin="s.json")
