"""Every aws-target DAG runs through Airflow against moto's server, and a stand-in for what moto lacks.

`adplan run` (``dag.test``, deferrable operators and their triggers included) runs each DAG with
``ADPLAN_TARGET=aws`` in one Airflow home; every AWS call goes to loopback. Moto serves S3, Glue, Athena
and STS. Its Glue starts job runs and reports them SUCCEEDED without running a script, its crawls finish
when told to (``glue::crawl`` set to progress at once), and its Athena runs no SQL: it answers a query
with the next result queued through its API. Entity Resolution, Clean Rooms' protected queries,
QuickSight's ingestion status and the creative state machine's model calls come from
``fake_services.FakeServices``, over the same wire protocols.

What this shows is the wiring a deployment relies on: each DAG parses on aws, its tasks reach the right
service with the right job, date, parameters, names and lake, the triggers poll to completion, a
service's failure fails the run with the service's message and publishes nothing after it, and the data
quality checks gate the identity graph on what Athena answers. The SQL those checks sent to Athena is
then run for real, transpiled to DuckDB, on tables with known rows. Where a task runs in the worker
(personalization's rounds, pacing alerts) it reads and writes the S3 lake on moto for real.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import duckdb
import pandas as pd
import pytest
import requests
import sqlglot
from fake_services import FakeServices
from moto_local import CREDENTIALS, moto_server

from adplan.assets import LANDING_SOURCES
from adplan.cleanroom.analyses import ANALYSES
from adplan.sqlfiles import render

pytestmark = pytest.mark.slow(minutes=5)

DS = "2026-11-28"
BUCKET = "adplan-lake"
BIN = Path(sys.executable).parent
ACCOUNT = "123456789012"
MEMBERSHIP = "6f0c1f4e-2a55-4d61-9c3e-6c7b1b2a9d10"  # a membership id is a UUID
STATE_MACHINE = f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:adplan-creative-generation"


class Stack:
    def __init__(self, endpoint: str, fake: FakeServices, env: dict[str, str]) -> None:
        self.endpoint, self.fake, self.env = endpoint, fake, env
        session = boto3.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
        )
        self.s3 = session.client("s3", endpoint_url=endpoint)
        self.glue = session.client("glue", endpoint_url=endpoint)
        self.athena = session.client("athena", endpoint_url=endpoint)

    def run(self, *dag_ids: str, date: str = DS) -> subprocess.CompletedProcess:
        command = [str(BIN / "adplan"), "run", *dag_ids, "--date", date]
        result = subprocess.run(
            command, env=self.env, capture_output=True, text=True, timeout=600, check=False
        )
        # The whole output, for reading after a failure (assertions show only the lines about it).
        log = Path(self.env["ADPLAN_HOME"]) / "runs" / f"{'-'.join(dag_ids)}-{date}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(result.stdout + result.stderr)
        return result

    def job_runs(self) -> list[dict]:
        return self.glue.get_job_runs(JobName="adplan-job")["JobRuns"]

    def athena_queries(self) -> list[str]:
        ids = self.athena.list_query_executions(WorkGroup="adplan")["QueryExecutionIds"]
        return [self.athena.get_query_execution(QueryExecutionId=i)["QueryExecution"]["Query"] for i in ids]

    def queue_athena_results(self, *results: list[tuple]) -> None:
        """The answers moto's Athena gives the next queries, in the order they start: rows of values."""
        payload = {
            "account_id": ACCOUNT,
            "region": "us-east-1",
            "results": [
                {
                    "rows": [{"Data": [{"VarCharValue": str(value)} for value in row]} for row in rows],
                    "column_info": [
                        {
                            "CatalogName": "hive",
                            "SchemaName": "",
                            "TableName": "",
                            "Name": f"c{i}",
                            "Label": f"c{i}",
                            "Type": "integer" if isinstance(value, int) else "varchar",
                            "Precision": 10 if isinstance(value, int) else 2147483647,
                            "Scale": 0,
                            "Nullable": "UNKNOWN",
                            "CaseSensitive": not isinstance(value, int),
                        }
                        for i, value in enumerate(rows[0] if rows else ())
                    ],
                }
                for rows in results
            ],
        }
        answer = requests.post(
            f"{self.endpoint}/moto-api/static/athena/query-results", json=payload, timeout=10
        )
        assert answer.status_code == 201

    def read_parquet(self, key: str) -> pd.DataFrame:
        return pd.read_parquet(io.BytesIO(self.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()))

    def keys(self, prefix: str) -> list[str]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """Moto's server (this process points at it too) and the stand-in, with the resources the DAGs use."""
    with moto_server() as endpoint:
        yield from _stack(endpoint, tmp_path_factory)


