"""Each guardrail rule on its own, then a whole verdict."""

from __future__ import annotations

import pytest

from adplan.creative.config import Substantiation
from adplan.creative.guardrails import (
    check_banned_words,
    check_claim_disclaimers,
    check_fields,
    check_lengths,
    check_mandatory_disclaimers,
    check_personal_data,
    check_superlatives,
    check_variant,
)

TERMS = "Offer ends 30 Nov 2026. Terms apply."


def social(primary_text: str, headline: str = "Made for hiking") -> dict[str, str]:
    return {"primary_text": primary_text, "headline": headline}


def test_a_clean_variant_passes(config):
    verdict = check_variant(config, config.channel("social"), social(f"Built for hiking weekends. {TERMS}"))
    assert verdict.passed
    assert verdict.label == "PASS"
    assert verdict.reasons == ()


def test_fields_missing_empty_or_not_text(config):
    reasons = check_fields(
        config.channel("search"), {"headline": "  ", "description": 42, "extra": "ignored"}
    )
    assert reasons == ["fields: headline is empty", "fields: description must be text"]
    assert check_fields(config.channel("search"), {"headline": "Hi"}) == ["fields: description is missing"]
    verdict = check_variant(config, config.channel("search"), {"headline": "Hi"})
    assert not verdict.passed
    assert verdict.rules == {"fields"}


@pytest.mark.parametrize(
    ("channel", "field", "limit"),
    [("search", "headline", 30), ("search", "description", 90), ("social", "primary_text", 125),
     ("display", "headline", 25), ("email", "subject", 60)],
)  # fmt: skip
def test_length_limits_from_the_channel_specs(config, channel, field, limit):
    spec = config.channel(channel)
    assert spec.limit(field) == limit
    assert check_lengths(spec, {field: "x" * limit}) == []
    assert check_lengths(spec, {field: "x" * (limit + 1)}) == [
        f"length: {field} has {limit + 1} characters; the {channel} limit is {limit}"
    ]


def test_banned_words_match_whole_words_in_any_case(config):
    assert check_banned_words(config, {"headline": "CHEAP jackets"}) == [
        "banned_word: headline uses the banned term 'cheap'"
    ]
    assert check_banned_words(config, {"headline": "Act   now for autumn"})  # phrase across whitespace
    assert check_banned_words(config, {"headline": "Cheapside store opening"}) == []  # not a whole word


def test_unsupported_superlatives(config):
    assert check_superlatives(config, {"headline": "Our best jacket"}) == [
        "superlative: headline uses 'best' without a substantiated claim in the brief"
    ]
    assert check_superlatives(config, {"headline": "The #1 pick"})
    assert check_superlatives(config, {"headline": "Warmth, guaranteed"})
    assert check_superlatives(config, {"headline": "Bestseller list"}) == []  # a different word
    assert check_superlatives(config, {"headline": "Pick #10 of the range"}) == []


def test_a_superlative_inside_a_substantiated_claim_is_allowed(config, config_with):
    quoted = {"headline": "Outdoor Weekly's best rain jacket of 2025, now 20% off"}
    assert check_superlatives(config, quoted) == []
    assert check_superlatives(config, {"headline": "The best rain jacket, says everyone"})
    unsubstantiated = config_with("brief", substantiations=())
    assert check_superlatives(unsubstantiated, quoted)
    with_evidence = config_with(
        "brief", substantiations=(Substantiation("#1 in rainwear", "Market data 2025"),)
    )
    assert check_superlatives(with_evidence, {"headline": "#1 in rainwear"}) == []


def test_a_claim_needs_its_disclaimer_in_the_disclaimer_field(config):
    channel = config.channel("social")
    claim = social(f"Free shipping on the Ridge Jacket. {TERMS}")
    assert check_claim_disclaimers(config, channel, claim) == [
        "claim_disclaimer: the claim 'free shipping' needs the disclaimer \"Free shipping on orders over $75.\" "
        "in primary_text"
    ]
    disclaimed = social(f"Free shipping on the Ridge Jacket. {TERMS} Free shipping on orders over $75.")
    assert check_claim_disclaimers(config, channel, disclaimed) == []
    # The claim may sit in another field; the disclaimer still goes in the disclaimer field.
    elsewhere = social(
        f"Ready for autumn. {TERMS} Free shipping on orders over $75.", headline="Free shipping"
    )
    assert check_claim_disclaimers(config, channel, elsewhere) == []


def test_channels_without_room_cannot_carry_claims(config):
    reasons = check_claim_disclaimers(
        config, config.channel("search"), {"headline": "Waterproof Ridge Jacket", "description": "Ready."}
    )
    assert reasons == [
        "claim_disclaimer: the claim 'waterproof' needs a disclaimer and search has no room for one; drop the claim"
    ]


def test_mandatory_disclaimers_where_they_fit(config):
    email = config.channel("email")
    fields = {"subject": "Autumn", "preheader": "Ready", "body": "The range is in."}
    assert check_mandatory_disclaimers(config, email, fields) == [
        f'disclaimer: body must include "{TERMS}" word for word'
    ]
    fields["body"] = "The range is in.  offer ends 30 nov 2026.\nTerms apply."  # case and spacing aside
    assert check_mandatory_disclaimers(config, email, fields) == []
    # Search and display have no disclaimer field: the mandatory disclaimer is not required there.
    assert (
        check_mandatory_disclaimers(config, config.channel("search"), {"headline": "a", "description": "b"})
        == []
    )


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Write to jane.doe@example.com today", "an email address"),
        ("Call +44 20 7946 0958 now", "a phone number"),
        ("Call (555) 123-4567", "a phone number"),
        ("Call 555-0123", "a phone number"),
        ("See https://shop.example/?email=jane%40example.com", "a URL with an email address"),
        ("mailto:someone", "a URL with an email address"),
    ],
)
def test_personal_data_patterns(text, kind):
    reasons = check_personal_data({"body": text})
    assert f"personal_data: body contains {kind}" in reasons
    assert all("jane" not in reason and "555" not in reason for reason in reasons)  # never echo the value


@pytest.mark.parametrize(
    "text",
    [
        "20% off the autumn range",
        "Orders over $75.",
        "Offer ends 30 Nov 2026.",
        "Ends 2026-11-30",
        "10,000 mm",
    ],
)
def test_prices_dates_and_numbers_are_not_personal_data(text):
    assert check_personal_data({"body": text}) == []


def test_a_verdict_lists_every_broken_rule(config):
    fields = {
        "headline": "The best cheap jacket, call 555-0123",
        "description": "Free returns on every order. " + "x" * 70,
    }
    verdict = check_variant(config, config.channel("search"), fields)
    assert verdict.label == "FAIL"
    assert verdict.rules == {"length", "banned_word", "superlative", "claim_disclaimer", "personal_data"}
