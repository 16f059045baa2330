"""The Step Functions machine: its structure, and its Map/collect/Catch flow executed on moto.

What runs where:
- moto's Step Functions interpreter executes Choice, Pass and Map (and the SQS integration), but not the
  ``bedrock:invokeModel`` integration. So the flow is executed on variants of the machine in which only the
  two Bedrock Task states are swapped: for Pass states that return Bedrock-shaped bodies (written per item
  by the local generator), and for SQS tasks that fail for some items, keeping the real Retry and Catch.
- The Bedrock call itself (request body, response parsing) is tested with botocore Stubber on a
  bedrock-runtime client in test_creative_bedrock.py; ``parse_execution_output`` here reads what the machine
  collects (the integration's ``Body``, i.e. the same response body).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import time

import boto3
import pytest
from moto import mock_aws

from adplan.creative.generator import LocalGenerator
from adplan.creative.items import item_request, plan_items
from adplan.creative.pipeline import PENDING_REVIEW
from adplan.creative.review import creative_rows
from adplan.creative.state_machine import (
    MAX_PAYLOAD_BYTES,
    ExecutionPayloadTooLargeError,
    build_execution_input,
    items_from_execution_input,
    load_definition,
    parse_execution_output,
    settle_execution,
    split_execution_inputs,
)

BEDROCK = "arn:aws:states:::bedrock:invokeModel"
TASK_STATES = ("InvokeModel", "InvokeModelWithGuardrail")
ROLE = "arn:aws:iam::123456789012:role/adplan-creative"


@pytest.fixture(scope="module")
def definition():
    return load_definition()


def processor(definition):
    return definition["States"]["WriteVariants"]["ItemProcessor"]


# --- structure ----------------------------------------------------------------------------------------


def test_the_machine_maps_over_items_with_bounded_concurrency(definition):
    write = definition["States"]["WriteVariants"]
    assert write["Type"] == "Map"
    assert write["ItemsPath"] == "$.items"
    assert write["MaxConcurrencyPath"] == "$.max_concurrency"
    assert write["ItemSelector"]["item.$"] == "$$.Map.Item.Value"
    assert write["ResultPath"] == "$.results"
    assert definition["States"][write["Next"]]["Parameters"]["results.$"] == "$.results"


@pytest.mark.parametrize("state_name", TASK_STATES)
def test_each_item_calls_bedrock_invoke_model(definition, state_name):
    task = processor(definition)["States"][state_name]
    assert task["Type"] == "Task"
    assert task["Resource"] == BEDROCK
    parameters = task["Parameters"]
    assert parameters["ModelId.$"] == "$.model.model_id"
    assert parameters["Body"]["messages.$"] == "$.item.messages"
    assert parameters["Body"]["system.$"] == "$.request.system"
    assert {"anthropic_version.$", "max_tokens.$", "temperature.$"} <= set(parameters["Body"])
    assert task["ResultSelector"] == {"response.$": "$.Body"}
    guarded = {"GuardrailIdentifier.$", "GuardrailVersion.$"} <= set(parameters)
    assert guarded == (state_name == "InvokeModelWithGuardrail")


@pytest.mark.parametrize("state_name", TASK_STATES)
def test_throttling_is_retried_with_backoff_and_jitter_and_every_item_is_caught(definition, state_name):
    task = processor(definition)["States"][state_name]
    throttling = task["Retry"][0]
    assert set(throttling["ErrorEquals"]) == {
        "Bedrock.ThrottlingException",
        "Bedrock.ServiceQuotaExceededException",
        "Bedrock.ModelTimeoutException",
    }
    assert throttling["BackoffRate"] > 1
    assert throttling["JitterStrategy"] == "FULL"
    assert throttling["MaxAttempts"] >= 3
    assert throttling["MaxDelaySeconds"] >= throttling["IntervalSeconds"]
    [catch] = task["Catch"]
    assert catch == {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "RecordError"}
    assert processor(definition)["States"]["RecordError"]["Parameters"]["error.$"] == "$.error"


def test_every_state_is_reachable_and_every_transition_lands(definition):
    for states, start in ((definition["States"], definition["StartAt"]), (processor(definition)["States"], processor(definition)["StartAt"])):  # fmt: skip
        seen, queue = set(), [start]
        while queue:
            name = queue.pop()
            if name in seen:
                continue
            seen.add(name)
            state = states[name]
            targets = [state.get("Next"), state.get("Default")]
            targets += [choice["Next"] for choice in state.get("Choices", [])]
            targets += [catch["Next"] for catch in state.get("Catch", [])]
            queue += [target for target in targets if target]
        assert seen == set(states)


# --- execution input / output ---------------------------------------------------------------------------


def test_the_execution_input_carries_items_and_shared_request_settings(config, segments):
    execution_input = build_execution_input(
        config, segments, campaign_id="autumn", ds="2026-11-28", variants=2
    )
    assert len(execution_input["items"]) == 4 * 4 * 2
    assert execution_input["model"] == {"model_id": config.model.model_id}  # no guardrail configured
    assert execution_input["max_concurrency"] == config.model.max_concurrency
    assert execution_input["request"]["system"].startswith("You write advertising copy for Fernhill")
    item = execution_input["items"][0]
    assert set(item) == {"key", "campaign_id", "segment_id", "channel", "variant", "attempt", "messages"}
    # The machine's Body is exactly the request the item would get anywhere else.
    body = {**execution_input["request"], "messages": item["messages"]}
    assert body == item_request(config, items_from_execution_input(execution_input)[0])


def test_an_oversized_execution_input_is_refused_with_the_way_out(config, segments):
    many = [
        dataclasses.replace(segment, segment_id=f"s{index}") for index, segment in enumerate(segments * 20)
    ]
    with pytest.raises(ExecutionPayloadTooLargeError, match=r"split_execution_inputs.*batch inference"):
        build_execution_input(config, many, campaign_id="autumn", ds="2026-11-28", variants=3)
    assert MAX_PAYLOAD_BYTES == 262_144
    # Split over several executions, every item is in exactly one input and every input fits.
    items = plan_items(config, many, campaign_id="autumn", variants=3)
    inputs = split_execution_inputs(config, items, campaign_id="autumn", ds="2026-11-28")
    assert len(inputs) > 1
    assert all(len(json.dumps(part).encode()) <= MAX_PAYLOAD_BYTES for part in inputs)
    assert [item["key"] for part in inputs for item in part["items"]] == [item.key for item in items]


# --- executed on moto -----------------------------------------------------------------------------------


@pytest.fixture
def stepfunctions(fake_aws_env):
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        yield boto3.client("stepfunctions", region_name="us-east-1")


def run(client, definition: dict, execution_input: dict, name: str = "creative-1") -> dict:
    arn = client.create_state_machine(name=f"m-{name}", definition=json.dumps(definition), roleArn=ROLE)[
        "stateMachineArn"
    ]
    execution = client.start_execution(stateMachineArn=arn, name=name, input=json.dumps(execution_input))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        described = client.describe_execution(executionArn=execution["executionArn"])
        if described["status"] != "RUNNING":
            history = client.get_execution_history(executionArn=execution["executionArn"])["events"]
            return described | {"history": history}
        time.sleep(0.25)
    raise AssertionError("the execution did not finish")


def entered_states(history: list[dict]) -> list[str]:
    return [
        event["stateEnteredEventDetails"]["name"] for event in history if "stateEnteredEventDetails" in event
    ]


def with_canned_bedrock(definition: dict) -> dict:
    """The machine with each Bedrock task replaced by a Pass state returning the item's canned body."""
    machine = copy.deepcopy(definition)
    states = processor(machine)["States"]
    for name in TASK_STATES:
        states[name] = {
            "Type": "Pass",
            "Parameters": {"response.$": "$.item.stub_response"},  # what ResultSelector makes of "$.Body"
            "ResultPath": "$.invocation",
            "Next": states[name]["Next"],
        }
    return machine


