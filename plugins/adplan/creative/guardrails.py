"""Guardrails: the checks every variant passes before a person reviews it, on both targets.

Each rule returns reasons, ``"<rule>: <what is wrong>"``; a variant passes when there are none. Reasons
name fields, limits and configured terms, never the copy's own text, so they are safe to store, to show
and to send back to the model as feedback.

Rules:
- ``fields``: the answer has exactly the channel's fields, each a non-empty string (extra keys are ignored).
- ``length``: each field within its channel limit, in characters, disclaimers included.
- ``banned_word``: none of the brand's banned words or phrases, matched as whole words, any case.
- ``superlative``: no unsupported superlative ("best", "#1", "guaranteed", ...). A superlative inside one of
  the brief's substantiated claims, quoted word for word, is allowed.
- ``claim_disclaimer``: a claim that needs a disclaimer may appear only with that disclaimer, word for
  word, in the channel's disclaimer field. Channels with no disclaimer field (search, display: no room)
  cannot carry such claims at all.
- ``disclaimer``: the brief's mandatory disclaimers appear, word for word, in the disclaimer field of
  every channel they are listed for (only channels with a disclaimer field can be listed; config checks).
- ``personal_data``: no email address, phone number or URL carrying an email address.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from adplan.creative.config import ChannelSpec, CreativeConfig
from adplan.creative.pii import personal_data_kinds

PASS, FAIL = "PASS", "FAIL"
PII_NAMES = {
    "email": "an email address",
    "phone": "a phone number",
    "url_with_email": "a URL with an email address",
}


@dataclass(frozen=True)
class Verdict:
    reasons: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return not self.reasons

    @property
    def label(self) -> str:
        return PASS if self.passed else FAIL

    @property
    def rules(self) -> set[str]:
        return {reason.split(":", 1)[0] for reason in self.reasons}


def failed(*reasons: str) -> Verdict:
    return Verdict(tuple(reasons))


def check_variant(config: CreativeConfig, channel: ChannelSpec, answer: Mapping[str, Any]) -> Verdict:
    """Run every rule on one variant's fields; the verdict lists all that failed."""
    problems = check_fields(channel, answer)
    if problems:
        return Verdict(tuple(problems))
    fields = {name: answer[name] for name in channel.field_names}
    reasons = [
        *check_lengths(channel, fields),
        *check_banned_words(config, fields),
        *check_superlatives(config, fields),
        *check_claim_disclaimers(config, channel, fields),
        *check_mandatory_disclaimers(config, channel, fields),
        *check_personal_data(fields),
    ]
    return Verdict(tuple(reasons))


def check_fields(channel: ChannelSpec, answer: Mapping[str, Any]) -> list[str]:
    reasons = []
    for name in channel.field_names:
        value = answer.get(name)
        if value is None:
            reasons.append(f"fields: {name} is missing")
        elif not isinstance(value, str):
            reasons.append(f"fields: {name} must be text")
        elif not value.strip():
            reasons.append(f"fields: {name} is empty")
    return reasons


def check_lengths(channel: ChannelSpec, fields: Mapping[str, str]) -> list[str]:
    return [
        f"length: {name} has {len(text)} characters; the {channel.name} limit is {channel.limit(name)}"
        for name, text in fields.items()
        if len(text) > channel.limit(name)
    ]


def check_banned_words(config: CreativeConfig, fields: Mapping[str, str]) -> list[str]:
    return [
        f"banned_word: {name} uses the banned term '{term}'"
        for name, text in fields.items()
        for term in config.brand_rules.banned_words
        if phrase_pattern(term).search(text)
    ]


def check_superlatives(config: CreativeConfig, fields: Mapping[str, str]) -> list[str]:
    substantiated = [phrase_pattern(s.claim) for s in config.brief.substantiations]
    reasons = []
    for name, text in fields.items():
        # Quoting a substantiated claim word for word is allowed; anything else is judged on what remains.
        remaining = text
        for claim in substantiated:
            remaining = claim.sub(" ", remaining)
        reasons += [
            f"superlative: {name} uses '{term}' without a substantiated claim in the brief"
            for term in config.brand_rules.unsupported_superlatives
            if phrase_pattern(term).search(remaining)
        ]
    return reasons


def check_claim_disclaimers(
    config: CreativeConfig, channel: ChannelSpec, fields: Mapping[str, str]
) -> list[str]:
    everything = "\n".join(fields.values())
    reasons = []
    for rule in config.brand_rules.claims_needing_disclaimer:
        if not phrase_pattern(rule.claim).search(everything):
            continue
        if channel.disclaimer_field is None:
            reasons.append(
                f"claim_disclaimer: the claim '{rule.claim}' needs a disclaimer and {channel.name} has no "
                "room for one; drop the claim"
            )
        elif not contains_verbatim(fields[channel.disclaimer_field], rule.disclaimer):
            reasons.append(
                f"claim_disclaimer: the claim '{rule.claim}' needs the disclaimer \"{rule.disclaimer}\" "
                f"in {channel.disclaimer_field}"
            )
    return reasons


def check_mandatory_disclaimers(
    config: CreativeConfig, channel: ChannelSpec, fields: Mapping[str, str]
) -> list[str]:
    required = config.mandatory_disclaimers_for(channel.name)
    if not required or channel.disclaimer_field is None:
        return []
    target = fields[channel.disclaimer_field]
    return [
        f'disclaimer: {channel.disclaimer_field} must include "{text}" word for word'
        for text in required
        if not contains_verbatim(target, text)
    ]


def check_personal_data(fields: Mapping[str, str]) -> list[str]:
    # The reason names the kind of data, never the value found.
    return [
        f"personal_data: {name} contains {PII_NAMES[kind]}"
        for name, text in fields.items()
        for kind in personal_data_kinds(text)
    ]


@functools.cache
def phrase_pattern(term: str) -> re.Pattern[str]:
    """A term as a whole word or phrase, any case, any whitespace between its words ("#1" included)."""
    words = [re.escape(word) for word in term.split()]
    return re.compile(r"(?<![\w#])" + r"\s+".join(words) + r"(?!\w)", re.IGNORECASE)


def contains_verbatim(text: str, required: str) -> bool:
    """``required`` appears in ``text`` word for word (case and runs of whitespace aside)."""
    return " ".join(required.split()).casefold() in " ".join(text.split()).casefold()
