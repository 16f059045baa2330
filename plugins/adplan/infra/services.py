"""Templates for Entity Resolution, Clean Rooms and the creative state machine, rendered from config.

The config files are in the shapes of the AWS APIs (camelCase); CloudFormation takes the same
structures with PascalCase property names, so the conversion is a key rename plus the few places where
CloudFormation wants an ARN or a resource reference instead of a name.
"""

from __future__ import annotations

from typing import Any

from adplan.infra.common import (
    bucket_arn,
    get_att,
    glue_arns,
    lake_formation_data_access_statement,
    list_prefixes_statement,
    logical_id,
    ref,
    service_role,
    statement,
    string_parameter,
    sub,
    template,
)
from adplan.infra.config import InfraConfig, InfraConfigError
from adplan.infra.lake import lake_parameters
from adplan.infra.names import CLEAN_ROOM_ZONE, matching_workflow_name
from adplan.lake import TABLE_ZONES
from adplan.settings import Settings

ENTITY_RESOLUTION_ROLE = "adplan-entity-resolution"
DESCRIPTION_LIMIT = 255  # Entity Resolution descriptions (API and CloudFormation)
# Attribute types the Entity Resolution API accepts but the CloudFormation resource schema
# (AWS::EntityResolution::SchemaMapping Type enum) does not list yet: rendered as STRING, and said so
# in the resource's Metadata. None of them may carry a matchKey (a STRING would not match like them).
CFN_MISSING_TYPES = {"MAID": "STRING", "IPV4": "STRING", "IPV6": "STRING"}
STATE_MACHINE_ROLE = "adplan-creative-generation"


def pascal(value: Any) -> Any:
    """API shape -> CloudFormation shape: every mapping key gets a capital first letter; values stay."""
    if isinstance(value, dict):
        return {key[:1].upper() + key[1:]: pascal(item) for key, item in value.items()}
    if isinstance(value, list):
        return [pascal(item) for item in value]
    return value


# --- Entity Resolution --------------------------------------------------------------------------------


def table_zone(table: str) -> str:
    for zone in TABLE_ZONES:
        if table.startswith(f"{zone}_"):
            return zone
    raise InfraConfigError(f"cannot tell the lake zone of table {table!r} (expected <zone>_<name>)")


def _glue_table_arn(table: str) -> dict[str, Any]:
    return sub(
        f"arn:${{AWS::Partition}}:glue:${{AWS::Region}}:${{AWS::AccountId}}:table/${{GlueDatabase}}/{table}"
    )


def _lake_key(uri: str, settings: Settings, origin: str) -> str:
    prefix = f"s3://{settings.bucket}/"
    if not uri.startswith(prefix):
        raise InfraConfigError(f"{origin}: {uri!r} is not in the lake bucket {settings.bucket!r}")
    return uri.removeprefix(prefix)


