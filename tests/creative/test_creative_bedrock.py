"""Bedrock shapes: InvokeModel through a botocore Stubber (bedrock-runtime), batch inference JSONL.

moto's Bedrock returns an empty body and has no batch inference, so the InvokeModel call is tested with
a Stubber serving the response the service sends (a StreamingBody holding the messages response body).
"""

from __future__ import annotations

import io
import json
import re

import botocore.session
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from adplan.creative.batch import (
    batch_input_records,
    batch_record_id,
    parse_batch_output,
    read_jsonl,
    write_jsonl,
)
from adplan.creative.bedrock import (
    GUARDRAIL_ACTION_KEY,
    invoke_model,
    invoke_model_kwargs,
    message_response,
    outcome_from_body,
    parse_fields,
)
from adplan.creative.generator import LocalGenerator
from adplan.creative.items import build_retry_request, item_request, plan_items
from adplan.creative.pipeline import judge


@pytest.fixture
def bedrock_runtime(fake_aws_env, monkeypatch):
    # Anything that escapes the Stubber fails at once on a closed local port instead of reaching AWS.
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    client = botocore.session.get_session().create_client("bedrock-runtime", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


@pytest.fixture(scope="module")
def social_item(config, segments):
    return plan_items(config, segments[:1], campaign_id="autumn", channels=["social"], variants=1)[0]


def streaming(body: dict) -> StreamingBody:
    data = json.dumps(body).encode()
    return StreamingBody(io.BytesIO(data), len(data))


def claude_answer(fields: dict, **overrides) -> dict:
    body = message_response(
        json.dumps(fields), model="claude-3-5-haiku-20241022", message_id="msg_bdrk_01", input_tokens=812,
        output_tokens=64,
    )  # fmt: skip
    return body | overrides


def test_invoke_model_sends_the_anthropic_body_and_parses_the_answer(config, social_item, bedrock_runtime):
    client, stubber = bedrock_runtime
    request = item_request(config, social_item)
    answer = {
        "primary_text": "Built for hiking weekends. Offer ends 30 Nov 2026. Terms apply.",
        "headline": "Hello",
    }
    stubber.add_response(
        "invoke_model",
        {"body": streaming(claude_answer(answer)), "contentType": "application/json"},
        invoke_model_kwargs(config.model, request),
    )
    body = invoke_model(client, config.model, request)
    outcome = outcome_from_body(social_item.key, body)
    assert (outcome.input_tokens, outcome.output_tokens) == (812, 64)
    fields, verdict = judge(config, social_item, outcome)
    assert fields == answer
    assert verdict.passed
    sent = json.loads(invoke_model_kwargs(config.model, request)["body"])
    assert sent["anthropic_version"] == "bedrock-2023-05-31"
    assert sent["max_tokens"] == config.model.max_tokens
    assert sent["messages"][0]["role"] == "user"


def test_guardrail_settings_come_from_the_config(config, config_with, social_item, bedrock_runtime):
    client, stubber = bedrock_runtime
    guarded = config_with("model", guardrail_identifier="gr-123abc", guardrail_version="")
    request = item_request(guarded, social_item)
    expected = invoke_model_kwargs(guarded.model, request)
    assert (expected["guardrailIdentifier"], expected["guardrailVersion"]) == ("gr-123abc", "DRAFT")
    assert "guardrailIdentifier" not in invoke_model_kwargs(config.model, request)
    intervened = claude_answer({}, content=[{"type": "text", "text": "Sorry, I can't help."}])
    intervened[GUARDRAIL_ACTION_KEY] = "INTERVENED"
    stubber.add_response(
        "invoke_model", {"body": streaming(intervened), "contentType": "application/json"}, expected
    )
    outcome = outcome_from_body(social_item.key, invoke_model(client, guarded.model, request))
    assert outcome.error == "model_response: the Bedrock guardrail intervened"
    fields, verdict = judge(config, social_item, outcome)
    assert fields == {}
    assert verdict.reasons == ("model_error: model_response: the Bedrock guardrail intervened",)
    # With no answer to revise, the retry sends the same conversation again.
    assert build_retry_request(config, social_item, outcome, verdict) == request


def test_a_failed_answer_gets_a_follow_up_request(config, social_item, bedrock_runtime):
    client, stubber = bedrock_runtime
    request = item_request(config, social_item)
    too_long = {"primary_text": "x" * 130, "headline": "The best jacket"}
    stubber.add_response(
        "invoke_model", {"body": streaming(claude_answer(too_long)), "contentType": "application/json"}
    )
    outcome = outcome_from_body(social_item.key, invoke_model(client, config.model, request))
    _, verdict = judge(config, social_item, outcome)
    retry = build_retry_request(config, social_item, outcome, verdict)
    assert retry["system"] == request["system"]
    assert [message["role"] for message in retry["messages"]] == ["user", "assistant", "user"]
    assert retry["messages"][1]["content"][0]["text"] == json.dumps(too_long)
    feedback = retry["messages"][2]["content"][0]["text"]
    assert "length: primary_text has 130 characters; the social limit is 125" in feedback
    assert "superlative: headline uses 'best'" in feedback


@pytest.mark.parametrize(
    "text",
    [
        '```json\n{"headline": "Hi", "description": "There"}\n```',
        'Here you go:\n{"headline": "Hi", "description": "There"}',
    ],
)
def test_answers_wrapped_in_fences_or_prose_still_parse(text):
    assert parse_fields(text) == {"headline": "Hi", "description": "There"}


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"type": "message", "content": [], "stop_reason": "end_turn"}, "model_response: the response has no text"),
        (claude_answer({"a": 1}, stop_reason="max_tokens"), "model_response: the answer was cut off at max_tokens"),
        ({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}, "model_response: overloaded_error: Overloaded"),
        ("not json", "model_response: Expecting value: line 1 column 1 (char 0)"),
    ],
)  # fmt: skip
def test_unusable_bodies_become_errors(body, error):
    assert outcome_from_body("k", body).error == error


