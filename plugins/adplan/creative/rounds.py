"""The personalization DAG's rounds, on both targets: prepare, answer, settle, ..., publish.

A run is a bounded number of rounds. Each round answers the items still open (first drafts in round 1,
rewrites with the guardrail reasons in later rounds), then ``settle_round`` judges the answers: passing
variants are finished (PENDING_REVIEW), failing ones on their last attempt are finished and flagged
(REJECTED), the others become the next round's items. ``publish_round_results`` writes every finished
variant to ``creatives`` and the review page with the same function the one-shot local job uses.

Where state lives: in the lake's creative zone, never in XCom. A round's files are under
``creative/rounds/dt=<ds>/round=<n>/``:

- ``execution-NNN/input.json`` and ``execution-NNN/output.json``: one Step Functions execution each
  (inputs split to fit the 256 KiB payload limit, ``split_execution_inputs``); the output is the machine's
  output (``include/state_machines/creative_generation.asl.json``), stored by the sensor (aws) or by the
  local generator;
- ``batch/items.json``, ``batch/input/records.jsonl`` and ``batch/output/...jsonl.out``: a Bedrock batch
  inference job (``mode=batch``, rounds with at least ``batch.min_records`` items);
- ``finished.json``: the round's finished variants as ``creatives`` rows.

The tasks exchange a *plan* (round number, mode, item count, lake keys and URIs: no copy, no segment
facts), the only thing that goes through XCom.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from adplan.creative.batch import batch_input_records, parse_batch_output
from adplan.creative.bedrock import ModelOutcome
from adplan.creative.config import CreativeConfig, load_creative_config
from adplan.creative.generator import LocalGenerator
from adplan.creative.items import CreativeItem, plan_items
from adplan.creative.pipeline import PENDING_REVIEW, REJECTED, settle
from adplan.creative.review import creative_rows
from adplan.creative.segments import (
    SegmentsNotFoundError,
    parse_selection,
    segments_from_rows,
    select_segments,
)
from adplan.creative.state_machine import (
    items_from_execution_input,
    parse_execution_output,
    split_execution_inputs,
)

MODES = ("state_machine", "batch")
STATE_MACHINE, BATCH = MODES
ROUNDS_PREFIX = "creative/rounds"
INPUT_FILE, OUTPUT_FILE = "input.json", "output.json"
BATCH_OUTPUT_SUFFIX = ".jsonl.out"


class RoundBoundError(RuntimeError):
    """The configured attempts do not fit in the DAG's fixed number of rounds."""


class ReconciliationError(RuntimeError):
    """The finished variants do not add up to the variants the run planned."""


# --- the lake's creative zone: small JSON/JSONL files through the lake API --------------------------


def run_prefix(ds: str) -> str:
    return f"{ROUNDS_PREFIX}/dt={ds}"


def round_prefix(ds: str, round_number: int) -> str:
    return f"{run_prefix(ds)}/round={round_number}"


def output_key(input_key: str) -> str:
    """Where an execution's output is stored: beside its input."""
    if not input_key.endswith("/" + INPUT_FILE):
        raise ValueError(f"not an execution input key: {input_key!r}")
    return input_key.removesuffix(INPUT_FILE) + OUTPUT_FILE


def write_json(lake: Any, key: str, value: Any) -> str:
    return lake.write_bytes(key, json.dumps(value, ensure_ascii=False, sort_keys=True).encode())


def read_json(lake: Any, key: str) -> Any:
    return json.loads(read_bytes(lake, key))


def read_bytes(lake: Any, key: str) -> bytes:
    reader = getattr(lake, "read_bytes", None)
    if reader is not None:
        return reader(key)
    return Path(lake.location(key)).read_bytes()


def list_keys(lake: Any, prefix: str) -> list[str]:
    """Every file under ``prefix`` (relative to the lake), sorted; hidden temporary files excluded."""
    lister = getattr(lake, "keys", None)
    if lister is not None:
        return [key for key in lister(prefix) if not key.rsplit("/", 1)[-1].startswith(".")]
    folder = Path(lake.location(prefix))
    if not folder.is_dir():
        return []
    root = Path(lake.location())
    return sorted(
        path.relative_to(root).as_posix()
        for path in folder.rglob("*")
        if path.is_file() and not path.name.startswith(".")
    )


