"""The aws round's calls, on botocore Stubber: Step Functions start/describe with payloads in the lake, and
the Bedrock batch inference job the DAG starts for mode=batch.

No request leaves the process: the hooks' clients are stubbed, and ``AWS_ENDPOINT_URL`` points at a
closed local port for anything that escapes.
"""

from __future__ import annotations

import json
from unittest.mock import MagicMock

import botocore.session
import pytest
from airflow.providers.amazon.aws.hooks.bedrock import BedrockHook
from airflow.providers.amazon.aws.hooks.step_function import StepFunctionHook
from airflow.providers.amazon.aws.operators.bedrock import BedrockBatchInferenceOperator
from airflow.providers.amazon.aws.sensors.bedrock import BedrockBatchInferenceSensor
from airflow.sdk import PokeReturnValue
from botocore.stub import Stubber

from adplan.creative.generator import LocalGenerator
from adplan.creative.operators import (
    CreativeRoundExecutionSensor,
    CreativeRoundStartExecutionOperator,
    execution_name,
)
from adplan.creative.rounds import (
    BATCH,
    local_execution_output,
    output_key,
    prepare_rounds,
    read_json,
    settle_round,
)
from adplan.lake import Lake

DS = "2026-11-28"
RUN_ID = "manual__2026-11-28T00:00:00+00:00"
MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:adplan-creative-generation"
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:adplan-creative-generation:x"


