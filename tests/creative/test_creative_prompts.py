"""Prompt rendering: sandboxed and strict, whitelisted facts only, and no personal data ever in a prompt."""

from __future__ import annotations

import json
import re

import duckdb
import pytest
from jinja2 import UndefinedError
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from adplan.creative.batch import batch_input_records
from adplan.creative.bedrock import message_text
from adplan.creative.generator import LocalGenerator
from adplan.creative.items import item_request, plan_items
from adplan.creative.pii import EMAIL, find_phone_numbers
from adplan.creative.pipeline import settle
from adplan.creative.prompts import prompt_environment, read_task_block, render, system_prompt
from adplan.creative.segments import PROMPT_FIELDS, SegmentFacts, read_segments, segments_from_rows
from adplan.creative.state_machine import build_execution_input


def test_the_environment_is_sandboxed_and_strict(config):
    env = prompt_environment(config.prompts.directory)
    assert isinstance(env, SandboxedEnvironment)
    with pytest.raises(SecurityError):
        env.from_string("{{ facts.__class__.__mro__[1].__subclasses__() }}").render(facts={})
    with pytest.raises(UndefinedError):
        env.from_string("{{ segment.segment_nmae }}").render(segment={"segment_name": "x"})
    with pytest.raises(UndefinedError):
        render(config, config.prompts.user, task={})  # a template's missing context fails loudly


def test_the_system_prompt_carries_the_brief_and_rules(config):
    prompt = system_prompt(config)
    for text in (config.brief.objective, config.brief.offer, config.brief.tone, "cheap", "#1"):
        assert text in prompt
    for rule in config.brand_rules.claims_needing_disclaimer:
        assert rule.disclaimer in prompt
    assert "Outdoor Weekly's best rain jacket of 2025" in prompt


def test_the_user_prompt_shows_the_segment_and_the_channel(config, segments):
    items = plan_items(config, segments[:1], campaign_id="c", channels=["social"], variants=1)
    prompt = message_text(items[0].messages[0])
    assert "New autumn shoppers" in prompt
    assert "12,400 customers (12.4% of all customers)" in prompt
    assert "primary_text: at most 125 characters" in prompt
    assert 'It must include, word for word: "Offer ends 30 Nov 2026. Terms apply."' in prompt
    task = read_task_block(prompt)
    assert task["channel"] == {"name": "social", "fields": {"primary_text": 125, "headline": 40},
                               "disclaimer_field": "primary_text"}  # fmt: skip
    assert task["angle"] == "welcome"
    assert set(task["segment"]) == set(PROMPT_FIELDS)  # the whitelist, and not even the segment id


def test_short_formats_are_told_to_make_no_claims(config, segments):
    items = plan_items(config, segments[:1], campaign_id="c", channels=["display"], variants=1)
    assert "This channel has no room for disclaimers" in message_text(items[0].messages[0])


def test_extra_keys_are_never_read_and_text_facts_are_scrubbed():
    facts = SegmentFacts.from_row(
        {
            "segment_id": "s1",
            "segment_name": "Contact jane.doe@example.com",
            "top_interests": ["hiking", "call +1 415 555 0100", "https://x.example/?email=a", "camping"],
            "top_channels": ["email", "<script>"],
            "lifecycle": "Loyal",
            "owner_email": "owner@example.com",
            "share_of_customers": 12.5,  # a percentage
        }
    )
    assert facts.segment_name == "Segment s1"
    assert facts.top_interests == ("hiking", "camping")
    assert facts.top_channels == ("email", "script")
    assert facts.lifecycle == "loyal"
    assert facts.share_of_customers == 0.125
    assert "owner_email" not in json.dumps(facts.prompt_facts())


# --- no PII ever enters a prompt: proven on generated data ----------------------------------------------

FIRST = ["Ada", "Grace", "Linus", "Margaret", "Alan", "Barbara", "Edsger", "Frances"]
LAST = ["Lovelace", "Hopper", "Torvalds", "Hamilton", "Turing", "Liskov", "Dijkstra", "Allen"]
LIFECYCLES = ["new", "loyal", "lapsed", "high_value"]


