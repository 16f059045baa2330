"""Bedrock shapes, shared by both targets: Anthropic messages requests and responses on InvokeModel.

- ``request_body``: the InvokeModel body (Anthropic messages API on Bedrock).
- ``message_response``: the body InvokeModel returns, which the local generator also returns.
- ``outcome_from_body``: one model answer, whichever way it came (boto3 ``invoke_model``, the Step
  Functions ``bedrock:invokeModel`` task's ``Body``, a batch ``modelOutput``), as a ``ModelOutcome``.
- Batch inference records are in ``adplan.creative.batch``.

No boto3 here: ``invoke_model`` takes a bedrock-runtime client made by the caller.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from adplan.creative.config import CreativeConfig, ModelConfig

# Bedrock writes this key into the body when a guardrail blocked the input or the output.
GUARDRAIL_ACTION_KEY = "amazon-bedrock-guardrailAction"
CODE_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.IGNORECASE)


class ModelResponseError(ValueError):
    """A model response body that carries no usable answer."""


@dataclass(frozen=True)
class ModelOutcome:
    """One model answer for one item: its text, or why there is none."""

    key: str
    text: str | None = None
    error: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def answered(self) -> bool:
        return self.text is not None


def request_body(
    config: CreativeConfig, system: str, messages: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """The InvokeModel body for an Anthropic model on Bedrock."""
    return {
        "anthropic_version": config.model.anthropic_version,
        "max_tokens": config.model.max_tokens,
        "temperature": config.model.temperature,
        "system": system,
        "messages": [dict(message) for message in messages],
    }


def text_message(role: str, text: str) -> dict[str, Any]:
    return {"role": role, "content": [{"type": "text", "text": text}]}


def message_text(message: Mapping[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    return "".join(block.get("text", "") for block in content or [] if block.get("type") == "text")


def message_response(
    text: str,
    *,
    model: str,
    message_id: str,
    input_tokens: int,
    output_tokens: int,
    stop_reason: str = "end_turn",
) -> dict[str, Any]:
    """A response body exactly as Anthropic Claude's InvokeModel returns it."""
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
    }


def response_text(body: Mapping[str, Any]) -> str:
    """The answer text of a messages response body; raises when there is no usable answer."""
    if body.get(GUARDRAIL_ACTION_KEY) == "INTERVENED":
        raise ModelResponseError("the Bedrock guardrail intervened")
    if body.get("type") == "error":
        error = body.get("error") or {}
        raise ModelResponseError(f"{error.get('type', 'error')}: {error.get('message', '')}".strip())
    text = "".join(
        block.get("text", "") for block in body.get("content") or [] if block.get("type") == "text"
    )
    if not text.strip():
        raise ModelResponseError("the response has no text")
    if body.get("stop_reason") == "max_tokens":
        raise ModelResponseError("the answer was cut off at max_tokens")
    return text


def outcome_from_body(key: str, body: Any) -> ModelOutcome:
    """A ``ModelOutcome`` from a response body (a dict, or its JSON text/bytes)."""
    try:
        if isinstance(body, bytes | bytearray | str):
            body = json.loads(body)
        if not isinstance(body, Mapping):
            raise ModelResponseError("the response body is not a JSON object")
        text = response_text(body)
    except (ModelResponseError, json.JSONDecodeError) as error:
        return ModelOutcome(key=key, error=f"model_response: {error}")
    usage = body.get("usage") or {}
    return ModelOutcome(
        key=key,
        text=text,
        input_tokens=int(usage.get("input_tokens") or 0),
        output_tokens=int(usage.get("output_tokens") or 0),
    )


def parse_fields(text: str) -> dict[str, Any]:
    """The JSON object in a model's answer (tolerates a code fence or text around the object)."""
    stripped = CODE_FENCE.sub("", text.strip())
    try:
        value = json.loads(stripped)
    except json.JSONDecodeError:
        start, end = stripped.find("{"), stripped.rfind("}")
        if start < 0 or end <= start:
            raise ValueError("the answer holds no JSON object") from None
        try:
            value = json.loads(stripped[start : end + 1])
        except json.JSONDecodeError as error:
            raise ValueError(f"the answer's JSON does not parse ({error.msg})") from None
    if not isinstance(value, dict):
        raise ValueError("the answer's JSON is not an object")
    return value


# --- calling Bedrock from a worker (the BedrockInvokeModelOperator path, and Stubber tests) ----------


def invoke_model_kwargs(model: ModelConfig, body: Mapping[str, Any]) -> dict[str, Any]:
    """The bedrock-runtime ``invoke_model`` arguments for ``body`` (guardrail only when configured)."""
    kwargs: dict[str, Any] = {
        "modelId": model.model_id,
        "body": json.dumps(body),
        "contentType": "application/json",
        "accept": "application/json",
    }
    if model.guardrail_identifier:
        kwargs["guardrailIdentifier"] = model.guardrail_identifier
        kwargs["guardrailVersion"] = model.guardrail_version or "DRAFT"
    return kwargs


def read_invoke_model_response(response: Mapping[str, Any]) -> dict[str, Any]:
    """The body dict of a boto3 ``invoke_model`` response (``body`` is a StreamingBody)."""
    raw = response["body"]
    data = raw.read() if hasattr(raw, "read") else raw
    return json.loads(data)


def invoke_model(client: Any, model: ModelConfig, body: Mapping[str, Any]) -> dict[str, Any]:
    """Call ``client.invoke_model`` (a bedrock-runtime client) and return the response body."""
    return read_invoke_model_response(client.invoke_model(**invoke_model_kwargs(model, body)))
