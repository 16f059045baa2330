"""The aws-target DAGs run through Airflow against moto's server, for the services moto implements.

`adplan run` (``dag.test``, deferrable operators and their triggers included) runs the DAG with
``ADPLAN_TARGET=aws`` in its own Airflow home; every AWS call goes to a moto server on loopback. Moto's
Glue starts a job run and reports it SUCCEEDED without running a script, so what this shows is the
wiring a deployment relies on: the DAG parses on aws, its tasks reach the right service with the right
job, date, parameters and lake, the triggers poll to completion, and the run succeeds. The services
moto does not implement (Entity Resolution, Clean Rooms' protected queries, Bedrock's answers) are
tested with botocore Stubber beside their operators.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

pytestmark = pytest.mark.slow

DS = "2026-11-28"
BUCKET = "adplan-lake"
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def moto(tmp_path_factory):
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    credentials = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL": endpoint,
    }
    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    session.client("s3", endpoint_url=endpoint).create_bucket(Bucket=BUCKET)
    glue = session.client("glue", endpoint_url=endpoint)
    # The job `adplan infra render` defines (include/infra/adplan-lake.json).
    glue.create_job(
        Name="adplan-job",
        Role="arn:aws:iam::123456789012:role/adplan-glue",
        Command={"Name": "glueetl", "ScriptLocation": f"s3://{BUCKET}/glue-scripts/adplan_job.py"},
        GlueVersion="5.0",
    )
    work = tmp_path_factory.mktemp("aws-dags")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "AIRFLOW", "ADPLAN_"))},
        **credentials,
        "ADPLAN_TARGET": "aws",
        "ADPLAN_HOME": str(work / "adplan"),
        "AIRFLOW_HOME": str(work / "airflow"),
        "AIRFLOW_CONN_AWS_DEFAULT": json.dumps({"conn_type": "aws"}),
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    try:
        yield env, glue
    finally:
        server.stop()


def run_dag(env: dict[str, str], dag_id: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "adplan"), "run", dag_id, "--date", DS],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def job_runs(glue) -> list[dict]:
    return glue.get_job_runs(JobName="adplan-job")["JobRuns"]


def test_media_attribution_on_aws_runs_the_glue_job_per_step_with_date_params_and_lake(moto):
    env, glue = moto
    before = {run["Id"] for run in job_runs(glue)}
    result = run_dag(env, "media_attribution")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "media_attribution: success" in result.stdout
    runs = [run for run in job_runs(glue) if run["Id"] not in before]
    by_job = {run["Arguments"]["--job"]: run["Arguments"] for run in runs}
    assert set(by_job) == {"attribution.attribute", "attribution.plan_budget"}
    for arguments in by_job.values():
        assert arguments["--ds"] == DS
        assert arguments["--lake"] == f"s3://{BUCKET}"
    # The UI's params reach the job, rendered.
    assert json.loads(by_job["attribution.attribute"]["--params"])["lookback_days"] == "30"
    assert json.loads(by_job["attribution.plan_budget"]["--params"])["model"] == "incrementality"


def test_audience_analysis_on_aws_runs_every_step_as_a_glue_job_run(moto):
    env, glue = moto
    before = {run["Id"] for run in job_runs(glue)}
    result = run_dag(env, "audience_analysis")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    runs = [run for run in job_runs(glue) if run["Id"] not in before]
    jobs = sorted(run["Arguments"]["--job"] for run in runs)
    assert jobs == sorted(
        [
            "audiences.build_profiles",
            "audiences.build_segments",
            "audiences.score_lookalikes",
            "audiences.export_activation",
        ]
    )
    assert {run["Arguments"]["--ds"] for run in runs} == {DS}
