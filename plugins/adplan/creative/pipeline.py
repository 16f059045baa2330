"""Judging answers and deciding what happens next: shared by the local run, Step Functions rounds and batch.

A round answers a list of items (``ModelOutcome`` per item). ``settle`` judges each answer with the
guardrails: a pass is finished (PENDING_REVIEW), a failure with attempts left becomes the next round's
item (with feedback), a failure on the last attempt is finished and flagged (REJECTED).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from adplan.creative.bedrock import ModelOutcome, parse_fields
from adplan.creative.config import CreativeConfig
from adplan.creative.guardrails import Verdict, check_variant, failed
from adplan.creative.items import CreativeItem, revise_item

PENDING_REVIEW = "PENDING_REVIEW"
REJECTED = "REJECTED"
APPROVED = "APPROVED"


@dataclass(frozen=True)
class CreativeResult:
    item: CreativeItem
    fields: dict[str, str]
    verdict: Verdict
    status: str


@dataclass
class Settlement:
    finished: list[CreativeResult] = field(default_factory=list)
    retry_items: list[CreativeItem] = field(default_factory=list)


# answers a round: items in, one outcome per item out (local generator, a Step Functions run, a batch job)
Answerer = Callable[[Sequence[CreativeItem]], Sequence[ModelOutcome]]


def judge(
    config: CreativeConfig, item: CreativeItem, outcome: ModelOutcome
) -> tuple[dict[str, str], Verdict]:
    """The variant's fields (only the channel's) and its guardrail verdict."""
    if not outcome.answered:
        return {}, failed(f"model_error: {outcome.error or 'no answer'}")
    try:
        answer = parse_fields(outcome.text or "")
    except ValueError as error:
        return {}, failed(f"format: {error}")
    channel = config.channel(item.channel)
    fields = {name: answer[name] for name in channel.field_names if isinstance(answer.get(name), str)}
    return fields, check_variant(config, channel, answer)


def settle(
    config: CreativeConfig, items: Sequence[CreativeItem], outcomes: Sequence[ModelOutcome]
) -> Settlement:
    by_key = {outcome.key: outcome for outcome in outcomes}
    settlement = Settlement()
    for item in items:
        outcome = by_key.get(item.key) or ModelOutcome(key=item.key, error="no answer for this item")
        fields, verdict = judge(config, item, outcome)
        if verdict.passed:
            settlement.finished.append(CreativeResult(item, fields, verdict, PENDING_REVIEW))
        elif item.attempt >= config.generation.max_attempts:
            settlement.finished.append(CreativeResult(item, fields, verdict, REJECTED))
        else:
            settlement.retry_items.append(revise_item(config, item, outcome, verdict))
    return settlement


def run_rounds(
    config: CreativeConfig, items: Sequence[CreativeItem], answer: Answerer
) -> list[CreativeResult]:
    """Answer, judge and retry until every item is finished (at most ``max_attempts`` rounds)."""
    results: list[CreativeResult] = []
    pending = list(items)
    while pending:
        settlement = settle(config, pending, answer(pending))
        results += settlement.finished
        pending = settlement.retry_items
    order = {item.key: index for index, item in enumerate(items)}
    return sorted(results, key=lambda result: order[result.item.key])


def summarize(results: Sequence[CreativeResult]) -> dict[str, Any]:
    """Counts for a task's XCom: no copy, no segment facts."""
    return {
        "variants": len(results),
        "passed": sum(result.status == PENDING_REVIEW for result in results),
        "rejected": sum(result.status == REJECTED for result in results),
        "model_calls": sum(result.item.attempt for result in results),
        "passed_first_time": sum(result.verdict.passed and result.item.attempt == 1 for result in results),
    }
