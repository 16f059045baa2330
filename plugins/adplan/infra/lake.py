"""The lake template: S3, the Glue catalog (database, tables, crawlers), the Glue job, the Athena workgroup.

Table schemas come from the data contracts (include/contracts) for ``raw_<source>`` and
``curated_<source>``, and from the Entity Resolution schema mappings for matching inputs that no
contract describes (``curated_ad_devices``, ``curated_ad_cookies``: the mapped fields, as strings).
Every other table (quarantine, analytics, clean-room, creative tables, ``identity_graph``,
``entity_resolution_output``) has a schema that only the code that writes it knows: those tables are
created by the zone's crawler (``adplan-<zone>``), not declared here.
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

from adplan.hygiene import curate
from adplan.hygiene.contracts import Column, Contract
from adplan.hygiene.ingest import RAW_ZONE
from adplan.infra.common import (
    STAR_RESOURCE_ACTIONS,
    bucket_arn,
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
from adplan.infra.names import GLUE_JOB_NAME
from adplan.lake import TABLE_ZONES, ZONES
from adplan.settings import Settings

GLUE_TYPES = {
    "string": "string",
    "integer": "bigint",
    "decimal": "decimal(18,6)",  # adplan.hygiene.validate.DECIMAL_TYPE
    "date": "date",
    "timestamp": "timestamp",
    "boolean": "boolean",
}
ARROW_TYPES = {pa.string(): "string", pa.bool_(): "boolean", pa.date32(): "date"}
LINEAGE_TYPES = {"source_file": "string", "source_row": "bigint"}
PARQUET = {
    "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
    "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
    "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"},
}
WRITE_ZONES = TABLE_ZONES  # zones the Glue job writes (landing is delivered, read only)
CRAWLER_EXCLUSIONS = ["**/.tmp-*", "**/.old-*", "**.html", "**.json"]
# Folders of a zone that are not tables (the local clean room's state and raw result files).
ZONE_EXCLUSIONS = {"cleanrooms": ["state/**", "results/**"]}


def lake_parameters(settings: Settings) -> dict[str, Any]:
    return {
        "LakeBucket": string_parameter(settings.bucket, "S3 bucket of the lake (ADPLAN_BUCKET)."),
        "GlueDatabase": string_parameter(
            settings.glue_database, "Glue Data Catalog database of the lake's tables (ADPLAN_GLUE_DATABASE)."
        ),
    }


def glue_column(name: str, glue_type: str, comment: str = "") -> dict[str, Any]:
    column = {"Name": name, "Type": glue_type}
    if comment:
        column["Comment"] = comment[:255]
    return column


def raw_columns(contract: Contract) -> list[dict[str, Any]]:
    columns = [glue_column(c.name, GLUE_TYPES[c.type], _comment(c)) for c in contract.columns]
    return columns + [glue_column(name, kind) for name, kind in LINEAGE_TYPES.items()]


def curated_columns(contract: Contract) -> list[dict[str, Any]]:
    """Columns of ``curated_<source>`` with the types curation writes (adplan.hygiene.curate's rules)."""
    columns = []
    for column in contract.columns:
        rule = curate._rule_for(column)  # the rule curation applies to this column, or None
        if rule is None:
            columns.append(glue_column(column.name, GLUE_TYPES[column.type], _comment(column)))
            continue
        first, *others = rule.outputs
        columns.append(glue_column(column.name, ARROW_TYPES[first.type], _comment(column)))
        columns += [glue_column(f"{column.name}_{o.name}", ARROW_TYPES[o.type]) for o in others]
        if rule.hashed:
            columns.append(
                glue_column(f"{column.name}_sha256", "string", f"SHA-256 of normalized {column.name}")
            )
    columns += [glue_column(name, kind) for name, kind in LINEAGE_TYPES.items()]
    expected = curate.curated_columns(contract)
    if [c["Name"] for c in columns] != expected:
        raise InfraConfigError(
            f"{contract.origin}: curated columns {expected} differ from the rendered table"
        )
    return columns


def _comment(column: Column) -> str:
    return ("PII. " if column.pii else "") + column.description.strip()


def declared_tables(config: InfraConfig) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """(zone, table) -> Glue columns, for every table whose schema the configuration defines."""
    tables: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for source, contract in config.contracts.items():
        tables[(RAW_ZONE, f"raw_{source}")] = raw_columns(contract)
        tables[(curate.CURATED_ZONE, curate.curated_table(source))] = curated_columns(contract)
    for stem, workflow in config.workflows.items():
        for source in workflow["inputSourceConfig"]:
            table = source["inputSourceARN"]
            if table.startswith("arn:"):
                continue
            mapping = config.schema_mapping(source["schemaName"])
            fields = [f["fieldName"] for f in mapping["mappedInputFields"]]
            zone = curate.CURATED_ZONE
            if (zone, table) not in tables:
                if not table.startswith(f"{zone}_"):
                    raise InfraConfigError(
                        f"workflows/{stem}.json: input {table!r} is neither a curated table nor an ARN"
                    )
                tables[(zone, table)] = [
                    glue_column(name, "string", f"Entity Resolution field ({mapping['schemaName']})")
                    for name in fields
                ]
            missing = sorted(set(fields) - {c["Name"] for c in tables[(zone, table)]})
            if missing:
                raise InfraConfigError(
                    f"schema mapping {mapping['schemaName']!r} maps fields {missing} that table {table} lacks"
                )
    return tables


def glue_table(zone: str, table: str, columns: list[dict[str, Any]]) -> dict[str, Any]:
    location = f"s3://${{LakeBucket}}/{zone}/{table}/"
    return {
        "Type": "AWS::Glue::Table",
        "DependsOn": "Database",
        "Properties": {
            "CatalogId": ref("AWS::AccountId"),
            "DatabaseName": ref("GlueDatabase"),
            "TableInput": {
                "Name": table,
                "Description": f"{zone} zone: {table} (one Parquet file per dt partition)",
                "TableType": "EXTERNAL_TABLE",
                "Parameters": {
                    "classification": "parquet",
                    "EXTERNAL": "TRUE",
                    "projection.enabled": "true",
                    "projection.dt.type": "date",
                    "projection.dt.format": "yyyy-MM-dd",
                    "projection.dt.range": sub("${PartitionProjectionStart},NOW"),
                    "projection.dt.interval": "1",
                    "projection.dt.interval.unit": "DAYS",
                    "storage.location.template": sub(location + "dt=${!dt}/"),
                },
                "PartitionKeys": [{"Name": "dt", "Type": "string"}],
                "StorageDescriptor": {"Columns": columns, "Location": sub(location), **PARQUET},
            },
        },
    }


def athena_output(settings: Settings) -> tuple[str, str]:
    """(bucket, key prefix) of the Athena result location."""
    location = settings.athena_output_location
    if not location.startswith("s3://"):
        raise InfraConfigError(f"ADPLAN_ATHENA_OUTPUT must be an s3:// URI, not {location!r}")
    bucket, _, prefix = location.removeprefix("s3://").partition("/")
    return bucket, prefix if not prefix or prefix.endswith("/") else prefix + "/"


def _bucket(lifecycle_rules: list[dict[str, Any]], name: dict[str, Any]) -> dict[str, Any]:
    return {
        "Type": "AWS::S3::Bucket",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": {
            "BucketName": name,
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": True}
                ]
            },
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
            "VersioningConfiguration": {"Status": "Suspended"},
            "LifecycleConfiguration": {"Rules": lifecycle_rules},
        },
    }


