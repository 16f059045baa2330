"""Small CloudFormation helpers shared by the template renderers (plain dicts, no AWS calls)."""

from __future__ import annotations

import json
from typing import Any

# Actions that AWS authorizes only on "Resource": "*" (no resource-level permissions), and why the
# statement that grants them is still narrow. A policy statement with "Resource": "*" must hold only
# these actions; tests/infra checks it.
STAR_RESOURCE_ACTIONS: dict[str, str] = {
    "cloudwatch:PutMetricData": (
        "CloudWatch metrics have no resource-level permissions; the statement is limited to the "
        "service's namespace by the cloudwatch:namespace condition"
    ),
    "lakeformation:GetDataAccess": (
        "Lake Formation credential vending has no resource-level permissions; Lake Formation grants "
        "(include/infra/adplan-governance.json) decide which tables the role can read"
    ),
}


def ref(name: str) -> dict[str, Any]:
    return {"Ref": name}


def sub(text: str) -> dict[str, Any]:
    return {"Fn::Sub": text}


def get_att(resource: str, attribute: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [resource, attribute]}


def logical_id(*parts: str) -> str:
    """A CloudFormation logical id from name parts: ``("raw", "crm_customers")`` -> ``RawCrmCustomers``."""
    words: list[str] = []
    for part in parts:
        words += [word for word in part.replace("-", "_").replace(".", "_").split("_") if word]
    return "".join(word[:1].upper() + word[1:] for word in words)


def template(description: str, parameters: dict[str, Any], resources: dict[str, Any], **extra: Any) -> dict:
    document: dict[str, Any] = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": description,
    }
    if parameters:
        document["Parameters"] = parameters
    document.update({key: value for key, value in extra.items() if key != "Outputs"})
    document["Resources"] = resources
    if extra.get("Outputs"):
        document["Outputs"] = extra["Outputs"]
    return document


def string_parameter(default: str, description: str, **extra: Any) -> dict[str, Any]:
    return {"Type": "String", "Default": default, "Description": description, **extra}


def bucket_arn(bucket_parameter: str, key_pattern: str | None = None) -> dict[str, Any]:
    if key_pattern is None:
        return sub(f"arn:${{AWS::Partition}}:s3:::${{{bucket_parameter}}}")
    return sub(f"arn:${{AWS::Partition}}:s3:::${{{bucket_parameter}}}/{key_pattern}")


def glue_arns(database_parameter: str, tables: list[str] | None = None) -> list[dict[str, Any]]:
    """The catalog, the database and its tables (all, or the named ones) as Glue resource ARNs."""
    prefix = "arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}"
    arns = [sub(f"{prefix}:catalog"), sub(f"{prefix}:database/${{{database_parameter}}}")]
    for table in tables if tables is not None else ["*"]:
        arns.append(sub(f"{prefix}:table/${{{database_parameter}}}/{table}"))
    return arns


def statement(sid: str, actions: list[str], resources: Any, condition: dict | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"Sid": sid, "Effect": "Allow", "Action": sorted(actions), "Resource": resources}
    if condition:
        entry["Condition"] = condition
    return entry


def list_prefixes_statement(sid: str, bucket_parameter: str, prefixes: list[str]) -> dict[str, Any]:
    """s3:ListBucket on the bucket, only under the given key prefixes."""
    return statement(
        sid,
        ["s3:ListBucket", "s3:GetBucketLocation"],
        bucket_arn(bucket_parameter),
        {"StringLike": {"s3:prefix": sorted({p for prefix in prefixes for p in (prefix, f"{prefix}*")})}},
    )


def service_role(
    role_name: str,
    service: str,
    description: str,
    statements: list[dict[str, Any]],
    *,
    source_account_condition: bool = True,
) -> dict[str, Any]:
    """An IAM role that only ``service`` can assume, with one inline policy of ``statements``."""
    trust: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole",
    }
    if source_account_condition:
        # Confused-deputy protection: only this account's resources of the service may use the role.
        trust["Condition"] = {"StringEquals": {"aws:SourceAccount": ref("AWS::AccountId")}}
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "RoleName": role_name,
            "Description": description,
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [trust]},
            "Policies": [
                {
                    "PolicyName": f"{role_name}-least-privilege",
                    "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
                }
            ],
        },
    }


def lake_formation_data_access_statement() -> dict[str, Any]:
    return statement("LakeFormationCredentialVending", ["lakeformation:GetDataAccess"], "*")


def dumps(document: dict[str, Any]) -> str:
    """The template file's text: JSON, two-space indent, keys in rendering order, newline at the end."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