@pytest.fixture(autouse=True)
def no_network(fake_aws_env, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")


@pytest.fixture
def stub(monkeypatch):
    session = botocore.session.get_session()
    stubbers = []

    def make(hook_class, service):
        client = session.create_client(service, region_name="us-east-1")
        monkeypatch.setattr(hook_class, "conn", client)
        stubber = Stubber(client)
        stubber.activate()
        stubbers.append(stubber)
        return stubber

    yield make
    for stubber in stubbers:
        stubber.assert_no_pending_responses()


@pytest.fixture
def lake(tmp_path):
    return Lake(tmp_path / "lake")


def context(try_number=1):
    return {"ti": MagicMock(try_number=try_number), "run_id": RUN_ID}


def plan_for(lake, config, segment_rows, **params):
    return prepare_rounds(
        DS, lake=lake, segment_rows=segment_rows, max_rounds=3, run_id=RUN_ID, config=config, **params
    )


def test_start_sends_the_stored_input_and_returns_keys_only(config, lake, segment_rows, stub):
    plan = plan_for(lake, config, segment_rows, segments="seg_new", channels="search")
    key = plan["inputs"][0]
    name = execution_name(RUN_ID, key, 1)
    assert len(name) <= 80 and name.endswith("-t1") and f"dt{DS}-round1-execution-000" in name
    assert execution_name(RUN_ID, key, 2) != name
    sfn = stub(StepFunctionHook, "stepfunctions")
    sfn.add_response(
        "start_execution",
        {"executionArn": EXECUTION, "startDate": "2026-11-28T00:00:00Z"},
        {"stateMachineArn": MACHINE, "name": name, "input": json.dumps(read_json(lake, key))},
    )
    operator = CreativeRoundStartExecutionOperator(
        task_id="execution_start",
        state_machine_arn=MACHINE,
        input_key=key,
        lake_location=str(lake.root),
        aws_conn_id=None,
        region_name="us-east-1",
        do_xcom_push=False,
    )
    assert operator.execute(context()) == {"execution_arn": EXECUTION, "input_key": key}


def test_the_sensor_stores_the_output_beside_the_input_and_settle_reads_it(config, lake, segment_rows, stub):
    plan = plan_for(lake, config, segment_rows, segments="seg_loyal", channels="email", variants=2)
    key = plan["inputs"][0]
    output = local_execution_output(LocalGenerator(config), read_json(lake, key))
    sfn = stub(StepFunctionHook, "stepfunctions")
    described = {"executionArn": EXECUTION, "stateMachineArn": MACHINE, "startDate": "2026-11-28T00:00:00Z"}
    sfn.add_response("describe_execution", {**described, "status": "RUNNING"}, {"executionArn": EXECUTION})
    sfn.add_response(
        "describe_execution",
        {
            **described,
            "status": "SUCCEEDED",
            "output": json.dumps(output),
            "stopDate": "2026-11-28T00:01:00Z",
        },
        {"executionArn": EXECUTION},
    )
    sensor = CreativeRoundExecutionSensor(
        task_id="execution_wait",
        execution_arn=EXECUTION,
        input_key=key,
        lake_location=str(lake.root),
        aws_conn_id=None,
        region_name="us-east-1",
    )
    assert sensor.poke(context()) is False
    done = sensor.poke(context())
    assert isinstance(done, PokeReturnValue) and done.is_done and done.xcom_value == output_key(key)
    assert read_json(lake, output_key(key)) == output
    result = settle_round(DS, plan, lake=lake, max_rounds=3, config=config)
    assert result["answered"] == 2 and result["passed"] + result["rejected"] + result["retrying"] == 2


def test_a_failed_execution_fails_the_sensor_with_its_cause(config, lake, stub):
    sfn = stub(StepFunctionHook, "stepfunctions")
    sfn.add_response(
        "describe_execution",
        {
            "executionArn": EXECUTION,
            "stateMachineArn": MACHINE,
            "startDate": "2026-11-28T00:00:00Z",
            "status": "FAILED",
            "error": "States.Runtime",
            "cause": "bad input",
        },
        {"executionArn": EXECUTION},
    )
    sensor = CreativeRoundExecutionSensor(
        task_id="execution_wait",
        execution_arn=EXECUTION,
        input_key=f"creative/rounds/dt={DS}/round=1/execution-000/input.json",
        lake_location=str(lake.root),
        aws_conn_id=None,
        region_name="us-east-1",
    )
    with pytest.raises(Exception, match=r"FAILED: States\.Runtime bad input"):
        sensor.poke(context())


def test_batch_mode_starts_a_bedrock_batch_job_on_the_plans_jsonl(config_with, lake, segment_rows, stub):
    role = "arn:aws:iam::123456789012:role/adplan-creative-batch"
    config = config_with("batch", min_records=10, role_arn=role)
    s3_lake = "s3://adplan-lake"
    plan = plan_for(lake, config, segment_rows, mode=BATCH)
    # On aws the lake is S3: the URIs are the lake's locations of the same keys.
    input_uri = s3_lake + "/" + lake.relative(plan["batch_input_uri"])
    output_uri = s3_lake + "/" + lake.relative(plan["batch_output_uri"].rstrip("/")) + "/"
    job_arn = "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abc123"
    bedrock = stub(BedrockHook, "bedrock")
    bedrock.add_response(
        "create_model_invocation_job",
        {"jobArn": job_arn},
        {
            "jobName": plan["batch_job_name"],
            "roleArn": role,
            "modelId": config.model.model_id,
            "inputDataConfig": {"s3InputDataConfig": {"s3Uri": input_uri}},
            "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": output_uri}},
        },
    )
    bedrock.add_response(
        "get_model_invocation_job",
        {
            "jobArn": job_arn,
            "modelId": config.model.model_id,
            "roleArn": role,
            "status": "Completed",
            "submitTime": "2026-11-28T00:00:00Z",
            "inputDataConfig": {"s3InputDataConfig": {"s3Uri": input_uri}},
            "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": output_uri}},
        },
        {"jobIdentifier": job_arn},
    )
    start = BedrockBatchInferenceOperator(
        task_id="batch_start",
        job_name=plan["batch_job_name"],
        role_arn=plan["batch_role_arn"],
        model_id=plan["model_id"],
        input_uri=input_uri,
        output_uri=output_uri,
        wait_for_completion=False,
        aws_conn_id=None,
        region_name="us-east-1",
    )
    assert start.execute(context()) == job_arn
    sensor = BedrockBatchInferenceSensor(
        task_id="batch_wait",
        job_arn=job_arn,
        success_state=BedrockBatchInferenceSensor.SuccessState.COMPLETED,
        aws_conn_id=None,
        region_name="us-east-1",
    )
    assert sensor.poke(context()) is True