def _stack(endpoint: str, tmp_path_factory):
    fake = FakeServices(analysis_templates=[a.template for a in ANALYSES.values() if a.template])
    fake_endpoint = fake.start()
    # Crawls finish at their first status check instead of never.
    requests.post(
        f"{endpoint}/moto-api/state-manager/set-transition",
        json={"model_name": "glue::crawl", "transition": {"progression": "immediate"}},
        timeout=10,
    ).raise_for_status()
    work = tmp_path_factory.mktemp("aws-dags")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "AIRFLOW", "ADPLAN_"))},
        **CREDENTIALS,
        "AWS_ENDPOINT_URL": endpoint,
        **fake.endpoint_env(fake_endpoint),
        "ADPLAN_TARGET": "aws",
        "ADPLAN_HOME": str(work / "adplan"),
        "ADPLAN_CLEAN_ROOMS_MEMBERSHIP_ID": MEMBERSHIP,
        "ADPLAN_STATE_MACHINE_ARN": STATE_MACHINE,
        # A failure is the answer under test: no retries (and their backoff) before it.
        "ADPLAN_TASK_RETRIES": "0",
        "AIRFLOW_HOME": str(work / "airflow"),
        "AIRFLOW_CONN_AWS_DEFAULT": json.dumps({"conn_type": "aws"}),
        # The data-quality checks' Athena connection (AthenaSQLHook, through pyathena).
        "AIRFLOW_CONN_ADPLAN_ATHENA": json.dumps(
            {
                "conn_type": "athena",
                "extra": {
                    "region_name": "us-east-1",
                    "work_group": "adplan",
                    "s3_staging_dir": f"s3://{BUCKET}/athena-results/",
                },
            }
        ),
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    aws = Stack(endpoint, fake, env)
    # What `adplan infra render` defines (include/infra/adplan-lake.json), as far as these DAGs use it.
    aws.s3.create_bucket(Bucket=BUCKET)
    aws.glue.create_job(
        Name="adplan-job",
        Role=f"arn:aws:iam::{ACCOUNT}:role/adplan-glue",
        Command={"Name": "glueetl", "ScriptLocation": f"s3://{BUCKET}/glue-scripts/adplan_job.py"},
        GlueVersion="5.0",
    )
    aws.glue.create_database(DatabaseInput={"Name": "adplan"})
    for zone in ("curated", "quarantine"):
        aws.glue.create_crawler(
            Name=f"adplan-{zone}",
            Role=f"arn:aws:iam::{ACCOUNT}:role/adplan-glue-crawler",
            DatabaseName="adplan",
            Targets={"S3Targets": [{"Path": f"s3://{BUCKET}/{zone}/"}]},
        )
    aws.athena.create_work_group(
        Name="adplan",
        Configuration={"ResultConfiguration": {"OutputLocation": f"s3://{BUCKET}/athena-results/"}},
    )
    try:
        yield aws
    finally:
        # Moto's state manager is global to this process: later in-process moto tests expect its default.
        requests.post(
            f"{endpoint}/moto-api/state-manager/unset-transition",
            json={"model_name": "glue::crawl"},
            timeout=10,
        ).raise_for_status()
        fake.stop()


def failure_lines(result: subprocess.CompletedProcess) -> str:
    """The lines of a run's output that say what failed (a run prints thousands of lines)."""
    lines = (result.stdout + result.stderr).splitlines()
    wanted = ("error", "Error", "Traceback", "failed", "FAILED", "Exception", "Invalid", "Missing", "Unknown")
    return "\n".join(line[:600] for line in lines if any(word in line for word in wanted))[-8000:]