def render_entity_resolution(config: InfraConfig, settings: Settings) -> dict[str, Any]:
    resources: dict[str, Any] = {}
    schema_ids: dict[str, str] = {}
    for stem, mapping in config.schema_mappings.items():
        schema_ids[mapping["schemaName"]] = logical_id("schema_mapping", stem)
        properties = pascal(mapping)
        _shorten_description(properties)
        fallbacks = {}
        for field in properties["MappedInputFields"]:
            if field["Type"] in CFN_MISSING_TYPES:
                if "MatchKey" in field:
                    raise InfraConfigError(
                        f"schema_mappings/{stem}.json: {field['FieldName']} has type {field['Type']}, which "
                        "CloudFormation cannot express, and a matchKey"
                    )
                fallbacks[field["FieldName"]] = (
                    f"{field['Type']} in the config; CloudFormation lacks the type"
                )
                field["Type"] = CFN_MISSING_TYPES[field["Type"]]
        resources[schema_ids[mapping["schemaName"]]] = {
            "Type": "AWS::EntityResolution::SchemaMapping",
            **({"Metadata": {"adplan": {"typeFallbacks": fallbacks}}} if fallbacks else {}),
            "Properties": properties,
        }
    input_tables: set[str] = set()
    output_keys: set[str] = set()
    for stem, workflow in config.workflows.items():
        origin = f"include/config/entity_resolution/workflows/{stem}.json"
        expected = matching_workflow_name(f"workflows/{stem}.json")
        if workflow["workflowName"] != expected:
            raise InfraConfigError(
                f"{origin}: workflowName is {workflow['workflowName']!r}; the aws target starts {expected!r}"
            )
        properties = pascal({key: value for key, value in workflow.items() if key != "inputSourceConfig"})
        _shorten_description(properties)
        inputs = []
        for source in workflow["inputSourceConfig"]:
            arn = source["inputSourceARN"]
            if not arn.startswith("arn:"):
                input_tables.add(arn)
                arn = _glue_table_arn(arn)
            schema = source["schemaName"]
            if schema not in schema_ids:
                raise InfraConfigError(f"{origin}: no schema mapping named {schema!r}")
            entry = {"InputSourceARN": arn, "SchemaArn": get_att(schema_ids[schema], "SchemaArn")}
            if "applyNormalization" in source:
                entry["ApplyNormalization"] = source["applyNormalization"]
            inputs.append(entry)
        for output in properties["OutputSourceConfig"]:
            key = _lake_key(output["OutputS3Path"], settings, origin)
            output_keys.add(key if key.endswith("/") else key + "/")
            output["OutputS3Path"] = sub(f"s3://${{LakeBucket}}/{key}")
        resources[logical_id("workflow", stem)] = {
            "Type": "AWS::EntityResolution::MatchingWorkflow",
            "Properties": {
                "WorkflowName": properties.pop("WorkflowName"),
                **properties,
                "InputSourceConfig": inputs,
                "RoleArn": get_att("EntityResolutionRole", "Arn"),
            },
        }
    input_keys = sorted(f"{table_zone(t)}/{t}/" for t in input_tables)
    resources["EntityResolutionRole"] = service_role(
        ENTITY_RESOLUTION_ROLE,
        "entityresolution.amazonaws.com",
        "Entity Resolution matching workflows: read their input tables, write their output prefix.",
        [
            list_prefixes_statement("ListInputsAndOutput", "LakeBucket", input_keys + sorted(output_keys)),
            statement(
                "ReadInputTables", ["s3:GetObject"], [bucket_arn("LakeBucket", f"{k}*") for k in input_keys]
            ),
            statement(
                "WriteOutput",
                ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
                [bucket_arn("LakeBucket", f"{k}*") for k in sorted(output_keys)],
            ),
            statement(
                "ReadInputTableSchemas",
                [
                    "glue:GetDatabase",
                    "glue:GetTable",
                    "glue:GetPartition",
                    "glue:GetPartitions",
                    "glue:GetSchema",
                ],
                glue_arns("GlueDatabase", sorted(input_tables)),
            ),
            lake_formation_data_access_statement(),
        ],
    )
    outputs = {
        "EntityResolutionRoleArn": {"Value": get_att("EntityResolutionRole", "Arn")},
        **{
            logical_id(stem, "arn"): {"Value": get_att(logical_id("workflow", stem), "WorkflowArn")}
            for stem in config.workflows
        },
    }
    return template(
        "adplan Entity Resolution: schema mappings and matching workflows from "
        "include/config/entity_resolution. Rendered by `adplan infra render`; do not edit.",
        lake_parameters(settings),
        resources,
        Outputs=outputs,
    )


def _shorten_description(properties: dict[str, Any]) -> None:
    text = properties.get("Description", "")
    if len(text) > DESCRIPTION_LIMIT:
        properties["Description"] = text[: DESCRIPTION_LIMIT - 3].rstrip() + "..."


# --- Clean Rooms ----------------------------------------------------------------------------------------


def clean_room_owners(config: InfraConfig) -> list[str]:
    """Members that own a configured table or an analysis template: one template each (their account)."""
    collaboration = config.collaboration
    members = [m["displayName"] for m in collaboration.get("members", [])]
    owners = {t["owner"] for t in collaboration.get("configuredTables", [])}
    owners |= {t["owner"] for t in collaboration.get("analysisTemplates", [])}
    unknown = sorted(owners - set(members))
    if unknown:
        raise InfraConfigError(f"include/config/collaboration.yaml: owners {unknown} are not members")
    return [member for member in members if member in owners]


