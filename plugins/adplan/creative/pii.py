"""Patterns of personal data that must never reach a prompt or a piece of copy.

Used twice: on the way in (segment text fields are scrubbed before they can enter a prompt) and on the
way out (a variant that contains any of these fails its guardrails).

Phone numbers are told apart from prices, dates and percentages by counting digits: a run of digits and
separators is a phone number when it holds 9 to 15 digits (international and national numbers), or has
the local ``555-0123`` shape. Dates such as ``2026-11-30`` (8 digits) and prices stay clear.
"""

from __future__ import annotations

import re

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# Any address-like "user@host", even without a top-level domain, inside a URL or mailto: link.
URL_WITH_EMAIL = re.compile(
    r"(?:mailto:\S+|(?:https?://|www\.)\S*(?:@|[?&](?:e-?mail|email_address|user_email)=)\S*)",
    re.IGNORECASE,
)
PHONE_CANDIDATE = re.compile(r"\+?\(?\d[\d\s().-]{5,}\d")
LOCAL_PHONE = re.compile(r"^\d{3}[-.]\d{4}$")
MIN_PHONE_DIGITS = 9
MAX_PHONE_DIGITS = 15


def find_phone_numbers(text: str) -> list[str]:
    found = []
    for match in PHONE_CANDIDATE.finditer(text):
        candidate = match.group().strip()
        digits = sum(char.isdigit() for char in candidate)
        if MIN_PHONE_DIGITS <= digits <= MAX_PHONE_DIGITS or LOCAL_PHONE.match(candidate):
            found.append(candidate)
    return found


def personal_data_kinds(text: str) -> list[str]:
    """The kinds of personal data found in ``text``: ``email``, ``phone``, ``url_with_email``."""
    kinds = []
    if URL_WITH_EMAIL.search(text):
        kinds.append("url_with_email")
    if EMAIL.search(text):
        kinds.append("email")
    if find_phone_numbers(text):
        kinds.append("phone")
    return kinds


def contains_personal_data(text: str) -> bool:
    return bool(personal_data_kinds(text))
