"""Governance templates: Lake Formation permissions per team (include/config/teams.yaml), with the
columns the contracts flag as PII hidden from teams that must not see them, grants for the service
roles, and the optional DataZone publication of the data products.
"""

from __future__ import annotations

from typing import Any

from adplan.hygiene.contracts import Contract
from adplan.infra.common import get_att, logical_id, ref, string_parameter, sub, template
from adplan.infra.config import InfraConfig, InfraConfigError
from adplan.infra.lake import lake_parameters
from adplan.infra.services import ENTITY_RESOLUTION_ROLE
from adplan.settings import Settings

TEAM_KEYS = {"name", "description", "principal", "sources", "zones", "pii", "tables", "permissions"}
SOURCE_ZONES = ("raw", "curated")
TEAM_PERMISSIONS = ("SELECT", "DESCRIBE")
TEAMS_FILE = "include/config/teams.yaml"


def pii_columns(contract: Contract) -> list[str]:
    """Columns flagged ``pii: true``; raw and curated tables keep them under the same names."""
    return [column.name for column in contract.columns if column.pii]


def team_grants(config: InfraConfig) -> list[dict[str, Any]]:
    """Every (team, table) grant: team, table, permissions and the columns excluded (PII hidden)."""
    grants = []
    for team in _teams(config):
        for source in team["sources"]:
            contract = config.contracts[source]
            for zone in team.get("zones", ["curated"]):
                excluded = [] if team["pii"] else pii_columns(contract)
                grants.append(_grant(team, f"{zone}_{source}", excluded))
        for table in team.get("tables", []):
            grants.append(_grant(team, table, []))
    return grants


def _grant(team: dict[str, Any], table: str, excluded: list[str]) -> dict[str, Any]:
    return {
        "team": team["name"],
        "principal": team["principal"],
        "table": table,
        "permissions": sorted(team.get("permissions", TEAM_PERMISSIONS)),
        "excluded": excluded,
    }


def _teams(config: InfraConfig) -> list[dict[str, Any]]:
    teams = config.teams.get("teams", [])
    if not isinstance(teams, list):
        raise InfraConfigError(f"{TEAMS_FILE}: teams must be a list")
    names = set()
    for team in teams:
        where = f"{TEAMS_FILE}: team {team.get('name')!r}"
        unknown = sorted(set(team) - TEAM_KEYS)
        if unknown:
            raise InfraConfigError(f"{where} has unknown keys {unknown}; known keys are {sorted(TEAM_KEYS)}")
        if not isinstance(team.get("pii"), bool):
            raise InfraConfigError(f"{where}: pii must be true or false")
        if team["name"] in names:
            raise InfraConfigError(f"{where} is defined twice")
        names.add(team["name"])
        principal = team.get("principal") or {}
        if set(principal) not in ({"role"}, {"account"}):
            raise InfraConfigError(f"{where}: principal must be {{role: NAME}} or {{account: ID}}")
        missing = sorted(set(team.get("sources", [])) - set(config.contracts))
        if missing:
            raise InfraConfigError(f"{where}: sources {missing} have no contract in include/contracts")
        bad_zones = sorted(set(team.get("zones", [])) - set(SOURCE_ZONES))
        if bad_zones:
            raise InfraConfigError(f"{where}: zones {bad_zones}; a team reads raw and/or curated tables")
        declared = {f"{z}_{s}" for s in config.contracts for z in SOURCE_ZONES}
        clash = sorted(set(team.get("tables", [])) & declared)
        if clash:
            raise InfraConfigError(f"{where}: tables {clash} are source tables; list their sources instead")
    return teams


def _principal(principal: dict[str, str]) -> dict[str, Any]:
    if "account" in principal:
        return {"DataLakePrincipalIdentifier": str(principal["account"])}
    return {
        "DataLakePrincipalIdentifier": sub(
            f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/{principal['role']}"
        )
    }


def _table_resource(table: str, excluded: list[str]) -> dict[str, Any]:
    if excluded:
        return {
            "TableWithColumns": {
                "CatalogId": ref("AWS::AccountId"),
                "DatabaseName": ref("GlueDatabase"),
                "Name": table,
                "ColumnWildcard": {"ExcludedColumnNames": excluded},
            }
        }
    return {"Table": {"CatalogId": ref("AWS::AccountId"), "DatabaseName": ref("GlueDatabase"), "Name": table}}