def run_on_duckdb(athena_sql: str, tables: dict[str, pd.DataFrame]) -> list[tuple]:
    """Run SQL that was sent to Athena on DuckDB (transpiled by sqlglot), over the given tables."""
    sql = sqlglot.transpile(athena_sql, read="trino", write="duckdb")[0]
    con = duckdb.connect(":memory:")
    try:
        con.execute('CREATE SCHEMA "adplan"')
        for name, frame in tables.items():
            con.register("frame", frame)
            con.execute(f'CREATE TABLE "adplan"."{name}" AS SELECT * FROM frame')
            con.unregister("frame")
        return sorted(con.execute(sql).fetchall())
    finally:
        con.close()


# --- the night: every DAG in the order its Assets chain them --------------------------------------------

NIGHT = (
    "ingest_and_hygiene",
    "identity_resolution",
    "media_attribution",
    "audience_analysis",
    "clean_room_collaboration",
    "campaign_insights",
    "personalization",
)
IDENTITY_COLUMN_CHECKS = [("person_id", "null_check", 0), ("record_id", "null_check", 0)]
IDENTITY_TABLE_CHECKS = [("has_records", 1), ("one_person_per_record", 1)]


@pytest.fixture(scope="module")
def segments_on_s3(stack):
    """The audience stage's output on the S3 lake, for personalization's worker tasks to read: a synthetic
    audience world through the real jobs. (Moto's Glue runs no script, so the night's own audience
    steps write nothing.)"""
    from adplan.audiences import jobs as audience_jobs
    from adplan.audiences import synthetic
    from adplan.lake import S3Lake

    con = duckdb.connect(":memory:")
    synthetic.build_world(con, 600, DS, seed=4)
    synthetic.write_world(con, S3Lake(f"s3://{BUCKET}"), DS)
    con.close()
    audience_jobs.build_profiles(DS, lake=f"s3://{BUCKET}")
    audience_jobs.build_segments(DS, lake=f"s3://{BUCKET}")
    return stack.read_parquet(f"analytics/segments/dt={DS}/data.parquet")


@pytest.fixture(scope="module")
def night(stack, segments_on_s3):
    """Every DAG for DS, in one ``adplan run`` (one Airflow start for all seven)."""
    queries_before = len(stack.athena_queries())
    # Athena's answers in the order the queries start: hygiene's count check; identity's three UNLOADs
    # (ad_devices, ad_cookies, identity_graph: no rows back), then its column and table checks.
    stack.queue_athena_results(
        [("in_equals_accepted_plus_quarantined", 1)],
        [],
        [],
        [],
        IDENTITY_COLUMN_CHECKS,
        IDENTITY_TABLE_CHECKS,
    )
    result = stack.run(*NIGHT)
    assert result.returncode == 0, failure_lines(result)
    queries = stack.athena_queries()
    runs = stack.job_runs()
    return {
        "result": result,
        "glue": {run["Arguments"]["--job"]: run["Arguments"] for run in runs},
        "glue_runs": runs,
        "athena": queries[: len(queries) - queries_before],
    }


def test_every_dag_runs_on_aws_and_succeeds(night):
    for dag_id in NIGHT:
        assert f"{dag_id}: success" in night["result"].stdout