def _tls_only_policy(bucket_resource: str, bucket_parameter: str) -> dict[str, Any]:
    return {
        "Type": "AWS::S3::BucketPolicy",
        "Properties": {
            "Bucket": ref(bucket_resource),
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "DenyInsecureTransport",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:*",
                        "Resource": [bucket_arn(bucket_parameter), bucket_arn(bucket_parameter, "*")],
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    }
                ],
            },
        },
    }


def _expire(rule_id: str, prefix: str, days_parameter: str) -> dict[str, Any]:
    return {
        "Id": rule_id,
        "Status": "Enabled",
        "Prefix": prefix,
        "ExpirationInDays": ref(days_parameter),
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
    }


def render_lake(config: InfraConfig, settings: Settings) -> dict[str, Any]:
    results_bucket, results_prefix = athena_output(settings)
    separate_results = results_bucket != settings.bucket
    parameters = {
        **lake_parameters(settings),
        "PartitionProjectionStart": string_parameter(
            "2020-01-01",
            "First dt partition Athena projects (yyyy-MM-dd).",
            AllowedPattern=r"^\d{4}-\d{2}-\d{2}$",
        ),
        "QuarantineRetentionDays": {
            "Type": "Number",
            "Default": 90,
            "MinValue": 1,
            "Description": "Days a quarantine partition (rejected rows, raw lines with PII) is kept.",
        },
        "AthenaResultsRetentionDays": {
            "Type": "Number",
            "Default": 7,
            "MinValue": 1,
            "Description": "Days Athena query results are kept (result reuse looks back at most this far).",
        },
        "BytesScannedCutoffPerQuery": {
            "Type": "Number",
            "Default": 107374182400,
            "MinValue": 10000000,
            "Description": "Athena cancels a query of the workgroup that scans more bytes than this (100 GiB).",
        },
        "GlueJobMaxConcurrentRuns": {
            "Type": "Number",
            "Default": len(config.contracts) + 5,
            "MinValue": 1,
            "Description": "Concurrent runs of adplan-job (the nightly DAG runs one per source at once).",
        },
    }
    if separate_results:
        parameters["AthenaResultsBucket"] = string_parameter(
            results_bucket, "S3 bucket of Athena query results."
        )

    # Lake zones move to Intelligent-Tiering at once; quarantine and Athena results expire.
    lifecycle = [
        {
            "Id": f"{zone}-intelligent-tiering",
            "Status": "Enabled",
            "Prefix": f"{zone}/",
            "Transitions": [{"StorageClass": "INTELLIGENT_TIERING", "TransitionInDays": 0}],
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
        }
        for zone in ZONES
        if zone != "quarantine"
    ]
    lifecycle.append(_expire("quarantine-expiry", "quarantine/", "QuarantineRetentionDays"))
    results_rule = _expire("athena-results-expiry", results_prefix, "AthenaResultsRetentionDays")
    if not separate_results:
        lifecycle.append(results_rule)

    resources: dict[str, Any] = {
        "LakeBucketResource": _bucket(lifecycle, ref("LakeBucket")),
        "LakeBucketPolicy": _tls_only_policy("LakeBucketResource", "LakeBucket"),
    }
    results_parameter = "AthenaResultsBucket" if separate_results else "LakeBucket"
    if separate_results:
        resources["AthenaResultsBucketResource"] = _bucket([results_rule], ref("AthenaResultsBucket"))
        resources["AthenaResultsBucketPolicy"] = _tls_only_policy(
            "AthenaResultsBucketResource", "AthenaResultsBucket"
        )

    resources["Database"] = {
        "Type": "AWS::Glue::Database",
        "Properties": {
            "CatalogId": ref("AWS::AccountId"),
            "DatabaseInput": {
                "Name": ref("GlueDatabase"),
                "Description": "adplan lake tables: one per <zone>/<table>/ prefix, partitioned by dt",
                "LocationUri": sub("s3://${LakeBucket}/"),
            },
        },
    }
    tables = declared_tables(config)
    for (zone, table), columns in sorted(tables.items()):
        resources[logical_id("table", table)] = glue_table(zone, table, columns)

    resources["CrawlerRole"] = _crawler_role(settings)
    for zone in TABLE_ZONES:
        resources[logical_id("crawler", zone)] = _crawler(zone)

    resources["GlueJobRole"] = _glue_job_role(settings)
    resources["GlueJob"] = _glue_job(config, settings)

    resources["AthenaWorkGroup"] = {
        "Type": "AWS::Athena::WorkGroup",
        "Properties": {
            "Name": settings.athena_workgroup,
            "Description": "adplan SQL (sql/**.sql): engine v3, for query result reuse; enforced settings",
            "State": "ENABLED",
            "RecursiveDeleteOption": False,
            "WorkGroupConfiguration": {
                "EnforceWorkGroupConfiguration": True,
                "PublishCloudWatchMetricsEnabled": True,
                "BytesScannedCutoffPerQuery": ref("BytesScannedCutoffPerQuery"),
                # Query result reuse is asked per query (ResultReuseConfiguration); it needs engine v3.
                "EngineVersion": {"SelectedEngineVersion": "Athena engine version 3"},
                "ResultConfiguration": {
                    "OutputLocation": sub(f"s3://${{{results_parameter}}}/{results_prefix}"),
                    "EncryptionConfiguration": {"EncryptionOption": "SSE_S3"},
                },
            },
        },
    }
    outputs = {
        "LakeBucketArn": {"Value": get_bucket_arn()},
        "GlueJobName": {"Value": ref("GlueJob")},
        "GlueJobRoleArn": {"Value": {"Fn::GetAtt": ["GlueJobRole", "Arn"]}},
        "AthenaWorkGroupName": {"Value": ref("AthenaWorkGroup")},
    }
    return template(
        "adplan lake: S3 buckets, Glue database, tables (partition projection on dt), crawlers, the "
        "adplan-job Glue job and the Athena workgroup. Rendered by `adplan infra render`; do not edit.",
        parameters,
        resources,
        Outputs=outputs,
    )