def _template_arn_parameter(name: str) -> str:
    return logical_id("analysis_template", name, "arn")


def render_clean_rooms(config: InfraConfig, settings: Settings, owner: str) -> dict[str, Any]:
    collaboration = config.collaboration
    tables = [t for t in collaboration.get("configuredTables", []) if t["owner"] == owner]
    templates = [t for t in collaboration.get("analysisTemplates", []) if t["owner"] == owner]
    own_templates = {t["name"]: logical_id("analysis_template", t["name"]) for t in templates}
    parameters: dict[str, Any] = {
        **(lake_parameters(settings) if tables else {}),
        "MembershipId": {
            "Type": "String",
            "Description": f"The {owner} member's Clean Rooms membership id (ADPLAN_CLEAN_ROOMS_MEMBERSHIP_ID).",
            "AllowedPattern": "^[0-9a-f-]{36}$",
            **({"Default": settings.clean_rooms_membership_id} if settings.clean_rooms_membership_id else {}),
        },
    }
    resources: dict[str, Any] = {}
    glue_tables: set[str] = set()
    for table in tables:
        rule = table["analysisRule"]
        policy = pascal(rule["policy"])
        custom = policy.get("V1", {}).get("Custom")
        if custom is not None:
            custom["AllowedAnalyses"] = [
                _allowed_analysis(name, own_templates, parameters) for name in custom["AllowedAnalyses"]
            ]
        reference = table["tableReference"]["glue"]
        glue_tables.add(reference["tableName"])
        table_id = logical_id("configured_table", table["name"])
        resources[table_id] = {
            "Type": "AWS::CleanRooms::ConfiguredTable",
            "Properties": {
                "Name": table["name"],
                "Description": table.get("description", ""),
                "AllowedColumns": table["allowedColumns"],
                "AnalysisMethod": table["analysisMethod"],
                "TableReference": {"Glue": pascal(reference)},
                "AnalysisRules": [{"Type": rule["type"], "Policy": policy}],
            },
        }
        resources[logical_id("association", table["name"])] = {
            "Type": "AWS::CleanRooms::ConfiguredTableAssociation",
            "Properties": {
                "Name": table["name"],
                "Description": f"{table['name']} in the {collaboration['collaboration']['name']} collaboration",
                "ConfiguredTableIdentifier": get_att(table_id, "ConfiguredTableIdentifier"),
                "MembershipIdentifier": ref("MembershipId"),
                "RoleArn": get_att("CleanRoomsRole", "Arn"),
            },
        }
    for analysis in templates:
        properties = pascal({k: v for k, v in analysis.items() if k != "owner"})
        properties["MembershipIdentifier"] = ref("MembershipId")
        resources[own_templates[analysis["name"]]] = {
            "Type": "AWS::CleanRooms::AnalysisTemplate",
            "Properties": properties,
        }
    if glue_tables:
        databases = {t["tableReference"]["glue"]["databaseName"] for t in tables}
        if len(databases) != 1:
            raise InfraConfigError(f"{owner}'s configured tables span databases {sorted(databases)}")
        parameters["GlueDatabase"]["Default"] = databases.pop()
        keys = sorted(f"{CLEAN_ROOM_ZONE}/{t}/" for t in glue_tables)
        resources["CleanRoomsRole"] = service_role(
            f"adplan-clean-rooms-{owner}",
            "cleanrooms.amazonaws.com",
            f"Clean Rooms reads the {owner}'s configured tables, and nothing else.",
            [
                list_prefixes_statement("ListConfiguredTables", "LakeBucket", keys),
                statement(
                    "ReadConfiguredTables",
                    ["s3:GetObject"],
                    [bucket_arn("LakeBucket", f"{k}*") for k in keys],
                ),
                statement(
                    "ReadConfiguredTableSchemas",
                    [
                        "glue:GetDatabase",
                        "glue:GetTable",
                        "glue:GetTables",
                        "glue:GetPartition",
                        "glue:GetPartitions",
                        "glue:BatchGetPartition",
                        "glue:GetSchemaVersion",
                    ],
                    glue_arns("GlueDatabase", sorted(glue_tables)),
                ),
                lake_formation_data_access_statement(),
            ],
        )
        # Where Lake Formation governs the member's database, the role needs grants too.
        for glue_table in sorted(glue_tables):
            resources[logical_id("clean_rooms_read", glue_table)] = {
                "Type": "AWS::LakeFormation::PrincipalPermissions",
                "Properties": {
                    "Principal": {"DataLakePrincipalIdentifier": get_att("CleanRoomsRole", "Arn")},
                    "Resource": {
                        "Table": {
                            "CatalogId": ref("AWS::AccountId"),
                            "DatabaseName": ref("GlueDatabase"),
                            "Name": glue_table,
                        }
                    },
                    "Permissions": ["DESCRIBE", "SELECT"],
                    "PermissionsWithGrantOption": [],
                },
            }
    outputs = {
        logical_id(name, "arn"): {"Value": get_att(resource, "Arn")}
        for name, resource in own_templates.items()
    }
    return template(
        f"adplan Clean Rooms, {owner} member: configured tables with their analysis rules, their "
        "associations to the membership and analysis templates, from include/config/collaboration.yaml. "
        "Deploy in the member's account once its Glue tables exist (crawled after the first run). "
        "Rendered by `adplan infra render`; do not edit.",
        parameters,
        resources,
        Outputs=outputs,
    )