def test_unparseable_text_fails_the_format_rule(config, social_item):
    outcome = outcome_from_body(
        social_item.key, claude_answer({}) | {"content": [{"type": "text", "text": "no"}]}
    )
    assert judge(config, social_item, outcome)[1].reasons == ("format: the answer holds no JSON object",)


# --- batch inference ----------------------------------------------------------------------------------


def test_batch_records_round_trip_through_jsonl(config, segments, tmp_path):
    items = plan_items(config, segments, campaign_id="autumn", variants=3)
    records = batch_input_records(config, items)
    assert len({record["recordId"] for record in records}) == len(items)
    assert all(re.fullmatch(r"[A-Z0-9]{11}", record["recordId"]) for record in records)
    assert records[0]["modelInput"] == item_request(config, items[0])
    path = write_jsonl(tmp_path / "input" / "creatives.jsonl", records)
    assert read_jsonl(path) == records
    assert [p.name for p in path.parent.iterdir()] == ["creatives.jsonl"]  # no temporary left behind


def test_batch_output_with_errors_and_missing_records(config, segments):
    items = plan_items(config, segments[:1], campaign_id="autumn", channels=["search"], variants=3)
    records = batch_input_records(config, items)
    answered = LocalGenerator(config).batch_output(records[:1])[0]
    failed = {
        "recordId": records[1]["recordId"],
        "modelInput": records[1]["modelInput"],
        "error": {"errorCode": 400, "errorMessage": "Malformed input request"},
    }
    stranger = {"recordId": "ZZZZZZZZZZZ", "modelInput": {}, "modelOutput": claude_answer({})}
    lines = [json.dumps(failed), "", json.dumps(stranger), json.dumps(answered)]  # JSONL text, any order
    outcomes = parse_batch_output(lines, items)
    assert [outcome.key for outcome in outcomes] == [item.key for item in items]
    assert outcomes[0].answered
    assert outcomes[1].error == "batch_error: 400: Malformed input request"
    assert outcomes[2].error == "batch_error: no output record"


def test_record_ids_are_stable_per_creative_key():
    assert batch_record_id("autumn/seg_new/search/v1") == batch_record_id("autumn/seg_new/search/v1")
    assert batch_record_id("autumn/seg_new/search/v1") != batch_record_id("autumn/seg_new/search/v2")
