"""Bedrock batch inference records, for large volumes (same items, same answers as InvokeModel).

- Input: one JSONL record per item, ``{"recordId": <11 alphanumerics>, "modelInput": <InvokeModel body>}``.
- Output: ``{"recordId", "modelInput", "modelOutput": <response body>}`` or ``{"recordId", "modelInput",
  "error": {"errorCode", "errorMessage"}}``. Bedrock does not keep the input order, so records are matched
  back to items by ``recordId``, which is derived from the item's key (stable across retry rounds).

The model id (``config.model.model_id``) is set on the batch job (``CreateModelInvocationJob``, e.g. the
provider's ``BedrockBatchInferenceOperator``); the inference parameters (max_tokens, temperature) are in
each ``modelInput``, from the config. ``CreateModelInvocationJob`` takes no guardrail, so a configured
Bedrock guardrail does not apply to batch records; our own guardrails judge every answer on every path.
The local generator writes the same output records (``LocalGenerator.batch_output``).
"""

from __future__ import annotations

import hashlib
import json
import string
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from adplan.creative.bedrock import ModelOutcome, outcome_from_body
from adplan.creative.config import CreativeConfig
from adplan.creative.items import CreativeItem, item_request
from adplan.lake import atomic_file

RECORD_ID_ALPHABET = string.ascii_uppercase + string.digits
RECORD_ID_LENGTH = 11


def batch_record_id(key: str) -> str:
    """An 11-character alphanumeric record id derived from an item key (stable across rounds)."""
    number = int.from_bytes(hashlib.sha256(key.encode()).digest()[:12], "big")
    characters = []
    for _ in range(RECORD_ID_LENGTH):
        number, index = divmod(number, len(RECORD_ID_ALPHABET))
        characters.append(RECORD_ID_ALPHABET[index])
    return "".join(characters)


def batch_input_records(config: CreativeConfig, items: Sequence[CreativeItem]) -> list[dict[str, Any]]:
    """The JSONL records of a batch inference job: ``{recordId, modelInput}``, one per item."""
    records, seen = [], {}
    for item in items:
        record_id = batch_record_id(item.key)
        if record_id in seen:
            raise ValueError(f"record id collision between {seen[record_id]!r} and {item.key!r}")
        seen[record_id] = item.key
        records.append({"recordId": record_id, "modelInput": item_request(config, item)})
    return records


def parse_batch_output(
    records: Iterable[Mapping[str, Any] | str], items: Sequence[CreativeItem]
) -> list[ModelOutcome]:
    """One outcome per item from batch output records (an item with no record gets an error outcome)."""
    keys = {batch_record_id(item.key): item.key for item in items}
    outcomes: dict[str, ModelOutcome] = {}
    for record in records:
        if isinstance(record, str):
            if not record.strip():
                continue
            record = json.loads(record)
        key = keys.get(str(record.get("recordId")))
        if key is None:
            continue  # a record of another job sharing the output folder
        if "modelOutput" in record:
            outcomes[key] = outcome_from_body(key, record["modelOutput"])
        else:
            outcomes[key] = ModelOutcome(key=key, error=f"batch_error: {_batch_error(record.get('error'))}")
    return [
        outcomes.get(item.key, ModelOutcome(key=item.key, error="batch_error: no output record"))
        for item in items
    ]


def batch_output_record(record: Mapping[str, Any], model_output: Mapping[str, Any]) -> dict[str, Any]:
    return {"recordId": record["recordId"], "modelInput": record["modelInput"], "modelOutput": model_output}


def _batch_error(error: Any) -> str:
    if isinstance(error, Mapping):
        return f"{error.get('errorCode', 'error')}: {error.get('errorMessage', '')}".strip()
    return str(error or "unknown error")


def write_jsonl(path: str | Path, records: Iterable[Mapping[str, Any]]) -> Path:
    """Write records as JSONL atomically (a batch job's input file, or the local stand-in for its output)."""
    path = Path(path)
    with atomic_file(path) as tmp, open(tmp, "w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
    return path


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]
