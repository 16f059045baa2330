"""Prompts: Jinja2 templates from ``include/prompts/`` rendered in a sandboxed, strict environment.

The environment is a ``SandboxedEnvironment`` (templates cannot reach Python internals) with
``StrictUndefined`` (a misspelt variable fails the render instead of printing nothing). Templates only
ever receive plain dicts built here from the configuration and from ``SegmentFacts``: the prompt builder
has no way to see a segment row, so nothing outside the whitelisted aggregates can enter a prompt.

The user prompt ends with the task as a JSON block (``<task>…</task>``): models follow structured facts
well, and the local generator reads the same block, so both targets answer the same request.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from adplan.creative.angles import ANGLES
from adplan.creative.config import ChannelSpec, CreativeConfig
from adplan.creative.segments import SegmentFacts

TASK_BLOCK = re.compile(r"<task>\s*(\{.*?\})\s*</task>", re.DOTALL)
REVISION_BLOCK = re.compile(r"<revision>\s*(\{.*?\})\s*</revision>", re.DOTALL)
UNKNOWN = "unknown"


@functools.cache
def prompt_environment(directory: Path) -> SandboxedEnvironment:
    return SandboxedEnvironment(
        loader=FileSystemLoader(str(directory)),
        undefined=StrictUndefined,
        autoescape=False,  # plain text for a model, not HTML
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )


def render(config: CreativeConfig, template: str, **context: Any) -> str:
    return prompt_environment(config.prompts.directory).get_template(template).render(**context).strip()


def system_prompt(config: CreativeConfig) -> str:
    brief, rules = config.brief, config.brand_rules
    return render(
        config,
        config.prompts.system,
        brief={
            "brand": brief.brand,
            "objective": brief.objective,
            "product": brief.product,
            "offer": brief.offer,
            "call_to_action": brief.call_to_action,
            "tone": brief.tone,
        },
        rules={
            "voice": list(rules.voice),
            "banned_words": list(rules.banned_words),
            "claims": [
                {"claim": c.claim, "disclaimer": c.disclaimer} for c in rules.claims_needing_disclaimer
            ],
            "superlatives": list(rules.unsupported_superlatives),
            "substantiated": [s.claim for s in brief.substantiations],
        },
    )


def task_block(
    config: CreativeConfig,
    segment: SegmentFacts,
    channel: ChannelSpec,
    *,
    variant: int,
    angle: str,
    interest: str | None,
) -> dict[str, Any]:
    """What one call must write, as data: the only route by which segment facts enter a prompt."""
    return {
        "variant": variant,
        "angle": angle,
        "interest": interest,
        "channel": {
            "name": channel.name,
            "fields": {spec.name: spec.max_chars for spec in channel.fields},
            "disclaimer_field": channel.disclaimer_field,
        },
        "required_disclaimers": list(config.mandatory_disclaimers_for(channel.name)),
        "segment": segment.prompt_facts(),
    }


def user_prompt(config: CreativeConfig, task: dict[str, Any]) -> str:
    channel = config.channel(task["channel"]["name"])
    return render(
        config,
        config.prompts.user,
        task=task,
        facts=_display_facts(task["segment"]),
        channel={"label": channel.label, "guidance": channel.guidance or "none"},
        angle_instruction=ANGLES.get(task["angle"], ""),
    )


def revision_prompt(config: CreativeConfig, attempt: int, reasons: list[str]) -> str:
    return render(
        config,
        config.prompts.revision,
        reasons=list(reasons),
        revision={"attempt": attempt, "reasons": list(reasons)},
    )


def read_task_block(text: str) -> dict[str, Any] | None:
    """The ``<task>`` JSON block of a user prompt (None when there is none)."""
    match = TASK_BLOCK.search(text)
    return json.loads(match.group(1)) if match else None


def read_revision_block(text: str) -> dict[str, Any] | None:
    match = REVISION_BLOCK.search(text)
    return json.loads(match.group(1)) if match else None


def _display_facts(facts: dict[str, Any]) -> dict[str, str]:
    """Facts as readable text; missing values read "unknown" rather than "None"."""

    def number(value: Any, pattern: str) -> str:
        return UNKNOWN if value is None else pattern.format(value)

    def listing(values: list[str]) -> str:
        return ", ".join(values) if values else UNKNOWN

    return {
        "segment_name": facts["segment_name"],
        "lifecycle": facts["lifecycle"].replace("_", " "),
        "size": number(facts["size"], "{:,}"),
        "share_of_customers": number(
            None if facts["share_of_customers"] is None else facts["share_of_customers"] * 100, "{:.1f}%"
        ),
        "avg_order_value": number(facts["avg_order_value"], "{:,.2f}"),
        "avg_ltv": number(facts["avg_ltv"], "{:,.2f}"),
        "median_recency_days": number(facts["median_recency_days"], "{:,}"),
        "top_channels": listing(facts["top_channels"]),
        "top_interests": listing(facts["top_interests"]),
    }