def get_bucket_arn() -> dict[str, Any]:
    return {"Fn::GetAtt": ["LakeBucketResource", "Arn"]}


def _crawler(zone: str) -> dict[str, Any]:
    configuration = {
        "Version": 1.0,
        # s3://bucket/<zone>/<table>/dt=.../ : bucket is level 1, so tables are created at level 3.
        "Grouping": {"TableLevelConfiguration": 3},
        "CrawlerOutput": {"Partitions": {"AddOrUpdateBehavior": "InheritFromTable"}},
    }
    return {
        "Type": "AWS::Glue::Crawler",
        "DependsOn": "Database",
        "Properties": {
            "Name": f"adplan-{zone}",
            "Description": (
                f"Creates the {zone} zone's tables that no contract declares and follows schema changes; "
                "declared tables are left as rendered (UpdateBehavior LOG)."
            ),
            "Role": {"Fn::GetAtt": ["CrawlerRole", "Arn"]},
            "DatabaseName": ref("GlueDatabase"),
            "Targets": {
                "S3Targets": [
                    {
                        "Path": sub(f"s3://${{LakeBucket}}/{zone}/"),
                        "Exclusions": CRAWLER_EXCLUSIONS + ZONE_EXCLUSIONS.get(zone, []),
                    }
                ]
            },
            "SchemaChangePolicy": {"UpdateBehavior": "LOG", "DeleteBehavior": "LOG"},
            "RecrawlPolicy": {"RecrawlBehavior": "CRAWL_EVERYTHING"},
            "Configuration": json.dumps(configuration, separators=(",", ":")),
        },
    }