def _jsonl(records: Iterable[Mapping[str, Any]]) -> bytes:
    return "".join(
        json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n" for record in records
    ).encode()


# --- plans ------------------------------------------------------------------------------------------


def run_tag(run_id: str) -> str:
    """A short, name-safe tag of the DAG run (execution and batch job names must be unique)."""
    return hashlib.sha256(run_id.encode()).hexdigest()[:10]


def write_round(
    lake: Any,
    config: CreativeConfig,
    items: Sequence[CreativeItem],
    *,
    ds: str,
    campaign_id: str,
    round_number: int,
    mode: str,
    tag: str,
) -> dict[str, Any]:
    """Store a round's items as execution inputs (or one batch input) and return its plan."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; modes are {', '.join(MODES)}")
    use_batch = mode == BATCH and len(items) >= config.batch.min_records
    prefix = round_prefix(ds, round_number)
    plan: dict[str, Any] = {
        "round": round_number,
        "mode": BATCH if use_batch else STATE_MACHINE,
        "items": len(items),
        "campaign_id": campaign_id,
        "requested_mode": mode,
        "tag": tag,
        "inputs": [],
        "batch_items": None,
        "batch_input_uri": None,
        "batch_output": None,
        "batch_output_uri": None,
        "batch_job_name": None,
        "batch_role_arn": None,
        "model_id": config.model.model_id,
    }
    if not items:
        return plan
    if use_batch:
        items_key = f"{prefix}/batch/items.json"
        input_key = f"{prefix}/batch/input/records.jsonl"
        output = f"{prefix}/batch/output"
        write_json(lake, items_key, [item.to_dict() for item in items])
        lake.write_bytes(input_key, _jsonl(batch_input_records(config, items)))
        plan.update(
            batch_items=items_key,
            batch_input_uri=lake.location(input_key),
            batch_output=output,
            batch_output_uri=lake.location(output) + "/",
            batch_job_name=f"adplan-creative-{ds}-r{round_number}-{tag}",
            batch_role_arn=config.batch.role_arn,
        )
        return plan
    inputs = split_execution_inputs(config, items, campaign_id=campaign_id, ds=ds, round_number=round_number)
    for index, execution_input in enumerate(inputs):
        key = f"{prefix}/execution-{index:03d}/{INPUT_FILE}"
        write_json(lake, key, execution_input)
        plan["inputs"].append(key)
    return plan


def prepare_rounds(
    ds: str,
    *,
    lake: Any,
    segment_rows: Iterable[Mapping[str, Any]],
    max_rounds: int,
    run_id: str,
    campaign_id: str = "",
    segments: str | Sequence[str] = "all",
    channels: str | Sequence[str] = "all",
    variants: int = 3,
    mode: str = STATE_MACHINE,
    config: CreativeConfig | None = None,
) -> dict[str, Any]:
    """Plan every segment x channel x variant item and store round 1; returns round 1's plan.

    Also stores the run's manifest (``creative/rounds/dt=<ds>/run.json``: campaign, planned count, segment
    names for the review page), which publishing reconciles against.
    """
    config = config or load_creative_config()
    if config.generation.max_attempts > max_rounds:
        raise RoundBoundError(
            f"generation.max_attempts is {config.generation.max_attempts} but the DAG runs at most "
            f"{max_rounds} rounds: raise MAX_ROUNDS in dags/personalization.py or lower max_attempts"
        )
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; modes are {', '.join(MODES)}")
    campaign = campaign_id or config.brief.campaign_id
    chosen_channels = parse_selection(channels) or list(config.channels)
    for name in chosen_channels:
        config.channel(name)  # unknown channel names fail before any work
    chosen = select_segments(segments_from_rows(segment_rows), segments)
    if not chosen:
        raise SegmentsNotFoundError(f"no segment descriptions for {ds}: nothing to write creatives for")
    items = plan_items(config, chosen, campaign_id=campaign, channels=chosen_channels, variants=int(variants))
    manifest_key = f"{run_prefix(ds)}/run.json"
    write_json(
        lake,
        manifest_key,
        {
            "campaign_id": campaign,
            "ds": ds,
            "planned": len(items),
            "channels": chosen_channels,
            "segment_names": {segment.segment_id: segment.segment_name for segment in chosen},
        },
    )
    plan = write_round(
        lake, config, items, ds=ds, campaign_id=campaign, round_number=1, mode=mode, tag=run_tag(run_id)
    )
    return {**plan, "manifest": manifest_key, "segments": len(chosen), "planned": len(items)}


# --- answering (the local target's model; the aws target's machine writes the same output) ------------


def local_execution_output(generator: LocalGenerator, execution_input: Mapping[str, Any]) -> dict[str, Any]:
    """What the state machine returns for an input, with the local generator as the model.

    Each item's body is assembled the way the machine's ``InvokeModel`` state does (the shared ``request``
    plus the item's ``messages``), and the output has the machine's ``CollectResults`` shape.
    """
    request = execution_input["request"]
    results = []
    for item in execution_input["items"]:
        body = {
            "anthropic_version": request["anthropic_version"],
            "max_tokens": request["max_tokens"],
            "temperature": request["temperature"],
            "system": request["system"],
            "messages": item["messages"],
        }
        results.append(
            {
                "key": item["key"],
                "segment_id": item["segment_id"],
                "channel": item["channel"],
                "variant": item["variant"],
                "attempt": item["attempt"],
                "response": generator.respond(body),
            }
        )
    return {
        "campaign_id": execution_input["campaign_id"],
        "ds": execution_input["ds"],
        "round": execution_input["round"],
        "item_count": len(results),
        "results": results,
    }


def answer_round_locally(
    plan: Mapping[str, Any], *, lake: Any, config: CreativeConfig | None = None
) -> dict[str, Any]:
    """The local target's round: the generator answers every execution input (or the batch input) of the
    plan, and the outputs are stored where the aws target's sensor or batch job puts them."""
    config = config or load_creative_config()
    generator = LocalGenerator(config)
    for key in plan.get("inputs") or []:
        write_json(lake, output_key(key), local_execution_output(generator, read_json(lake, key)))
    if plan.get("batch_items"):
        input_key = lake.relative(plan["batch_input_uri"])
        records = [json.loads(line) for line in read_bytes(lake, input_key).decode().splitlines() if line]
        name = input_key.rsplit("/", 1)[-1]
        # Bedrock writes <output uri>/<job id>/<input file name>.out; "local" stands in for the job id.
        out_key = f"{plan['batch_output']}/local/{name}.out"
        lake.write_bytes(out_key, _jsonl(generator.batch_output(records)))
    return {"round": plan["round"], "mode": plan["mode"], "items": plan["items"]}


def answer_round(ds: str, *, lake_location: str | None = None, **plan: Any) -> dict[str, Any]:
    """Job ``creative.answer_round`` (local target's ``model_round``): answer one round's plan."""
    from adplan.lake import lake_at

    return answer_round_locally(plan, lake=lake_at(lake_location))


# --- settling ---------------------------------------------------------------------------------------


def round_outcomes(lake: Any, plan: Mapping[str, Any]) -> tuple[list[CreativeItem], list[ModelOutcome]]:
    """The round's items and one outcome per answered item, from the stored outputs."""
    items: list[CreativeItem] = []
    outcomes: list[ModelOutcome] = []
    for key in plan.get("inputs") or []:
        items += items_from_execution_input(read_json(lake, key))
        outcomes += parse_execution_output(read_json(lake, output_key(key)))
    if plan.get("batch_items"):
        batch_items = [CreativeItem.from_dict(item) for item in read_json(lake, plan["batch_items"])]
        records: list[str] = []
        for key in list_keys(lake, plan["batch_output"]):
            if key.endswith(BATCH_OUTPUT_SUFFIX):
                records += read_bytes(lake, key).decode().splitlines()
        items += batch_items
        outcomes += parse_batch_output(records, batch_items)
    return items, outcomes


def settle_round(
    ds: str,
    plan: Mapping[str, Any],
    *,
    lake: Any,
    max_rounds: int,
    config: CreativeConfig | None = None,
) -> dict[str, Any]:
    """Judge a round's answers; store its finished variants and the next round's items.

    All executions of the round are settled together and the retries re-split, because a retry carries
    the failed answer and the feedback: one execution's retries can outgrow one execution's payload.
    Returns the next round's plan plus this round's ``finished`` key and counts.
    """
    config = config or load_creative_config()
    round_number = int(plan["round"])
    items, outcomes = round_outcomes(lake, plan)
    if len(items) != int(plan["items"]):
        raise ReconciliationError(f"round {round_number}: planned {plan['items']} items, found {len(items)}")
    settlement = settle(config, items, outcomes)
    if settlement.retry_items and round_number >= max_rounds:
        raise RoundBoundError(
            f"{len(settlement.retry_items)} variants still have attempts left after the last round "
            f"({max_rounds}): generation.max_attempts exceeds the DAG's MAX_ROUNDS"
        )
    finished_key = f"{round_prefix(ds, round_number)}/finished.json"
    write_json(lake, finished_key, creative_rows(settlement.finished))
    next_plan = write_round(
        lake,
        config,
        settlement.retry_items,
        ds=ds,
        campaign_id=str(plan["campaign_id"]),
        round_number=round_number + 1,
        mode=str(plan.get("requested_mode") or plan["mode"]),
        tag=str(plan["tag"]),
    )
    return {
        **next_plan,
        "settled_round": round_number,
        "finished": finished_key,
        "answered": sum(outcome.answered for outcome in outcomes),
        "errors": sum(not outcome.answered for outcome in outcomes),
        "passed": sum(result.status == PENDING_REVIEW for result in settlement.finished),
        "rejected": sum(result.status == REJECTED for result in settlement.finished),
        "retrying": len(settlement.retry_items),
    }


# --- publishing -------------------------------------------------------------------------------------


def publish_round_results(
    ds: str,
    manifest_key: str,
    settled: Sequence[Mapping[str, Any] | None],
    *,
    warehouse: Any,
    config: CreativeConfig | None = None,
) -> dict[str, Any]:
    """Write ``creatives`` and the review page from every settled round; the counts must reconcile.

    ``settled`` holds each round's settle result (None for a round that did not run). Every planned
    variant must be finished exactly once: variants in = PENDING_REVIEW + REJECTED.
    """
    from adplan.creative.jobs import publish_creatives

    config = config or load_creative_config()
    lake = warehouse.lake
    manifest = read_json(lake, manifest_key)
    ran = [result for result in settled if result]
    rows: list[dict[str, Any]] = []
    for result in ran:
        rows += read_json(lake, result["finished"])
    if ran and int(ran[-1].get("items") or 0):
        raise ReconciliationError(f"{ran[-1]['items']} variants were left for a round that did not run")
    keys = [row["creative_key"] for row in rows]
    if len(set(keys)) != len(keys):
        raise ReconciliationError("a variant was finished in more than one round")
    passed = sum(row["status"] == PENDING_REVIEW for row in rows)
    rejected = sum(row["status"] == REJECTED for row in rows)
    if len(rows) != manifest["planned"] or passed + rejected != len(rows):
        raise ReconciliationError(
            f"planned {manifest['planned']} variants, finished {len(rows)} "
            f"({passed} PENDING_REVIEW + {rejected} REJECTED)"
        )
    order = {key: index for index, key in enumerate(sorted(keys, key=_variant_order))}
    rows.sort(key=lambda row: order[row["creative_key"]])
    partition, review_page = publish_creatives(
        warehouse,
        ds,
        rows,
        campaign_id=manifest["campaign_id"],
        config=config,
        segment_names=manifest["segment_names"],
    )
    return {
        "campaign_id": manifest["campaign_id"],
        "dt": ds,
        "rounds": len(ran),
        "variants": len(rows),
        "passed": passed,
        "rejected": rejected,
        "model_calls": sum(int(row["attempts"]) for row in rows),
        "table": "creatives",
        "partition": str(partition),
        "review_page": str(review_page),
    }


def _variant_order(key: str) -> tuple[str, str, str, int]:
    campaign, segment, channel, variant = key.rsplit("/", 3)
    return campaign, segment, channel, int(variant.removeprefix("v"))
