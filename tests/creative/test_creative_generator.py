"""The local generator: Bedrock-shaped answers, deterministic, different per segment, judged and retried."""

from __future__ import annotations

import json
from collections import defaultdict

import pytest
import yaml

from adplan.creative.angles import angles_for
from adplan.creative.batch import batch_input_records, parse_batch_output
from adplan.creative.bedrock import parse_fields
from adplan.creative.generator import LocalGenerator, load_copy_book
from adplan.creative.guardrails import check_lengths
from adplan.creative.items import item_request, plan_items
from adplan.creative.pipeline import PENDING_REVIEW, REJECTED, run_rounds, settle, summarize


@pytest.fixture(scope="module")
def all_items(config, segments):
    return plan_items(config, segments, campaign_id="autumn", variants=3)


@pytest.fixture(scope="module")
def results(config, all_items):
    return run_rounds(config, all_items, LocalGenerator(config).answer)


def test_the_answer_is_an_anthropic_messages_response(config, all_items):
    body = LocalGenerator(config).respond(item_request(config, all_items[0]))
    assert set(body) >= {"id", "type", "role", "model", "content", "stop_reason", "usage"}
    assert body["type"] == "message"
    assert body["role"] == "assistant"
    assert body["model"] == config.model.model_id
    assert body["stop_reason"] == "end_turn"
    assert body["id"].startswith("msg_bdrk_")
    assert body["usage"]["input_tokens"] > 0 < body["usage"]["output_tokens"]
    [block] = body["content"]
    assert block["type"] == "text"
    assert set(json.loads(block["text"])) == {"headline", "description"}  # search's fields


def test_same_request_same_answer(config, all_items):
    request = item_request(config, all_items[5])
    first, second = (
        LocalGenerator(config).respond(request),
        LocalGenerator(config).respond(json.loads(json.dumps(request))),
    )
    assert first == second


def test_a_whole_run_is_deterministic(config, all_items, results):
    again = run_rounds(config, all_items, LocalGenerator(config).answer)
    assert [(r.item.key, r.fields, r.verdict, r.item.attempt) for r in again] == [
        (r.item.key, r.fields, r.verdict, r.item.attempt) for r in results
    ]


def test_every_creative_keeps_its_channel_limits_or_is_flagged(config, results):
    assert len(results) == 4 * 4 * 3
    for result in results:
        channel = config.channel(result.item.channel)
        within = not check_lengths(channel, result.fields) and set(result.fields) == set(channel.field_names)
        if result.status == PENDING_REVIEW:
            assert within
            assert result.verdict.passed
        else:
            assert result.status == REJECTED
            assert result.item.attempt == config.generation.max_attempts
            assert not result.verdict.passed


def test_guardrails_and_retries_do_real_work(config, results):
    summary = summarize(results)
    assert summary["passed"] == len(results)  # every variant gets there within the attempts
    assert 0 < summary["passed_first_time"] < len(results)  # but not all first drafts pass
    assert summary["model_calls"] > len(results)


def test_variants_differ_across_segments(config, segments, results):
    copy = defaultdict(dict)
    for result in results:
        copy[result.item.segment_id][(result.item.channel, result.item.variant)] = json.dumps(result.fields)
    # Variant 1 follows each segment's lifecycle: no two segments get the same copy on any channel.
    for channel in config.channels:
        first_variants = [copy[segment.segment_id][(channel, 1)] for segment in segments]
        assert len(set(first_variants)) == len(segments)
    # Across all channels and variants, each segment's set of copy is its own.
    assert len({frozenset(by_slot.values()) for by_slot in copy.values()}) == len(segments)
    # And within a segment, the variants of a channel differ from each other.
    for by_slot in copy.values():
        for channel in config.channels:
            assert len({by_slot[(channel, variant)] for variant in (1, 2, 3)}) == 3


