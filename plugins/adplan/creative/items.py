"""Items: one variant to write for one segment on one channel, with its conversation so far.

An item is target-neutral: the local generator, a Step Functions Map iteration and a batch inference
record all answer the same ``item_request``. A failed attempt becomes the next item by appending the
model's answer and a feedback turn (``revise_item``), so a retry is a follow-up call in the same
conversation, on either target.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from adplan.creative.angles import angle_for_variant, interest_for_variant
from adplan.creative.bedrock import ModelOutcome, request_body, text_message
from adplan.creative.config import CreativeConfig
from adplan.creative.guardrails import Verdict
from adplan.creative.prompts import revision_prompt, system_prompt, task_block, user_prompt
from adplan.creative.segments import SegmentFacts


@dataclass(frozen=True)
class CreativeItem:
    campaign_id: str
    segment_id: str
    channel: str
    variant: int
    attempt: int
    messages: tuple[dict[str, Any], ...]

    @property
    def key(self) -> str:
        """The creative's key: stable across attempts, used by approvals and batch record ids."""
        return creative_key(self.campaign_id, self.segment_id, self.channel, self.variant)

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "campaign_id": self.campaign_id,
            "segment_id": self.segment_id,
            "channel": self.channel,
            "variant": self.variant,
            "attempt": self.attempt,
            "messages": [dict(message) for message in self.messages],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CreativeItem:
        return cls(
            campaign_id=str(data["campaign_id"]),
            segment_id=str(data["segment_id"]),
            channel=str(data["channel"]),
            variant=int(data["variant"]),
            attempt=int(data["attempt"]),
            messages=tuple(dict(message) for message in data["messages"]),
        )


def creative_key(campaign_id: str, segment_id: str, channel: str, variant: int) -> str:
    return f"{campaign_id}/{segment_id}/{channel}/v{variant}"


def plan_items(
    config: CreativeConfig,
    segments: Sequence[SegmentFacts],
    *,
    campaign_id: str,
    channels: Sequence[str] | None = None,
    variants: int = 3,
) -> list[CreativeItem]:
    """Every (segment, channel, variant) to write, each with its first user prompt."""
    if variants < 1:
        raise ValueError("variants must be at least 1")
    channel_specs = [config.channel(name) for name in (channels or list(config.channels))]
    items = []
    for segment in segments:
        for channel in channel_specs:
            for variant in range(1, variants + 1):
                task = task_block(
                    config,
                    segment,
                    channel,
                    variant=variant,
                    angle=angle_for_variant(segment, variant, config.generation),
                    interest=interest_for_variant(segment, variant),
                )
                items.append(
                    CreativeItem(
                        campaign_id=campaign_id,
                        segment_id=segment.segment_id,
                        channel=channel.name,
                        variant=variant,
                        attempt=1,
                        messages=(text_message("user", user_prompt(config, task)),),
                    )
                )
    return items


def item_request(config: CreativeConfig, item: CreativeItem) -> dict[str, Any]:
    """The InvokeModel body for the item's current attempt."""
    return request_body(config, system_prompt(config), item.messages)


def revise_item(
    config: CreativeConfig, item: CreativeItem, outcome: ModelOutcome, verdict: Verdict
) -> CreativeItem:
    """The item's next attempt: the failed answer and the guardrail reasons become a follow-up turn.

    When the model gave no answer (an error, a guardrail intervention), the same request is sent again.
    """
    messages = item.messages
    if outcome.answered:
        feedback = revision_prompt(config, item.attempt + 1, list(verdict.reasons))
        messages = (*messages, text_message("assistant", outcome.text or ""), text_message("user", feedback))
    return CreativeItem(
        campaign_id=item.campaign_id,
        segment_id=item.segment_id,
        channel=item.channel,
        variant=item.variant,
        attempt=item.attempt + 1,
        messages=messages,
    )


def build_retry_request(
    config: CreativeConfig, item: CreativeItem, outcome: ModelOutcome, verdict: Verdict
) -> dict[str, Any]:
    """The body of the follow-up model call for a variant that failed its guardrails (aws target)."""
    return item_request(config, revise_item(config, item, outcome, verdict))