def test_a_round_runs_on_moto_and_parses_into_creatives(config, segments, definition, stepfunctions):
    execution_input = build_execution_input(
        config, segments[1:2], campaign_id="autumn", ds="2026-11-28", channels=["search", "email"], variants=2
    )
    generator = LocalGenerator(config)
    for item in items_from_execution_input(execution_input):
        # Each item carries the body Bedrock would return for it (the local generator's answer).
        body = generator.respond(item_request(config, item))
        next(i for i in execution_input["items"] if i["key"] == item.key)["stub_response"] = body

    described = run(stepfunctions, with_canned_bedrock(definition), execution_input)
    assert described["status"] == "SUCCEEDED"
    output = json.loads(described["output"])
    assert output["item_count"] == len(execution_input["items"]) == 4
    assert (output["campaign_id"], output["ds"], output["round"]) == ("autumn", "2026-11-28", 1)
    assert "InvokeModelWithGuardrail" not in entered_states(described["history"])
    assert "messages" not in json.dumps(output)  # prompts stay in the input

    outcomes = parse_execution_output(described["output"])
    assert sorted(outcome.key for outcome in outcomes) == sorted(i["key"] for i in execution_input["items"])
    assert all(outcome.answered for outcome in outcomes)

    first = settle_execution(config, execution_input, output)
    assert len(first.finished) + len(first.next_input["items"] if first.next_input else []) == 4
    if first.next_input:  # failed first drafts come back as round 2, with feedback in the conversation
        assert first.next_input["round"] == 2
        assert all(item["attempt"] == 2 and len(item["messages"]) == 3 for item in first.next_input["items"])
    rows = creative_rows(first.finished)
    assert all(row["status"] == PENDING_REVIEW and row["verdict"] == "PASS" for row in rows)


