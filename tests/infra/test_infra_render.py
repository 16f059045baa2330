"""The templates follow the configuration: change a rule in config, the template changes with it."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner
from conftest import ConfigCopy, resources_of

from adplan.cli import main
from adplan.infra.common import logical_id
from adplan.infra.config import InfraConfigError
from adplan.infra.lake import GLUE_TYPES
from adplan.infra.render import DEFAULT_OUT, render_texts, stale_templates
from adplan.settings import Settings


def test_committed_templates_are_up_to_date(project_config):
    stale = stale_templates(DEFAULT_OUT, render_texts(project_config, Settings()))
    assert not stale, (
        f"include/infra is stale ({', '.join(stale)}): the configuration changed without re-rendering; "
        "run `adplan infra render` and commit include/infra/"
    )


def _workflow(templates: dict[str, Any], name: str) -> dict[str, Any]:
    workflows = resources_of(
        templates["adplan-entity-resolution.json"], "AWS::EntityResolution::MatchingWorkflow"
    )
    (found,) = [w["Properties"] for w in workflows.values() if w["Properties"]["WorkflowName"] == name]
    return found


def test_matching_rules_follow_the_workflow_file(templates, project_config, config_copy: ConfigCopy):
    rules = project_config.workflows["identity_rules"]["resolutionTechniques"]["ruleBasedProperties"]["rules"]
    rendered = _workflow(templates, "adplan-identity-rules")["ResolutionTechniques"]["RuleBasedProperties"][
        "Rules"
    ]
    assert rendered == [{"RuleName": r["ruleName"], "MatchingKeys": r["matchingKeys"]} for r in rules]

    def change(workflow):
        workflow["resolutionTechniques"]["ruleBasedProperties"]["rules"][2]["matchingKeys"] = [
            "Name",
            "DateOfBirth",
        ]

    config_copy.edit_json("config/entity_resolution/workflows/identity_rules.json", change)
    changed = _workflow(config_copy.render(), "adplan-identity-rules")
    assert changed["ResolutionTechniques"]["RuleBasedProperties"]["Rules"][2] == {
        "RuleName": "NameDobPostcode",
        "MatchingKeys": ["Name", "DateOfBirth"],
    }


def test_workflow_inputs_are_glue_tables_with_their_schema_mappings(templates):
    workflow = _workflow(templates, "adplan-identity-rules")
    first = workflow["InputSourceConfig"][0]
    assert first["InputSourceARN"] == {
        "Fn::Sub": "arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:table/${GlueDatabase}/curated_crm_customers"
    }
    assert first["SchemaArn"] == {"Fn::GetAtt": ["SchemaMappingCrmCustomers", "SchemaArn"]}
    assert workflow["OutputSourceConfig"][0]["OutputS3Path"] == {
        "Fn::Sub": "s3://${LakeBucket}/curated/entity_resolution_output/"
    }


def test_workflow_name_must_follow_the_aws_target(config_copy: ConfigCopy):
    config_copy.edit_json(
        "config/entity_resolution/workflows/identity_ml.json", lambda w: w.update(workflowName="identity-ml")
    )
    with pytest.raises(InfraConfigError, match="adplan-identity-ml"):
        config_copy.render()


def _configured_table(templates: dict[str, Any], owner: str, name: str) -> dict[str, Any]:
    tables = resources_of(templates[f"adplan-cleanrooms-{owner}.json"], "AWS::CleanRooms::ConfiguredTable")
    (found,) = [t["Properties"] for t in tables.values() if t["Properties"]["Name"] == name]
    return found


def test_aggregation_threshold_follows_collaboration_yaml(templates, config_copy: ConfigCopy):
    table = _configured_table(templates, "publisher", "publisher_audience")
    aggregation = table["AnalysisRules"][0]["Policy"]["V1"]["Aggregation"]
    assert aggregation["OutputConstraints"] == [
        {"ColumnName": "email_sha256", "Minimum": 100, "Type": "COUNT_DISTINCT"}
    ]
    assert table["TableReference"] == {
        "Glue": {"DatabaseName": "adplan", "TableName": "cr_publisher_audience"}
    }

    def change(document):
        for configured in document["configuredTables"]:
            if configured["name"] == "publisher_audience":
                configured["analysisRule"]["policy"]["v1"]["aggregation"]["outputConstraints"][0][
                    "minimum"
                ] = 250

    config_copy.edit_yaml("config/collaboration.yaml", change)
    changed = _configured_table(config_copy.render(), "publisher", "publisher_audience")
    assert (
        changed["AnalysisRules"][0]["Policy"]["V1"]["Aggregation"]["OutputConstraints"][0]["Minimum"] == 250
    )


def test_custom_rules_name_analysis_templates_by_arn(templates, project_config):
    collaboration = project_config.collaboration
    (configured,) = [t for t in collaboration["configuredTables"] if t["name"] == "advertiser_conversions"]
    custom_config = configured["analysisRule"]["policy"]["v1"]["custom"]
    table = _configured_table(templates, "advertiser", "advertiser_conversions")
    custom = table["AnalysisRules"][0]["Policy"]["V1"]["Custom"]
    # The analyses are the agency's templates: the advertiser's stack takes their ARNs as parameters.
    assert custom["AllowedAnalyses"] == [
        {"Ref": logical_id("analysis_template", name, "arn")} for name in custom_config["allowedAnalyses"]
    ]
    assert custom["DisallowedOutputColumns"] == custom_config["disallowedOutputColumns"]
    agency = resources_of(templates["adplan-cleanrooms-agency.json"], "AWS::CleanRooms::AnalysisTemplate")
    assert sorted(a["Properties"]["Name"] for a in agency.values()) == sorted(
        t["name"] for t in collaboration["analysisTemplates"] if t["owner"] == "agency"
    )
    for analysis in agency.values():
        (source,) = [
            t for t in collaboration["analysisTemplates"] if t["name"] == analysis["Properties"]["Name"]
        ]
        assert analysis["Properties"]["Source"]["Text"] == source["source"]["text"]
    associations = resources_of(
        templates["adplan-cleanrooms-advertiser.json"], "AWS::CleanRooms::ConfiguredTableAssociation"
    )
    assert sorted(a["Properties"]["Name"] for a in associations.values()) == sorted(
        t["name"] for t in collaboration["configuredTables"] if t["owner"] == "advertiser"
    )


def _glue_table(templates: dict[str, Any], name: str) -> dict[str, Any]:
    tables = resources_of(templates["adplan-lake.json"], "AWS::Glue::Table")
    (found,) = [
        t["Properties"]["TableInput"]
        for t in tables.values()
        if t["Properties"]["TableInput"]["Name"] == name
    ]
    return found


def test_glue_tables_take_columns_and_types_from_the_contracts(templates, project_config):
    contract = project_config.contracts["orders"]
    raw = _glue_table(templates, "raw_orders")
    assert [(c["Name"], c["Type"]) for c in raw["StorageDescriptor"]["Columns"]] == [
        (c.name, GLUE_TYPES[c.type]) for c in contract.columns
    ] + [("source_file", "string"), ("source_row", "bigint")]
    assert raw["Parameters"]["projection.enabled"] == "true"
    assert raw["Parameters"]["projection.dt.type"] == "date"
    assert raw["PartitionKeys"] == [{"Name": "dt", "Type": "string"}]
    curated = {
        c["Name"]: c["Type"]
        for c in _glue_table(templates, "curated_crm_customers")["StorageDescriptor"]["Columns"]
    }
    assert curated["date_of_birth"] == "date"  # parsed by curation from mixed formats
    assert curated["email_valid"] == "boolean"
    assert curated["email_sha256"] == "string"


def test_a_new_contract_column_appears_in_its_tables(config_copy: ConfigCopy):
    def change(contract):
        contract["columns"].append(
            {"name": "loyalty_tier", "type": "integer", "required": False, "pii": False}
        )

    config_copy.edit_yaml("contracts/orders.yaml", change)
    rendered = config_copy.render()
    for table in ("raw_orders", "curated_orders"):
        columns = {c["Name"]: c["Type"] for c in _glue_table(rendered, table)["StorageDescriptor"]["Columns"]}
        assert columns["loyalty_tier"] == "bigint"


def test_one_crawler_per_zone_and_the_glue_job(templates):
    lake = templates["adplan-lake.json"]
    crawlers = sorted(c["Properties"]["Name"] for c in resources_of(lake, "AWS::Glue::Crawler").values())
    assert crawlers == sorted(
        f"adplan-{z}" for z in ("raw", "quarantine", "curated", "analytics", "cleanrooms", "creative")
    )
    (job,) = resources_of(lake, "AWS::Glue::Job").values()
    assert job["Properties"]["Name"] == "adplan-job"
    assert job["Properties"]["Command"]["ScriptLocation"] == {
        "Fn::Sub": "s3://${LakeBucket}/glue-scripts/adplan_job.py"
    }
    assert "duckdb==" in job["Properties"]["DefaultArguments"]["--additional-python-modules"]
    (workgroup,) = resources_of(lake, "AWS::Athena::WorkGroup").values()
    configuration = workgroup["Properties"]["WorkGroupConfiguration"]
    assert workgroup["Properties"]["Name"] == "adplan"
    assert configuration["EnforceWorkGroupConfiguration"] is True
    assert configuration["BytesScannedCutoffPerQuery"] == {"Ref": "BytesScannedCutoffPerQuery"}
    assert configuration["ResultConfiguration"]["OutputLocation"] == {
        "Fn::Sub": "s3://${LakeBucket}/athena-results/"
    }


def test_buckets_are_private_encrypted_tiered_and_expire_quarantine(templates):
    lake = templates["adplan-lake.json"]
    (bucket,) = resources_of(lake, "AWS::S3::Bucket").values()
    properties = bucket["Properties"]
    assert all(properties["PublicAccessBlockConfiguration"].values())
    assert properties["BucketEncryption"]["ServerSideEncryptionConfiguration"][0][
        "ServerSideEncryptionByDefault"
    ]
    rules = {rule["Prefix"]: rule for rule in properties["LifecycleConfiguration"]["Rules"]}
    assert rules["quarantine/"]["ExpirationInDays"] == {"Ref": "QuarantineRetentionDays"}
    assert rules["athena-results/"]["ExpirationInDays"] == {"Ref": "AthenaResultsRetentionDays"}
    assert rules["curated/"]["Transitions"] == [
        {"StorageClass": "INTELLIGENT_TIERING", "TransitionInDays": 0}
    ]


def test_a_separate_athena_results_bucket_when_settings_name_one(config_copy: ConfigCopy):
    rendered = config_copy.render(Settings(athena_output="s3://adplan-athena/results/"))
    lake = rendered["adplan-lake.json"]
    assert len(resources_of(lake, "AWS::S3::Bucket")) == 2
    assert lake["Parameters"]["AthenaResultsBucket"]["Default"] == "adplan-athena"


def test_state_machine_is_the_asl_file_and_its_role_calls_only_the_configured_model(
    templates, project_config, config_copy
):
    creative = templates["adplan-creative.json"]
    (machine,) = resources_of(creative, "AWS::StepFunctions::StateMachine").values()
    assert machine["Properties"]["Definition"] == project_config.state_machines["creative_generation"]
    assert creative["Parameters"]["BedrockModelId"]["Default"] == project_config.creative["model"]["model_id"]
    config_copy.edit_yaml(
        "config/creative.yaml", lambda c: c["model"].update(model_id="anthropic.claude-other-v1:0")
    )
    assert config_copy.render()["adplan-creative.json"]["Parameters"]["BedrockModelId"]["Default"] == (
        "anthropic.claude-other-v1:0"
    )


def test_cli_renders_and_checks(tmp_path, project_config, monkeypatch):
    # The command renders the project's configuration; reuse the session's parsed copy of it.
    monkeypatch.setattr("adplan.infra.render.load_config", lambda: project_config)
    runner = CliRunner()
    result = runner.invoke(main, ["infra", "render", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(render_texts(project_config))
    result = runner.invoke(main, ["infra", "render", "--out", str(tmp_path), "--check"])
    assert result.exit_code == 0, result.output
    (tmp_path / "adplan-lake.json").write_text("{}\n")
    result = runner.invoke(main, ["infra", "render", "--out", str(tmp_path), "--check"])
    assert result.exit_code == 1
    assert "adplan-lake.json" in result.output and "adplan infra render" in result.output


def test_schema_mappings_keep_the_config_and_say_where_cloudformation_differs(templates, project_config):
    mappings = resources_of(
        templates["adplan-entity-resolution.json"], "AWS::EntityResolution::SchemaMapping"
    )
    by_name = {m["Properties"]["SchemaName"]: m for m in mappings.values()}
    for mapping in project_config.schema_mappings.values():
        rendered = by_name[mapping["schemaName"]]
        fallbacks = rendered.get("Metadata", {}).get("adplan", {}).get("typeFallbacks", {})
        for field, cfn_field in zip(
            mapping["mappedInputFields"], rendered["Properties"]["MappedInputFields"], strict=True
        ):
            assert cfn_field["FieldName"] == field["fieldName"]
            assert cfn_field.get("MatchKey") == field.get("matchKey")
            assert cfn_field.get("Hashed") == field.get("hashed")
            if cfn_field["Type"] != field["type"]:
                # Only a type the CloudFormation schema lacks (MAID), never on a matched field, and said so.
                assert field["fieldName"] in fallbacks and "matchKey" not in field
