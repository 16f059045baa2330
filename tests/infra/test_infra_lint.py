"""cfn-lint (offline, as a library) on every rendered template, and least privilege in every role."""

from __future__ import annotations

import json
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pytest
from conftest import ConfigCopy, resources_of

from adplan.infra.common import STAR_RESOURCE_ACTIONS, dumps

# The one managed policy a rendered role may carry: DataZone documents it as the domain execution
# role's permissions (include/infra/adplan-datazone.json, rendered only when configured).
ALLOWED_MANAGED_POLICIES = {"AmazonDataZoneDomainExecutionRolePolicy"}


def _lint(text: str) -> list[str]:
    from cfnlint.api import ManualArgs, lint

    matches = lint(text, config=ManualArgs(regions=["us-east-1"], include_checks=["I"]))
    return [f"{m.rule.id} {m.message} (line {m.linenumber})" for m in matches]


@pytest.fixture(scope="module")
def all_templates(templates, project_config, tmp_path_factory) -> dict[str, dict[str, Any]]:
    """The project's templates, plus the optional DataZone one from a copy that configures it."""
    copy = ConfigCopy(tmp_path_factory.mktemp("datazone"), project_config.contracts)
    copy.edit_yaml(
        "config/teams.yaml",
        lambda d: d.update(
            dataZone={
                "domain": "adplan",
                "products": ["identity_graph", "segments"],
                "schedule": "cron(0 6 * * ? *)",
            }
        ),
    )
    return {**templates, "adplan-datazone.json": copy.render()["adplan-datazone.json"]}


def test_cfn_lint_passes_on_every_template(all_templates):
    names = sorted(all_templates)
    with ProcessPoolExecutor(max_workers=2) as pool:
        results = dict(zip(names, pool.map(_lint, [dumps(all_templates[n]) for n in names]), strict=True))
    problems = {name: found for name, found in results.items() if found}
    assert not problems, json.dumps(problems, indent=2)


def _policy_statements(template: dict[str, Any]):
    for key, role in resources_of(template, "AWS::IAM::Role").items():
        for policy in role["Properties"].get("Policies", []):
            for entry in policy["PolicyDocument"]["Statement"]:
                yield key, entry


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_roles_grant_no_wildcard_actions_and_star_resources_only_where_required(all_templates):
    for name, template in all_templates.items():
        for role, entry in _policy_statements(template):
            where = f"{name}: {role} {entry.get('Sid')}"
            assert entry["Effect"] == "Allow", where
            for action in _as_list(entry["Action"]):
                assert "*" not in action, f"{where}: wildcard action {action}"
            if "*" in _as_list(entry["Resource"]):
                assert _as_list(entry["Resource"]) == ["*"], where
                unexplained = set(_as_list(entry["Action"])) - set(STAR_RESOURCE_ACTIONS)
                assert not unexplained, (
                    f"{where}: {sorted(unexplained)} on Resource '*' without a documented reason"
                )
            for resource in _as_list(entry["Resource"]):
                text = json.dumps(resource)
                assert text == '"*"' or "s3:::${LakeBucket}/*" not in text, f"{where}: the whole bucket"


def test_roles_are_assumable_by_their_service_only(all_templates):
    for name, template in all_templates.items():
        for key, role in resources_of(template, "AWS::IAM::Role").items():
            (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
            assert set(trust["Principal"]) == {"Service"}, (name, key)
            assert trust["Condition"]["StringEquals"]["aws:SourceAccount"] == {"Ref": "AWS::AccountId"}, (
                name,
                key,
            )
            for arn in role["Properties"].get("ManagedPolicyArns", []):
                assert json.dumps(arn).rsplit("/", 1)[-1].strip('"}') in ALLOWED_MANAGED_POLICIES, (
                    name,
                    key,
                    arn,
                )


def test_state_machine_role_may_only_invoke_the_configured_model(templates):
    creative = templates["adplan-creative.json"]
    statements = [entry for _, entry in _policy_statements(creative)]
    assert statements == [
        {
            "Sid": "InvokeConfiguredModel",
            "Effect": "Allow",
            "Action": ["bedrock:InvokeModel"],
            "Resource": {
                "Fn::Sub": "arn:${AWS::Partition}:bedrock:${AWS::Region}::foundation-model/${BedrockModelId}"
            },
        }
    ]


def test_clean_rooms_roles_read_only_their_configured_tables(templates, project_config):
    collaboration = project_config.collaboration
    for owner in ("advertiser", "publisher"):
        tables = {
            t["tableReference"]["glue"]["tableName"]
            for t in collaboration["configuredTables"]
            if t["owner"] == owner
        }
        statements = {
            e["Sid"]: e for _, e in _policy_statements(templates[f"adplan-cleanrooms-{owner}.json"])
        }
        read = statements["ReadConfiguredTables"]
        assert sorted(r["Fn::Sub"] for r in read["Resource"]) == sorted(
            f"arn:${{AWS::Partition}}:s3:::${{LakeBucket}}/cleanrooms/{t}/*" for t in tables
        )
        glue_tables = [
            r["Fn::Sub"].rsplit("/", 1)[-1] for r in statements["ReadConfiguredTableSchemas"]["Resource"]
        ]
        assert sorted(glue_tables[2:]) == sorted(tables)


def test_glue_job_role_is_scoped_to_lake_prefixes_and_the_database(templates):
    statements = {e["Sid"]: e for _, e in _policy_statements(templates["adplan-lake.json"])}
    read = [r["Fn::Sub"] for r in statements["ReadLandingAndScripts"]["Resource"]]
    assert read == [
        "arn:${AWS::Partition}:s3:::${LakeBucket}/landing/*",
        "arn:${AWS::Partition}:s3:::${LakeBucket}/glue-scripts/*",
    ]
    catalog = [r["Fn::Sub"] for r in statements["ReadCatalog"]["Resource"]]
    assert (
        catalog[-1] == "arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:table/${GlueDatabase}/*"
    )
