"""The local target's model: a deterministic copywriter that answers Bedrock requests with Bedrock responses.

``LocalGenerator.respond(body)`` takes the same InvokeModel body a Claude model gets and returns the same
response body (``{"id", "type": "message", ..., "content": [{"type": "text", "text": <JSON of fields>}]}``),
and ``batch_output`` turns batch input records into batch output records, so parsing and guardrails
downstream are the same code on both targets.

How it writes: it reads the ``<task>`` block of the first user turn (segment facts, channel fields and
limits, variant, angle, interest, required disclaimers) and fills that angle's copy templates
(``include/prompts/local_copy.yaml``) with the brief (brand, product, offer) and the segment's facts
(interest, months since the last order). Segments differ in lifecycle, recency, spend and interests, so
their angles and phrases differ.

Like a first draft, attempt 1 takes the variant's turn through the angle's phrases, and some of them
break a rule (too long for the channel, a superlative, a claim a short format has no room to disclaim),
so guardrails and retries do real work. On a later attempt (a ``<revision>`` turn with the guardrail
reasons) it keeps the fields no reason names and rewrites the others carefully: only phrases that fit and
break no rule, avoiding an interest whose wording breaks one.

Deterministic: every choice is seeded by a hash of the request (the turn through the phrases by the
segment, channel and angle plus the variant number; a revision's draw by the whole body), never by time
or global random state. The same request always gets the same answer.
"""

from __future__ import annotations

import hashlib
import json
import random
import string
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from adplan.creative.batch import batch_output_record
from adplan.creative.bedrock import (
    ModelOutcome,
    message_response,
    message_text,
    outcome_from_body,
    parse_fields,
)
from adplan.creative.config import ChannelSpec, CreativeConfig
from adplan.creative.guardrails import (
    check_banned_words,
    check_claim_disclaimers,
    check_personal_data,
    check_superlatives,
    phrase_pattern,
)
from adplan.creative.items import CreativeItem, item_request
from adplan.creative.prompts import read_revision_block, read_task_block

# Each channel field is written from one kind of phrase.
FIELD_PHRASES = {
    "headline": "hook",
    "description": "pitch",
    "primary_text": "pitch",
    "preheader": "pitch",
    "subject": "subject",
    "body": "body",
}
MIN_MONTHS_TO_MENTION = 2

FALLBACK_ANGLE = "offer"
PHRASE_KINDS = ("hook", "pitch", "subject", "extra")
# angle -> phrase kind -> templates, read from include/prompts/<prompts.local_copy>
CopyBook = Mapping[str, Mapping[str, Sequence[str]]]


def load_copy_book(config: CreativeConfig) -> CopyBook:
    """The local generator's copy templates; every angle needs every kind, and "offer" is required."""
    path = config.prompts.directory / config.prompts.local_copy
    with open(path, encoding="utf-8") as handle:
        book = yaml.safe_load(handle)
    if not isinstance(book, dict) or FALLBACK_ANGLE not in book:
        raise ValueError(f"{path}: needs angles, including {FALLBACK_ANGLE!r}")
    for angle, kinds in book.items():
        missing = [kind for kind in PHRASE_KINDS if not (kinds or {}).get(kind)]
        if missing:
            raise ValueError(f"{path}: angle {angle!r} has no {', '.join(missing)} templates")
    return book