def _permission(
    principal: dict[str, Any], resource: dict[str, Any], permissions: list[str]
) -> dict[str, Any]:
    return {
        "Type": "AWS::LakeFormation::PrincipalPermissions",
        "Properties": {
            "Principal": principal,
            "Resource": resource,
            "Permissions": permissions,
            "PermissionsWithGrantOption": [],
        },
    }


def _role_principal(role_name: str) -> dict[str, Any]:
    return {
        "DataLakePrincipalIdentifier": sub(
            f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/{role_name}"
        )
    }


def render_governance(config: InfraConfig, settings: Settings) -> dict[str, Any]:
    database = {"Database": {"CatalogId": ref("AWS::AccountId"), "Name": ref("GlueDatabase")}}
    all_tables = {
        "Table": {
            "CatalogId": ref("AWS::AccountId"),
            "DatabaseName": ref("GlueDatabase"),
            "TableWildcard": {},
        }
    }
    resources: dict[str, Any] = {
        "LakeLocation": {
            "Type": "AWS::LakeFormation::Resource",
            "Properties": {
                "ResourceArn": sub("arn:${AWS::Partition}:s3:::${LakeBucket}"),
                "UseServiceLinkedRole": True,
                "HybridAccessEnabled": False,
            },
        }
    }
    teams = _teams(config)
    for team in teams:
        resources[logical_id(team["name"], "database")] = _permission(
            _principal(team["principal"]), database, ["DESCRIBE"]
        )
    for grant in team_grants(config):
        key = logical_id(grant["team"], grant["table"])
        if key in resources:
            raise InfraConfigError(
                f"{TEAMS_FILE}: team {grant['team']!r} lists table {grant['table']!r} twice"
            )
        resources[key] = _permission(
            _principal(grant["principal"]),
            _table_resource(grant["table"], grant["excluded"]),
            grant["permissions"],
        )
    # Service roles of this account (adplan-lake.json, adplan-entity-resolution.json). A Clean Rooms
    # role lives in its member's account: adplan-cleanrooms-<member>.json grants it its tables.
    glue_role, crawler_role = settings.glue_iam_role, f"{settings.glue_iam_role}-crawler"
    location = {
        "DataLocation": {
            "CatalogId": ref("AWS::AccountId"),
            "ResourceArn": sub("arn:${AWS::Partition}:s3:::${LakeBucket}"),
        }
    }
    resources["GlueJobTables"] = _permission(
        _role_principal(glue_role), all_tables, ["ALTER", "DELETE", "DESCRIBE", "INSERT", "SELECT"]
    )
    resources["CrawlerDatabase"] = _permission(
        _role_principal(crawler_role), database, ["CREATE_TABLE", "DESCRIBE"]
    )
    resources["CrawlerTables"] = _permission(
        _role_principal(crawler_role), all_tables, ["ALTER", "DESCRIBE", "INSERT", "SELECT"]
    )
    resources["CrawlerLocation"] = _permission(
        _role_principal(crawler_role), location, ["DATA_LOCATION_ACCESS"]
    )
    for table in _entity_resolution_inputs(config):
        resources[logical_id("entity_resolution", table)] = _permission(
            _role_principal(ENTITY_RESOLUTION_ROLE), _table_resource(table, []), ["DESCRIBE", "SELECT"]
        )
    pipeline = "PipelineRoleArn"
    resources["PipelineTables"] = _permission(
        {"DataLakePrincipalIdentifier": ref(pipeline)},
        all_tables,
        ["ALTER", "DELETE", "DESCRIBE", "INSERT", "SELECT"],
    )
    parameters = {
        **lake_parameters(settings),
        pipeline: {
            "Type": "String",
            "Description": "ARN of the role Airflow's AWS connection uses (Athena queries, ADPLAN_AWS_CONN_ID).",
            "AllowedPattern": "^arn:aws[-a-z]*:iam::[0-9]{12}:role/.+$",
        },
    }
    return template(
        "adplan governance: Lake Formation permissions per team (include/config/teams.yaml) with the "
        "contracts' PII columns excluded for teams without PII access, and grants for adplan's service "
        "roles. Deploy after the lake, Entity Resolution and Clean Rooms stacks and after the first "
        "nightly run has crawled the tables it names. Rendered by `adplan infra render`; do not edit.",
        parameters,
        resources,
    )