def _allowed_analysis(name: str, own_templates: dict[str, str], parameters: dict[str, Any]) -> Any:
    if name == "ANY_QUERY" or name.startswith("arn:"):
        return name
    if name in own_templates:
        return get_att(own_templates[name], "Arn")
    # Another member creates the template: its ARN exists only once that member has deployed it.
    parameter = _template_arn_parameter(name)
    parameters[parameter] = {
        "Type": "String",
        "Description": f"ARN of the analysis template {name!r} (created by its owner's stack).",
        "AllowedPattern": "^arn:aws[-a-z]*:cleanrooms:.+$",
    }
    return ref(parameter)


# --- Step Functions ---------------------------------------------------------------------------------------


def render_creative(config: InfraConfig, settings: Settings) -> dict[str, Any]:
    model = config.creative.get("model", {})
    model_id = model.get("model_id") or settings.bedrock_model_id
    definition = config.state_machines.get("creative_generation")
    if definition is None:
        raise InfraConfigError("include/state_machines/creative_generation.asl.json is missing")
    statements = [
        statement(
            "InvokeConfiguredModel",
            ["bedrock:InvokeModel"],
            sub("arn:${AWS::Partition}:bedrock:${AWS::Region}::foundation-model/${BedrockModelId}"),
        )
    ]
    guardrail = model.get("guardrail_identifier") or ""
    if guardrail:
        guardrail_arn = (
            guardrail
            if guardrail.startswith("arn:")
            else sub(
                f"arn:${{AWS::Partition}}:bedrock:${{AWS::Region}}:${{AWS::AccountId}}:guardrail/{guardrail}"
            )
        )
        statements.append(statement("ApplyConfiguredGuardrail", ["bedrock:ApplyGuardrail"], guardrail_arn))
    resources = {
        "StateMachineRole": service_role(
            STATE_MACHINE_ROLE,
            "states.amazonaws.com",
            "creative_generation state machine: may only call the configured Bedrock model.",
            statements,
        ),
        "CreativeGenerationStateMachine": {
            "Type": "AWS::StepFunctions::StateMachine",
            "Properties": {
                "StateMachineName": "adplan-creative-generation",
                "StateMachineType": "STANDARD",
                "RoleArn": get_att("StateMachineRole", "Arn"),
                "Definition": definition,
            },
        },
    }
    return template(
        "adplan personalized creative: the creative_generation state machine "
        "(include/state_machines/creative_generation.asl.json) and its role. Rendered by "
        "`adplan infra render`; do not edit.",
        {
            "BedrockModelId": string_parameter(
                model_id, "Bedrock model the state machine may invoke (creative.yaml)."
            )
        },
        resources,
        Outputs={
            "StateMachineArn": {
                "Description": "Set ADPLAN_STATE_MACHINE_ARN to this value.",
                "Value": ref("CreativeGenerationStateMachine"),
            }
        },
    )