class LocalGenerator:
    """Answers Anthropic messages requests the way Bedrock does, deterministically, from templates."""

    def __init__(self, config: CreativeConfig, copy_book: CopyBook | None = None) -> None:
        self.config = config
        self.copy_book = copy_book if copy_book is not None else load_copy_book(config)

    def respond(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """The InvokeModel response body for a request body."""
        canonical = json.dumps(body, sort_keys=True, ensure_ascii=False)
        digest = hashlib.sha256(canonical.encode()).hexdigest()
        task, previous, reasons = _read_conversation(body.get("messages") or [])
        rng = random.Random(int(digest, 16))
        fields = write_variant(self.config, self.copy_book, task, rng, previous, reasons)
        text = json.dumps(fields, ensure_ascii=False)
        return message_response(
            text,
            model=self.config.model.model_id,
            message_id=f"msg_bdrk_{digest[:24]}",
            # Rough Claude token counts (about four characters a token), so usage figures are plausible.
            input_tokens=max(1, len(canonical) // 4),
            output_tokens=max(1, len(text) // 4),
        )

    def answer(self, items: Sequence[CreativeItem]) -> list[ModelOutcome]:
        """One round of items, answered in process (the ``Answerer`` of ``run_rounds``)."""
        return [outcome_from_body(item.key, self.respond(item_request(self.config, item))) for item in items]

    def batch_output(self, records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Batch inference output records for input records, as a Bedrock batch job writes them."""
        return [batch_output_record(record, self.respond(record["modelInput"])) for record in records]


def _read_conversation(
    messages: Sequence[Mapping[str, Any]],
) -> tuple[dict[str, Any], dict[str, Any] | None, list[str]]:
    """The task (first user turn), the previous answer and the feedback on it (a revision's last turns)."""
    task = read_task_block(message_text(messages[0])) if messages else None
    if task is None:
        raise ValueError("the local generator answers creative requests only: no <task> block found")
    if len(messages) < 3:
        return task, None, []
    revision = read_revision_block(message_text(messages[-1])) or {}
    try:
        previous = parse_fields(message_text(messages[-2]))
    except ValueError:
        previous = {}
    return task, previous, list(revision.get("reasons") or [])


def write_variant(
    config: CreativeConfig,
    copy_book: CopyBook,
    task: Mapping[str, Any],
    rng: random.Random,
    previous: Mapping[str, Any] | None = None,
    reasons: Sequence[str] = (),
) -> dict[str, str]:
    """Write the channel's fields for a task; with ``previous``, revise only what needs it."""
    channel = config.channel(task["channel"]["name"])
    careful = previous is not None
    context = copy_context(config, task, careful=careful)
    disclaimers = list(task.get("required_disclaimers") or [])
    # The disclaimer field is written last, so it can carry the disclaimers of claims made elsewhere.
    order = sorted(channel.field_names, key=lambda name: name == channel.disclaimer_field)
    fields: dict[str, str] = {}
    for name in order:
        if careful and _keep_previous(config, channel, name, previous or {}, reasons):
            fields[name] = str((previous or {})[name])
            continue
        required = disclaimers if name == channel.disclaimer_field else []
        budget = channel.limit(name) - sum(len(text) + 1 for text in required)
        # A first draft takes the variant's turn through the phrases, so variants sharing an angle differ.
        turn = _stable_number(task["segment"], channel.name, name, task["angle"]) + int(task["variant"])
        templates = _templates(copy_book, task["angle"], FIELD_PHRASES.get(name, "pitch"), rng)
        fallback = _templates(copy_book, FALLBACK_ANGLE, FIELD_PHRASES.get(name, "pitch"), rng)
        phrase = _pick_phrase(config, channel, templates, fallback, context, rng, careful, budget, turn)
        if name == channel.disclaimer_field:
            phrase = " ".join([phrase, *_disclaimers_for(config, [*fields.values(), phrase], required)])
        fields[name] = phrase
    return {name: fields[name] for name in channel.field_names}


def copy_context(config: CreativeConfig, task: Mapping[str, Any], *, careful: bool = False) -> dict[str, str]:
    """Values the phrase templates may use: the brief and the segment's facts (never a person's data)."""
    brief, segment = config.brief, task["segment"]
    interests = [task.get("interest"), *(segment.get("top_interests") or [])]
    if careful:
        # A revision steers clear of an interest whose wording breaks a rule ("cheap eats").
        channel = config.channel(task["channel"]["name"])
        interests = [text for text in interests if text and _clean(config, channel, text)]
    interest = next((text for text in interests if text), None)
    context = {
        "brand": brief.brand,
        "product": brief.product,
        "offer": brief.offer,
        "offer_cap": _capitalize(brief.offer),
        "offer_short": brief.offer_short,
        "offer_short_cap": _capitalize(brief.offer_short),
        "cta": brief.call_to_action,
    }
    if interest:
        context |= {"interest": interest.lower(), "interest_cap": _capitalize(interest.lower())}
    days = segment.get("median_recency_days")
    if days is not None and round(days / 30) >= MIN_MONTHS_TO_MENTION:
        context["months"] = str(round(days / 30))
    return context


def _pick_phrase(
    config: CreativeConfig,
    channel: ChannelSpec,
    templates: Sequence[str],
    fallback_templates: Sequence[str],
    context: Mapping[str, str],
    rng: random.Random,
    careful: bool,
    budget: int,
    turn: int,
) -> str:
    candidates = _render_all(templates, context)
    if not careful:
        return candidates[turn % len(candidates)] if candidates else _fit(context["offer_cap"], budget)
    fallback = _render_all(fallback_templates, context)
    for pool in (candidates, fallback):
        good = [text for text in pool if len(text) <= budget and _clean(config, channel, text)]
        if good:
            return rng.choice(good)
    shortest = min(candidates + fallback or [context["offer_cap"]], key=len)
    return _fit(shortest, budget)


def _templates(copy_book: CopyBook, angle: str, kind: str, rng: random.Random) -> list[str]:
    phrases = copy_book.get(angle) or copy_book[FALLBACK_ANGLE]
    if kind != "body":
        return list(phrases[kind])
    # An email body: a pitch, a supporting sentence and the call to action.
    return [f"{pitch} {rng.choice(phrases['extra'])} {{cta}}." for pitch in phrases["pitch"]]


def _stable_number(*parts: Any) -> int:
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _render_all(templates: Sequence[str], context: Mapping[str, str]) -> list[str]:
    rendered = []
    for template in templates:
        needed = {name for _, name, _, _ in string.Formatter().parse(template) if name}
        if needed <= context.keys():  # a phrase about months is skipped when recency is unknown
            rendered.append(template.format(**context))
    return rendered


def _disclaimers_for(config: CreativeConfig, texts: Sequence[str], required: Sequence[str]) -> list[str]:
    """The required disclaimers, plus the disclaimer of every claim the texts make."""
    written = " ".join(texts)
    disclaimers = list(required)
    for rule in config.brand_rules.claims_needing_disclaimer:
        if phrase_pattern(rule.claim).search(written) and rule.disclaimer not in disclaimers:
            disclaimers.append(rule.disclaimer)
    return disclaimers


def _keep_previous(
    config: CreativeConfig,
    channel: ChannelSpec,
    name: str,
    previous: Mapping[str, Any],
    reasons: Sequence[str],
) -> bool:
    """Keep a field of the previous answer when no reason names it and it breaks no rule."""
    value = previous.get(name)
    if not isinstance(value, str) or not value.strip() or len(value) > channel.limit(name):
        return False
    if any(name in reason for reason in reasons):
        return False
    if name == channel.disclaimer_field:
        return False  # rewritten with the other fields, so its disclaimers match what they claim
    return _clean(config, channel, value)


def _clean(config: CreativeConfig, channel: ChannelSpec, text: str) -> bool:
    """Whether a phrase breaks none of the rules the generator can check on its own (for revisions).

    A revision also makes no claim that needs a disclaimer: the simplest way never to miss one.
    """
    probe = {"text": text}
    return not (
        check_banned_words(config, probe)
        or check_superlatives(config, probe)
        or check_personal_data(probe)
        or check_claim_disclaimers(config, _no_room(channel), probe)
    )


def _no_room(channel: ChannelSpec) -> ChannelSpec:
    return ChannelSpec(channel.name, channel.label, channel.guidance, channel.fields, None)


def _fit(text: str, limit: int) -> str:
    """Shorten at a word boundary (the last resort when no phrase fits)."""
    if len(text) <= limit:
        return text
    cut = text[: max(limit, 1)].rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:-")


def _capitalize(text: str) -> str:
    return text[:1].upper() + text[1:]