def _logs_statement(kind: str) -> dict[str, Any]:
    return statement(
        "GlueLogs",
        ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
        [
            sub(
                f"arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:/aws-glue/{kind}*"
            ),
        ],
    )


def _metrics_statement() -> dict[str, Any]:
    assert "cloudwatch:PutMetricData" in STAR_RESOURCE_ACTIONS
    return statement(
        "GlueMetrics", ["cloudwatch:PutMetricData"], "*", {"StringEquals": {"cloudwatch:namespace": "Glue"}}
    )


def _crawler_role(settings: Settings) -> dict[str, Any]:
    zones = [f"{zone}/" for zone in TABLE_ZONES]
    return service_role(
        f"{settings.glue_iam_role}-crawler",
        "glue.amazonaws.com",
        "adplan-<zone> crawlers: read the table zones, create and update the database's tables.",
        [
            list_prefixes_statement("ListTableZones", "LakeBucket", zones),
            statement("ReadTableZones", ["s3:GetObject"], [bucket_arn("LakeBucket", f"{z}*") for z in zones]),
            statement(
                "CatalogTables",
                [
                    "glue:GetDatabase",
                    "glue:GetTable",
                    "glue:GetTables",
                    "glue:CreateTable",
                    "glue:UpdateTable",
                    "glue:GetPartition",
                    "glue:GetPartitions",
                    "glue:BatchGetPartition",
                    "glue:CreatePartition",
                    "glue:BatchCreatePartition",
                    "glue:UpdatePartition",
                    "glue:BatchUpdatePartition",
                ],
                glue_arns("GlueDatabase"),
            ),
            _logs_statement("crawlers"),
            lake_formation_data_access_statement(),
        ],
    )