def _entity_resolution_inputs(config: InfraConfig) -> list[str]:
    return sorted(
        {
            source["inputSourceARN"]
            for workflow in config.workflows.values()
            for source in workflow["inputSourceConfig"]
            if not source["inputSourceARN"].startswith("arn:")
        }
    )


def render_datazone(config: InfraConfig, settings: Settings) -> dict[str, Any] | None:
    """The DataZone domain, project and Glue data source publishing the data products, if configured."""
    zone = config.teams.get("dataZone")
    if not zone:
        return None
    products = zone.get("products") or []
    if not products:
        raise InfraConfigError(f"{TEAMS_FILE}: dataZone.products is empty")
    domain_name = zone.get("domain", "adplan")
    resources = {
        "DomainExecutionRole": _domain_execution_role(domain_name),
        "Domain": {
            "Type": "AWS::DataZone::Domain",
            "Properties": {
                "Name": domain_name,
                "Description": "adplan data products: identity graph, segments and KPI marts",
                "DomainExecutionRole": get_att("DomainExecutionRole", "Arn"),
            },
        },
        "Project": {
            "Type": "AWS::DataZone::Project",
            "Properties": {
                "DomainIdentifier": get_att("Domain", "Id"),
                "Name": zone.get("project", "adplan-data-products"),
                "Description": "Publishes the adplan lake's data products",
            },
        },
        "DataProducts": {
            "Type": "AWS::DataZone::DataSource",
            "Properties": {
                "Name": "adplan-data-products",
                "Description": "The Glue tables of the data products listed in include/config/teams.yaml",
                "DomainIdentifier": get_att("Domain", "Id"),
                "ProjectIdentifier": get_att("Project", "Id"),
                "EnvironmentIdentifier": ref("DataLakeEnvironmentId"),
                "Type": "GLUE",
                "PublishOnImport": True,
                "EnableSetting": "ENABLED",
                "Configuration": {
                    "GlueRunConfiguration": {
                        "RelationalFilterConfigurations": [
                            {
                                "DatabaseName": ref("GlueDatabase"),
                                "FilterExpressions": [
                                    {"Type": "INCLUDE", "Expression": name} for name in products
                                ],
                            }
                        ]
                    }
                },
                **(
                    {
                        "Schedule": {
                            "Schedule": zone["schedule"],
                            "Timezone": settings.timezone.upper().replace("/", "_"),
                        }
                    }
                    if zone.get("schedule")
                    else {}
                ),
            },
        },
    }
    return template(
        "adplan DataZone publication (optional, dataZone in include/config/teams.yaml): a domain, a "
        "project and a Glue data source that publishes the data products. Rendered by `adplan infra "
        "render`; do not edit.",
        {
            "GlueDatabase": string_parameter(settings.glue_database, "Glue database of the lake."),
            "DataLakeEnvironmentId": {
                "Type": "String",
                "Description": "The project's DataZone data lake environment (DefaultDataLake blueprint).",
            },
        },
        resources,
        Outputs={"DomainId": {"Value": get_att("Domain", "Id")}},
    )


def _domain_execution_role(domain_name: str) -> dict[str, Any]:
    # DataZone documents this AWS managed policy as the domain execution role's permissions; the
    # domain acts for its users across DataZone's own APIs, which have no narrower documented set.
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "RoleName": f"adplan-datazone-{domain_name}",
            "Description": "DataZone domain execution role (the domain's calls on behalf of its users).",
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "datazone.amazonaws.com"},
                        "Action": ["sts:AssumeRole", "sts:TagSession"],
                        "Condition": {"StringEquals": {"aws:SourceAccount": ref("AWS::AccountId")}},
                    }
                ],
            },
            "ManagedPolicyArns": [
                sub(
                    "arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonDataZoneDomainExecutionRolePolicy"
                )
            ],
        },
    }
