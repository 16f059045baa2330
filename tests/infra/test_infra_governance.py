"""Lake Formation grants per team: PII columns stay hidden from the teams that must not see them."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import ConfigCopy, resources_of

from adplan.infra.config import InfraConfigError
from adplan.infra.governance import pii_columns, team_grants


def _team_permissions(templates: dict[str, Any], team: dict[str, Any]) -> list[dict[str, Any]]:
    """The rendered PrincipalPermissions of one team (matched by its principal)."""
    principal = team["principal"]
    if "account" in principal:
        identifier: Any = str(principal["account"])
    else:
        identifier = {"Fn::Sub": f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/{principal['role']}"}
    permissions = resources_of(
        templates["adplan-governance.json"], "AWS::LakeFormation::PrincipalPermissions"
    )
    return [
        p["Properties"]
        for p in permissions.values()
        if p["Properties"]["Principal"]["DataLakePrincipalIdentifier"] == identifier
    ]


def _table_name(resource: dict[str, Any]) -> str | None:
    for kind in ("Table", "TableWithColumns"):
        if kind in resource:
            return resource[kind].get("Name")
    return None


def _visible_pii(permission: dict[str, Any], pii_by_table: dict[str, set[str]]) -> set[str]:
    """PII columns a permission lets its principal read."""
    resource = permission["Resource"]
    if "Database" in resource:
        assert permission["Permissions"] == ["DESCRIBE"]
        return set()
    if "Table" in resource and "TableWildcard" in resource["Table"]:
        return set().union(*pii_by_table.values())  # every table of the database
    table = _table_name(resource)
    pii = pii_by_table.get(table, set())
    if "TableWithColumns" in resource:
        columns = resource["TableWithColumns"]
        if "ColumnNames" in columns:
            return pii & set(columns["ColumnNames"])
        return pii - set(columns["ColumnWildcard"].get("ExcludedColumnNames", []))
    return pii


@pytest.fixture(scope="module")
def pii_by_table(project_config) -> dict[str, set[str]]:
    tables = {}
    for source, contract in project_config.contracts.items():
        for zone in ("raw", "curated"):
            tables[f"{zone}_{source}"] = set(pii_columns(contract))
    return tables


def test_some_contract_columns_are_pii(pii_by_table):
    assert pii_by_table["curated_crm_customers"] >= {"email", "phone", "first_name", "last_name"}
    assert "email_sha256" not in pii_by_table["curated_crm_customers"]


def test_publisher_is_never_granted_a_pii_column(templates, project_config, pii_by_table):
    (publisher,) = [t for t in project_config.teams["teams"] if t["name"] == "publisher"]
    assert publisher["pii"] is False
    permissions = _team_permissions(templates, publisher)
    assert permissions, "the publisher team has no grants at all"
    for permission in permissions:
        assert not _visible_pii(permission, pii_by_table), permission
    granted = {_table_name(p["Resource"]) for p in permissions}
    assert "curated_publisher_audience" in granted  # its own audience, without the raw mobile ad id
    (audience,) = [p for p in permissions if _table_name(p["Resource"]) == "curated_publisher_audience"]
    assert "maid" in audience["Resource"]["TableWithColumns"]["ColumnWildcard"]["ExcludedColumnNames"]


def test_every_team_without_pii_access_sees_no_pii(templates, project_config, pii_by_table):
    for team in project_config.teams["teams"]:
        visible = set().union(*(_visible_pii(p, pii_by_table) for p in _team_permissions(templates, team)))
        if team["pii"]:
            assert visible, f"{team['name']} may see PII but its grants show none"
        else:
            assert not visible, f"{team['name']} must not see PII, but is granted {sorted(visible)}"


def test_no_team_reads_the_quarantine_zone(templates, project_config):
    for team in project_config.teams["teams"]:
        for permission in _team_permissions(templates, team):
            name = _table_name(permission["Resource"]) or ""
            assert not name.startswith("quarantine"), (team["name"], name)
            assert "TableWildcard" not in permission["Resource"].get("Table", {}), team["name"]


def test_a_new_pii_flag_is_hidden_at_the_next_render(config_copy: ConfigCopy):
    def flag(contract):
        for column in contract["columns"]:
            if column["name"] in ("interests", "age_band"):
                column["pii"] = True

    config_copy.edit_yaml("contracts/publisher_audience.yaml", flag)
    rendered = config_copy.render()
    permissions = resources_of(rendered["adplan-governance.json"], "AWS::LakeFormation::PrincipalPermissions")
    publisher = [
        p["Properties"]["Resource"]
        for p in permissions.values()
        if p["Properties"]["Principal"]["DataLakePrincipalIdentifier"] == "333333333333"
        and _table_name(p["Properties"]["Resource"]) == "curated_publisher_audience"
    ]
    (resource,) = publisher
    assert {"interests", "age_band", "maid"} <= set(
        resource["TableWithColumns"]["ColumnWildcard"]["ExcludedColumnNames"]
    )


def test_granting_pii_to_a_team_changes_its_grants(config_copy: ConfigCopy):
    def allow(document):
        for team in document["teams"]:
            if team["name"] == "agency_planners":
                team["pii"] = True

    config_copy.edit_yaml("config/teams.yaml", allow)
    rendered = config_copy.render()
    permissions = resources_of(rendered["adplan-governance.json"], "AWS::LakeFormation::PrincipalPermissions")
    assert "AgencyPlannersCuratedCrmCustomers" in permissions
    assert "Table" in permissions["AgencyPlannersCuratedCrmCustomers"]["Properties"]["Resource"]


def test_grants_name_tables_the_contracts_know(project_config, config_copy: ConfigCopy):
    grants = team_grants(project_config)
    assert {g["team"] for g in grants} == {"agency_planners", "advertiser_analysts", "publisher"}
    config_copy.edit_yaml("config/teams.yaml", lambda d: d["teams"][2]["sources"].append("no_such_source"))
    with pytest.raises(InfraConfigError, match="no_such_source"):
        config_copy.render()


def test_datazone_is_rendered_only_when_configured(templates, config_copy: ConfigCopy):
    assert "adplan-datazone.json" not in templates
    products = ["identity_graph", "segments", "campaign_kpis_daily"]
    config_copy.edit_yaml(
        "config/teams.yaml", lambda d: d.update(dataZone={"domain": "adplan", "products": products})
    )
    datazone = config_copy.render()["adplan-datazone.json"]
    (source,) = resources_of(datazone, "AWS::DataZone::DataSource").values()
    (filters,) = source["Properties"]["Configuration"]["GlueRunConfiguration"][
        "RelationalFilterConfigurations"
    ]
    assert [f["Expression"] for f in filters["FilterExpressions"]] == products
    assert source["Properties"]["PublishOnImport"] is True