def test_ingest_and_hygiene_on_aws_runs_each_source_crawls_and_checks_counts_in_athena(stack, night):
    runs = [run for run in night["glue_runs"] if run["Arguments"]["--job"].startswith("hygiene.")]
    steps = {(r["Arguments"]["--job"], json.loads(r["Arguments"]["--params"]).get("source")) for r in runs}
    assert steps == (
        {("hygiene.ingest", s) for s in LANDING_SOURCES} | {("hygiene.curate", s) for s in LANDING_SOURCES}
        | {("hygiene.reconcile", None)}
    )  # fmt: skip
    assert {run["Arguments"]["--ds"] for run in runs} == {DS}
    assert {run["Arguments"]["--lake"] for run in runs} == {f"s3://{BUCKET}"}
    # The catalog is refreshed after the night, and again before the checks read their partition.
    for zone in ("curated", "quarantine"):
        crawler = stack.glue.get_crawler(Name=f"adplan-{zone}")["Crawler"]
        assert crawler["State"] == "READY" and crawler["LastCrawl"]["Status"] == "COMPLETED"

    [check_sql] = [q for q in night["athena"] if "hygiene_reconciliation" in q]
    assert f"dt = '{DS}'" in check_sql
    # The same SQL, executed: one source whose counts do not add up makes the check 0.
    counts = pd.DataFrame(
        {"source": ["crm_customers", "orders"], "rows_in": [10, 5], "accepted": [8, 5], "quarantined": [2, 0], "dt": [DS, DS]}
    )  # fmt: skip
    assert run_on_duckdb(check_sql, {"hygiene_reconciliation": counts}) == [
        ("in_equals_accepted_plus_quarantined", 1)
    ]
    counts.loc[1, "accepted"] = 4
    assert run_on_duckdb(check_sql, {"hygiene_reconciliation": counts}) == [
        ("in_equals_accepted_plus_quarantined", 0)
    ]


def test_identity_resolution_on_aws_matches_in_entity_resolution_and_gates_the_graph(stack, night):
    [job] = stack.fake.operations("entityresolution", "StartMatchingJob")
    assert job["workflow"] == "adplan-identity-rules"
    unloads = [q for q in night["athena"] if q.lstrip().startswith("UNLOAD")]
    targets = sorted(q.rsplit(" TO ", 1)[1].split("'")[1] for q in unloads)
    assert targets == [
        f"s3://{BUCKET}/curated/curated_ad_cookies/dt={DS}/",
        f"s3://{BUCKET}/curated/curated_ad_devices/dt={DS}/",
        f"s3://{BUCKET}/curated/identity_graph/dt={DS}/",
    ]
    assert not any("{{" in q or "{%" in q for q in night["athena"])

    # The checks' SQL, executed on a graph with a record that lost its person and a duplicated record.
    [column_sql] = [q for q in night["athena"] if "col_name" in q and "identity_graph" in q]
    [table_sql] = [q for q in night["athena"] if "check_name" in q and "identity_graph" in q]
    graph = pd.DataFrame(
        {"source": ["crm", "crm", "orders"], "record_id": ["1", "1", "7"], "person_id": ["p1", "p1", None], "dt": [DS] * 3}
    )  # fmt: skip
    assert run_on_duckdb(column_sql, {"identity_graph": graph}) == [
        ("person_id", "null_check", 1),
        ("record_id", "null_check", 0),
    ]
    assert run_on_duckdb(table_sql, {"identity_graph": graph}) == [
        ("has_records", 1),
        ("one_person_per_record", 0),
    ]


def test_media_attribution_on_aws_runs_the_glue_job_per_step_with_date_params_and_lake(night):
    by_job = {job: args for job, args in night["glue"].items() if job.startswith("attribution.")}
    assert set(by_job) == {"attribution.attribute", "attribution.plan_budget"}
    for arguments in by_job.values():
        assert arguments["--ds"] == DS
        assert arguments["--lake"] == f"s3://{BUCKET}"
    # The UI's params reach the job, rendered.
    assert json.loads(by_job["attribution.attribute"]["--params"])["lookback_days"] == "30"
    assert json.loads(by_job["attribution.plan_budget"]["--params"])["model"] == "incrementality"


def test_audience_analysis_on_aws_runs_every_step_as_a_glue_job_run(night):
    jobs = {job for job in night["glue"] if job.startswith("audiences.")} - {"audiences.enrich_segments"}
    assert jobs == {
        "audiences.build_profiles",
        "audiences.build_segments",
        "audiences.score_lookalikes",
        "audiences.export_activation",
    }


