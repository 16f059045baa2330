"""The Step Functions side of creative generation (aws target): execution input in, execution output out.

``include/state_machines/creative_generation.asl.json`` maps over ``items`` and calls Bedrock
(``arn:aws:states:::bedrock:invokeModel``) once per item, assembling each body from the shared request
settings (``request``: anthropic_version, max_tokens, temperature, system prompt) and the item's own
``messages``: the system prompt travels once per execution, not once per item.

A round on aws:
1. ``build_execution_input`` (first round) or ``Settlement.retry_items`` → ``execution_input_for_items``
   (later rounds) gives the input for ``StepFunctionStartExecutionOperator``;
2. ``StepFunctionExecutionSensor`` returns the execution output;
3. ``settle_execution(config, execution_input, output)`` judges every answer: finished creatives, and the
   next round's input when some failed with attempts left (``None`` when all are finished).

Step Functions caps an execution's input and output at 256 KiB; ``execution_input_for_items`` refuses a
larger input and names the ways out: ``split_execution_inputs`` (several executions, e.g. a mapped start
task) or batch inference (``adplan.creative.batch``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adplan.creative.bedrock import ModelOutcome, outcome_from_body
from adplan.creative.config import CreativeConfig
from adplan.creative.items import CreativeItem, plan_items
from adplan.creative.pipeline import CreativeResult, settle
from adplan.creative.prompts import system_prompt
from adplan.creative.segments import SegmentFacts

STATE_MACHINE_FILE = "creative_generation.asl.json"
MAX_PAYLOAD_BYTES = 256 * 1024


class ExecutionPayloadTooLargeError(ValueError):
    """The execution input would exceed Step Functions' 256 KiB limit."""


@dataclass(frozen=True)
class ExecutionRound:
    finished: list[CreativeResult]
    next_input: dict[str, Any] | None


def state_machine_path() -> Path:
    from adplan.settings import get_settings

    return get_settings().project_dir / "include" / "state_machines" / STATE_MACHINE_FILE


def load_definition(path: str | Path | None = None) -> dict[str, Any]:
    with open(path or state_machine_path(), encoding="utf-8") as handle:
        return json.load(handle)


def build_execution_input(
    config: CreativeConfig,
    segments: Sequence[SegmentFacts],
    *,
    campaign_id: str,
    ds: str,
    channels: Sequence[str] | None = None,
    variants: int = 3,
) -> dict[str, Any]:
    """The first round's execution input: every segment x channel x variant item."""
    items = plan_items(config, segments, campaign_id=campaign_id, channels=channels, variants=variants)
    return execution_input_for_items(config, items, campaign_id=campaign_id, ds=ds, round_number=1)


def execution_input_for_items(
    config: CreativeConfig, items: Sequence[CreativeItem], *, campaign_id: str, ds: str, round_number: int
) -> dict[str, Any]:
    model: dict[str, Any] = {"model_id": config.model.model_id}
    if config.model.guardrail_identifier:
        # Present only when set: the machine's Choice state routes on its presence.
        model["guardrail_identifier"] = config.model.guardrail_identifier
        model["guardrail_version"] = config.model.guardrail_version or "DRAFT"
    execution_input = {
        "campaign_id": campaign_id,
        "ds": ds,
        "round": round_number,
        "max_concurrency": config.model.max_concurrency,
        "model": model,
        "request": {
            "anthropic_version": config.model.anthropic_version,
            "max_tokens": config.model.max_tokens,
            "temperature": config.model.temperature,
            "system": system_prompt(config),
        },
        "items": [item.to_dict() for item in items],
    }
    size = len(json.dumps(execution_input).encode())
    if size > MAX_PAYLOAD_BYTES:
        raise ExecutionPayloadTooLargeError(
            f"the execution input is {size:,} bytes for {len(items)} items; Step Functions allows "
            f"{MAX_PAYLOAD_BYTES:,}. Split the items over several executions (split_execution_inputs), "
            "or use batch inference (adplan.creative.batch) for large volumes"
        )
    return execution_input


def split_execution_inputs(
    config: CreativeConfig, items: Sequence[CreativeItem], *, campaign_id: str, ds: str, round_number: int = 1
) -> list[dict[str, Any]]:
    """Execution inputs that each fit the payload limit, for large runs (one execution per input).

    Items are packed in order; each input's output (answers, about a third of the input's size per item)
    stays well under the limit too.
    """
    empty = execution_input_for_items(config, [], campaign_id=campaign_id, ds=ds, round_number=round_number)
    budget = MAX_PAYLOAD_BYTES - len(json.dumps(empty).encode())
    chunks: list[list[CreativeItem]] = [[]]
    used = 0
    for item in items:
        size = len(json.dumps(item.to_dict()).encode()) + 2  # the separator between list entries
        if chunks[-1] and used + size > budget:
            chunks.append([])
            used = 0
        chunks[-1].append(item)
        used += size
    return [
        execution_input_for_items(config, chunk, campaign_id=campaign_id, ds=ds, round_number=round_number)
        for chunk in chunks
        if chunk
    ]


def items_from_execution_input(execution_input: Mapping[str, Any] | str) -> list[CreativeItem]:
    return [CreativeItem.from_dict(item) for item in _unwrap(execution_input)["items"]]


def parse_execution_output(output: Mapping[str, Any] | str) -> list[ModelOutcome]:
    """One ``ModelOutcome`` per item result of an execution (``response`` → answer, ``error`` → error)."""
    outcomes = []
    for result in _as_mapping(output).get("results") or []:
        key = str(result["key"])
        if "response" in result:
            outcomes.append(outcome_from_body(key, result["response"]))
        else:
            error = result.get("error") or {}
            outcomes.append(
                ModelOutcome(
                    key=key, error=f"{error.get('Error', 'error')}: {error.get('Cause', '')}".strip()
                )
            )
    return outcomes


def settle_execution(
    config: CreativeConfig, execution_input: Mapping[str, Any] | str, output: Mapping[str, Any] | str
) -> ExecutionRound:
    """Judge a round: finished creatives, and the next round's execution input (None when done)."""
    data = _unwrap(execution_input)
    items = items_from_execution_input(data)
    settlement = settle(config, items, parse_execution_output(output))
    next_input = None
    if settlement.retry_items:
        next_input = execution_input_for_items(
            config,
            settlement.retry_items,
            campaign_id=data["campaign_id"],
            ds=data["ds"],
            round_number=int(data.get("round", 1)) + 1,
        )
    return ExecutionRound(finished=settlement.finished, next_input=next_input)


def _as_mapping(value: Mapping[str, Any] | str) -> Mapping[str, Any]:
    return json.loads(value) if isinstance(value, str | bytes) else value


def _unwrap(execution_input: Mapping[str, Any] | str) -> Mapping[str, Any]:
    """The input itself, also when the state_machine_run builder wrapped it as ``{ds, params}``."""
    data = _as_mapping(execution_input)
    return data if "items" in data else _as_mapping(data["params"])
