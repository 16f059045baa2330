"""The aws target's hygiene steps against moto's Glue: the generic job and the crawler, with their arguments."""

from __future__ import annotations

from unittest import mock

import boto3
import pytest
from airflow.sdk import DAG
from moto import mock_aws

from adplan.dag_defaults import dag_kwargs
from adplan.settings import get_settings
from adplan.targets import builders


@pytest.fixture
def aws_builders(monkeypatch):
    # moto intercepts AWS hostnames: drop the closed-port endpoint the other aws tests use as a net.
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("ADPLAN_BUCKET", "acme-lake")
    monkeypatch.setenv("ADPLAN_AWS_CONN_ID", "")
    get_settings.cache_clear()
    with mock_aws():
        iam = boto3.client("iam")
        iam.create_role(RoleName="adplan-glue", AssumeRolePolicyDocument="{}")
        glue = boto3.client("glue")
        glue.create_database(DatabaseInput={"Name": "adplan"})
        yield builders("aws"), glue
    get_settings.cache_clear()


def _context():
    return {"ti": mock.MagicMock(), "task_instance": mock.MagicMock(), "ds": "2026-11-28"}


def test_hygiene_job_runs_the_generic_glue_job_with_its_arguments(aws_builders):
    aws, glue = aws_builders
    glue.create_job(
        Name="adplan-job",
        Role="adplan-glue",
        Command={"Name": "pythonshell", "ScriptLocation": "s3://acme-lake/glue-scripts/adplan_job.py"},
    )
    with DAG("t", **dag_kwargs()):
        task = aws.job("ingest", "hygiene.ingest", params={"source": "orders"})
    task.deferrable = False  # deferral needs a triggerer; moto answers at once
    task.script_args["--ds"] = "2026-11-28"  # what Airflow's rendering makes of {{ ds }}
    with mock.patch.object(type(task), "defer"):
        result = task.execute(_context())
    runs = glue.get_job_runs(JobName="adplan-job")["JobRuns"]
    assert len(runs) == 1
    assert runs[0]["Id"] == result
    assert runs[0]["Arguments"] == {
        "--job": "hygiene.ingest",
        "--ds": "2026-11-28",
        "--params": '{"source": "orders"}',
        "--lake": "s3://acme-lake",
    }


def test_catalog_refresh_starts_the_zone_crawler(aws_builders):
    aws, glue = aws_builders
    glue.create_crawler(
        Name="adplan-curated",
        Role="adplan-glue",
        DatabaseName="adplan",
        Targets={"S3Targets": [{"Path": "s3://acme-lake/curated/"}]},
    )
    with DAG("t", **dag_kwargs()):
        task = aws.catalog_refresh("update_catalog", "curated")
    assert task.crawler_name == "adplan-curated"
    task.wait_for_completion = False  # moto's crawlers never finish
    task.deferrable = False
    task.execute(_context())
    assert glue.get_crawler(Name="adplan-curated")["Crawler"]["State"] == "RUNNING"