def test_clean_room_collaboration_on_aws_runs_one_protected_query_per_analysis(stack, night):
    started = stack.fake.operations("cleanrooms", "StartProtectedQuery")
    assert len(started) == len(ANALYSES)
    assert {q["membership"] for q in started} == {MEMBERSHIP}
    prefixes = sorted(q["resultConfiguration"]["outputConfiguration"]["s3"]["keyPrefix"] for q in started)
    assert prefixes == sorted(f"cleanrooms/results/dt={DS}/{name}/" for name in ANALYSES)
    by_template = {
        q["sqlParameters"]["analysisTemplateArn"].rsplit("/", 1)[1].removesuffix("-id"): q["sqlParameters"]
        for q in started
        if "analysisTemplateArn" in q["sqlParameters"]
    }
    templates = {a.template for a in ANALYSES.values() if a.template}
    assert set(by_template) == templates
    # The default 28-day lookback reaches the templates' parameters, rendered for the run's date.
    for parameters in by_template.values():
        assert parameters["parameters"]["start_date"] == "2026-10-31 00:00:00"
    texts = [q["sqlParameters"]["queryString"] for q in started if "queryString" in q["sqlParameters"]]
    # Each is the analysis's SQL file as the local engine renders it for the run.
    params = {"lookback_days": 28, "campaign_id": "", "segments": []}
    expected = [render(a.sql, DS, {**a.params, **params}) for a in ANALYSES.values() if a.sql]
    assert sorted(text.strip() for text in texts) == sorted(text.strip() for text in expected)
    assert {"cleanroom.prepare_tables", "audiences.enrich_segments"} <= set(night["glue"])


def test_campaign_insights_on_aws_builds_marts_then_refreshes_each_quicksight_dataset(stack, night):
    assert json.loads(night["glue"]["insights.build_marts"]["--params"]) == {"model": "linear"}
    created = stack.fake.operations("quicksight", "CreateIngestion")
    assert sorted(c["dataset"] for c in created) == [
        "campaign_kpis_daily",
        "campaign_pacing",
        "reach_frequency",
    ]
    assert {c["account"] for c in created} == {ACCOUNT}
    assert len({c["ingestion"] for c in created}) == 1  # one ingestion id per run, for every dataset
    # Each sensor asked for its dataset's ingestion until it was COMPLETED.
    described = {c["dataset"] for c in stack.fake.operations("quicksight", "DescribeIngestion")}
    assert described == {c["dataset"] for c in created}


def test_personalization_on_aws_answers_rounds_in_step_functions_and_publishes_creatives(stack, night):
    executions = stack.fake.operations("sfn", "StartExecution")
    assert executions and {e["stateMachineArn"] for e in executions} == {STATE_MACHINE}
    first = json.loads(executions[0]["input"])
    assert first["ds"] == DS and first["round"] == 1
    # Every execution's output was stored beside its input in the lake, and publish reconciled them.
    assert sum(key.endswith("output.json") for key in stack.keys(f"creative/rounds/dt={DS}/")) == len(
        executions
    )
    manifest = json.loads(
        stack.s3.get_object(Bucket=BUCKET, Key=f"creative/rounds/dt={DS}/run.json")["Body"].read()
    )
    [creatives_key] = stack.keys(f"creative/creatives/dt={DS}/")
    creatives = stack.read_parquet(creatives_key)
    assert len(creatives) == manifest["planned"] > 0
    assert set(creatives["status"]) <= {"PENDING_REVIEW", "REJECTED"}
    assert stack.keys(f"creative/review/dt={DS}/review.html")


# --- failures -------------------------------------------------------------------------------------------


def test_identity_graph_with_nulls_on_aws_fails_its_check_and_is_not_published(stack, night):
    """The column check fails on Athena's answer: the run fails, the table check (which publishes the
    graph's Asset) never runs. (A matching job that ends FAILED is tested beside its operator.)"""
    stack.queue_athena_results([], [], [], [("person_id", "null_check", 3), ("record_id", "null_check", 0)])
    result = stack.run("identity_resolution", date="2026-11-27")
    assert result.returncode != 0
    assert "identity_resolution: failed" in result.stdout
    assert "Test failed" in result.stdout and "('person_id', 'null_check', 3)" in result.stdout
    assert not any("check_name" in q and "2026-11-27" in q for q in stack.athena_queries())