def test_the_guardrail_route_and_the_wrapped_input(config, config_with, segments, definition, stepfunctions):
    guarded = config_with("model", guardrail_identifier="gr-123abc", guardrail_version="3")
    execution_input = build_execution_input(
        guarded, segments[:1], campaign_id="autumn", ds="2026-11-28", channels=["display"], variants=1
    )
    assert execution_input["model"]["guardrail_version"] == "3"
    item = items_from_execution_input(execution_input)[0]
    execution_input["items"][0]["stub_response"] = LocalGenerator(guarded).respond(
        item_request(guarded, item)
    )
    # As adplan's state_machine_run builder sends it: {"ds", "params": <input>}.
    described = run(
        stepfunctions, with_canned_bedrock(definition), {"ds": "2026-11-28", "params": execution_input}
    )
    assert described["status"] == "SUCCEEDED"
    entered = entered_states(described["history"])
    assert "UseParams" in entered
    assert "InvokeModelWithGuardrail" in entered
    assert "InvokeModel" not in entered
    assert parse_execution_output(described["output"])[0].answered


def with_failing_tasks(definition: dict) -> dict:
    """The machine with the Bedrock tasks swapped for SQS sends, which fail for items without a queue.

    Retry, Catch and the Record states are the real ones; the canned ResultSelector stands in for Bedrock's
    Body on success.
    """
    machine = copy.deepcopy(definition)
    canned = {
        "id": "msg_bdrk_canned",
        "type": "message",
        "role": "assistant",
        "model": "claude",
        "content": [
            {"type": "text", "text": '{"headline": "Made for hiking", "description": "Ready for autumn."}'}
        ],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 10, "output_tokens": 10},
    }
    for name in TASK_STATES:
        task = processor(machine)["States"][name]
        task["Resource"] = "arn:aws:states:::sqs:sendMessage"
        task["Parameters"] = {"QueueUrl.$": "$.item.queue_url", "MessageBody.$": "$.item.key"}
        task["ResultSelector"] = {"response": canned}
    return machine


def test_a_failing_item_is_caught_and_the_map_continues(config, segments, definition, stepfunctions):
    sqs = boto3.client("sqs", region_name="us-east-1")
    queue_url = sqs.create_queue(QueueName="bedrock-stand-in")["QueueUrl"]
    execution_input = build_execution_input(
        config, segments[:1], campaign_id="autumn", ds="2026-11-28", channels=["search"], variants=3
    )
    for index, item in enumerate(execution_input["items"]):
        item["queue_url"] = (
            queue_url if index != 1 else queue_url.replace("bedrock-stand-in", "missing-queue")
        )

    described = run(stepfunctions, with_failing_tasks(definition), execution_input, name="creative-catch")
    assert described["status"] == "SUCCEEDED"
    results = json.loads(described["output"])["results"]
    assert ["response" in result for result in results] == [True, False, True]
    assert results[1]["error"]["Error"]  # the caught error's name and cause are recorded on the item
    assert results[1]["key"] == execution_input["items"][1]["key"]

    outcomes = parse_execution_output(described["output"])
    assert [outcome.answered for outcome in outcomes] == [True, False, True]
    settled = settle_execution(config, execution_input, described["output"])
    assert [result.verdict.label for result in settled.finished] == ["PASS", "PASS"]
    [retry] = settled.next_input["items"]
    assert retry["key"] == execution_input["items"][1]["key"]
    assert retry["attempt"] == 2
    assert retry["messages"] == execution_input["items"][1]["messages"]  # no answer: the same request again


def test_the_machine_as_written_runs_on_moto_where_bedrock_is_unsupported(
    config, segments, definition, stepfunctions
):
    """The unmodified file parses and runs on moto's interpreter; moto cannot call Bedrock, and the
    failure of each call lands on its own item instead of failing the execution."""
    execution_input = build_execution_input(
        config, segments[:1], campaign_id="autumn", ds="2026-11-28", channels=["search"], variants=2
    )
    described = run(stepfunctions, definition, execution_input, name="creative-real")
    assert described["status"] == "SUCCEEDED"
    outcomes = parse_execution_output(described["output"])
    assert len(outcomes) == 2
    assert all(not outcome.answered and outcome.error for outcome in outcomes)