def _glue_job_role(settings: Settings) -> dict[str, Any]:
    write = [f"{zone}/" for zone in WRITE_ZONES]
    read_only = ["landing/", settings.glue_script_prefix]
    return service_role(
        settings.glue_iam_role,
        "glue.amazonaws.com",
        f"{GLUE_JOB_NAME}: reads landing and its scripts, reads and writes the table zones of the lake.",
        [
            list_prefixes_statement("ListLakePrefixes", "LakeBucket", read_only + write),
            statement(
                "ReadLandingAndScripts",
                ["s3:GetObject"],
                [bucket_arn("LakeBucket", f"{p}*") for p in read_only],
            ),
            statement(
                "ReadWriteTableZones",
                ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
                [bucket_arn("LakeBucket", f"{p}*") for p in write],
            ),
            statement(
                "ReadCatalog",
                [
                    "glue:GetDatabase",
                    "glue:GetTable",
                    "glue:GetTables",
                    "glue:GetPartition",
                    "glue:GetPartitions",
                ],
                glue_arns("GlueDatabase"),
            ),
            _logs_statement("jobs"),
            _metrics_statement(),
            lake_formation_data_access_statement(),
        ],
    )


def _glue_job(config: InfraConfig, settings: Settings) -> dict[str, Any]:
    scripts = f"s3://${{LakeBucket}}/{settings.glue_script_prefix}"
    # What the Glue-run engines import beyond Glue 5's own (boto3): hygiene (duckdb, phonenumbers,
    # unidecode, pyyaml, pyarrow), the S3 file system DuckDB reads through (fsspec), attribution and
    # audiences (numpy, pandas, scipy, scikit-learn).
    modules = (
        "duckdb",
        "phonenumbers",
        "unidecode",
        "pyyaml",
        "pyarrow",
        "fsspec",
        "numpy",
        "pandas",
        "scipy",
        "scikit-learn",
    )
    pinned = ",".join(f"{m}=={config.requirements[m]}" if m in config.requirements else m for m in modules)
    return {
        "Type": "AWS::Glue::Job",
        "Properties": {
            "Name": GLUE_JOB_NAME,
            "Description": "Runs one registered adplan job for one date (include/glue/adplan_job.py).",
            "Role": {"Fn::GetAtt": ["GlueJobRole", "Arn"]},
            # Glue 5.0 gives Python 3.11 (the project's version); the script runs on the driver only.
            "GlueVersion": "5.0",
            "Command": {
                "Name": "glueetl",
                "PythonVersion": "3",
                "ScriptLocation": sub(scripts + "adplan_job.py"),
            },
            "WorkerType": "G.1X",
            "NumberOfWorkers": 2,
            "Timeout": 120,
            "MaxRetries": 0,
            "ExecutionProperty": {"MaxConcurrentRuns": ref("GlueJobMaxConcurrentRuns")},
            "DefaultArguments": {
                "--job-language": "python",
                "--extra-py-files": sub(scripts + "adplan.zip"),
                "--additional-python-modules": pinned,
                "--lake": sub("s3://${LakeBucket}"),
                "--enable-metrics": "true",
                "--enable-continuous-cloudwatch-log": "true",
            },
        },
    }