def test_angles_follow_the_segment_facts(config, segments):
    by_id = {segment.segment_id: angles_for(segment, config.generation) for segment in segments}
    assert by_id["seg_new"][:2] == ["welcome", "interest"]
    assert by_id["seg_lapsed"] == ["winback", "offer", "value"]  # no interests: no interest angle
    assert by_id["seg_vip"][0] == "premium"
    assert by_id["seg_loyal"][-1] == "value"  # average order below the premium threshold


def test_copy_uses_the_segment_facts(results):
    text = {result.item.key: json.dumps(result.fields) for result in results}
    assert "skiing" in text["autumn/seg_vip/email/v2"]  # the interest angle names the top interest
    assert any(
        "months" in value for key, value in text.items() if "/seg_lapsed/" in key
    )  # 245 days ≈ 8 months


def test_a_revision_keeps_what_passed_and_fixes_what_failed(config, all_items):
    generator = LocalGenerator(config)
    first_round = generator.answer(all_items)
    settlement = settle(config, all_items, first_round)
    assert settlement.retry_items
    previous = {outcome.key: parse_fields(outcome.text) for outcome in first_round}
    second_round = generator.answer(settlement.retry_items)
    kept = 0
    for item, outcome in zip(settlement.retry_items, second_round, strict=True):
        assert item.attempt == 2
        assert [message["role"] for message in item.messages] == ["user", "assistant", "user"]
        feedback = item.messages[-1]["content"][0]["text"]
        assert "failed these automatic checks" in feedback
        before, after = previous[item.key], parse_fields(outcome.text)
        for name in before:
            if f"{name} has" in feedback or f"{name} uses" in feedback:
                assert after[name] != before[name]  # a field a reason names is rewritten
        kept += sum(before[name] == after[name] for name in before)
    assert kept  # fields nobody complained about survive the revision
    assert settle(config, settlement.retry_items, second_round).retry_items == []  # and the fixes pass


def test_banned_interest_is_avoided_on_revision(config, results):
    # seg_loyal's second interest is "cheap eats": a first draft may use it, a revision steers clear.
    for result in results:
        assert "cheap" not in json.dumps(result.fields).lower()


def test_variants_out_of_attempts_are_flagged(config_with, all_items):
    strict = config_with("generation", max_attempts=1)
    results = run_rounds(strict, all_items, LocalGenerator(strict).answer)
    rejected = [result for result in results if result.status == REJECTED]
    assert rejected
    for result in rejected:
        assert result.item.attempt == 1
        assert result.verdict.label == "FAIL"
        assert result.verdict.reasons


def test_batch_output_records_match_batch_inference(config, all_items):
    records = batch_input_records(config, all_items[:6])
    output = LocalGenerator(config).batch_output(records)
    assert [set(record) for record in output] == [{"recordId", "modelInput", "modelOutput"}] * 6
    assert [record["recordId"] for record in output] == [record["recordId"] for record in records]
    outcomes = parse_batch_output(reversed(output), all_items[:6])  # output order is not guaranteed
    assert [outcome.key for outcome in outcomes] == [item.key for item in all_items[:6]]
    # The same answer as an InvokeModel call with the same body.
    single = LocalGenerator(config).respond(item_request(config, all_items[0]))
    assert output[0]["modelOutput"] == single


def test_the_copy_book_needs_every_kind_and_the_fallback_angle(config_with, config, tmp_path):
    book = load_copy_book(config)
    assert set(book) >= {"welcome", "loyalty", "winback", "premium", "interest", "offer", "value"}
    (tmp_path / "local_copy.yaml").write_text(yaml.safe_dump({"welcome": {"hook": ["Hi"]}}))
    broken = config_with("prompts", directory=tmp_path)
    with pytest.raises(ValueError, match="needs angles, including 'offer'"):
        load_copy_book(broken)
    (tmp_path / "local_copy.yaml").write_text(yaml.safe_dump({"offer": {"hook": ["Hi"], "pitch": ["There"]}}))
    with pytest.raises(ValueError, match="angle 'offer' has no subject, extra templates"):
        load_copy_book(broken)