@pytest.fixture
def customer_warehouse():
    """A DuckDB warehouse with customers (names, emails, phones) and segments aggregated from them.

    The segments table also carries personal columns a careless upstream step might add (a sample member's
    email, a list of names), and personal data hidden in free-text facts.
    """
    customers = [
        {
            "customer_id": index,
            "full_name": f"{FIRST[index % 8]} {LAST[(index * 3) % 8]}",
            "email": f"{FIRST[index % 8].lower()}.{LAST[(index * 3) % 8].lower()}{index}@example.org",
            "phone": f"+1 (415) 555-{1000 + index:04d}",
            "lifecycle": LIFECYCLES[index % 4],
            "order_value": 40.0 + (index * 37) % 300,
            "recency_days": (index * 53) % 400,
            "interest": ["hiking", "skiing", "camping", "trail running", "climbing"][index % 5],
        }
        for index in range(200)
    ]
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE customers AS SELECT * FROM (VALUES "
        + ", ".join("(?, ?, ?, ?, ?, ?, ?, ?)" for _ in customers)
        + ") AS t(customer_id, full_name, email, phone, lifecycle, order_value, recency_days, interest)",
        [value for row in customers for value in row.values()],
    )
    con.execute(
        """
        CREATE TABLE segments AS
        SELECT
            'seg_' || lifecycle AS segment_id,
            replace(lifecycle, '_', ' ') || ' customers' AS segment_name,
            count(*) AS size,
            count(*) / (SELECT count(*) FROM customers) AS share_of_customers,
            avg(order_value) AS avg_order_value,
            avg(order_value) * 3 AS avg_ltv,
            median(recency_days) AS median_recency_days,
            ['email', 'social'] AS top_channels,
            list_append(list(DISTINCT interest ORDER BY interest)[1:2], min(email)) AS top_interests,
            lifecycle,
            min(email) AS sample_member_email,
            min(phone) AS sample_member_phone,
            list(full_name ORDER BY full_name) AS member_names
        FROM customers GROUP BY lifecycle
        """
    )
    # Personal data slipped into a free-text fact, the one place an aggregate can still leak it.
    con.execute(
        "UPDATE segments SET segment_name = segment_name || ' ' || sample_member_phone WHERE lifecycle = 'loyal'"
    )
    yield con, customers
    con.close()


def test_no_personal_data_in_any_prompt(config, customer_warehouse):
    con, customers = customer_warehouse
    rows = read_segments(con, "segments")
    assert {"sample_member_email", "member_names"}.isdisjoint(rows[0])  # never selected
    segments = segments_from_rows(rows)
    assert len(segments) == 4
    # The name with a phone number in it is replaced; the email among the interests is dropped.
    assert "Segment seg_loyal" in {segment.segment_name for segment in segments}
    assert all(len(segment.top_interests) == 2 for segment in segments)

    items = plan_items(config, segments, campaign_id="c", variants=2)
    texts = [json.dumps(item_request(config, item)) for item in items]
    # The retry turn and every other payload that leaves the worker, too.
    generator = LocalGenerator(config)
    retries = settle(config, items, generator.answer(items)).retry_items
    assert retries, "some first drafts fail, so feedback prompts are rendered too"
    texts += [json.dumps(item_request(config, item)) for item in retries]
    texts.append(json.dumps(build_execution_input(config, segments, campaign_id="c", ds="2026-11-28")))
    texts += [json.dumps(record) for record in batch_input_records(config, items)]

    personal = [
        value
        for customer in customers
        for value in (customer["full_name"], customer["email"], customer["phone"])
    ]
    personal += [name.split()[1] for name in {c["full_name"] for c in customers}]  # surnames alone too
    for text in texts:
        decoded = json.loads(text)  # compare on decoded text, not on JSON escapes
        flat = json.dumps(decoded, ensure_ascii=False)
        assert not [value for value in personal if value in flat]
        assert not EMAIL.search(flat)
        assert not find_phone_numbers(flat)
        assert not re.search(r"555[-\s]?\d{4}", flat)
