"""One chunk of people and everything they generate, before anything is written.

The order matters: orders need the impressions (an incremental conversion follows the first impression
of the channel that caused it), and the audience and identity events need the devices. Each step draws
from its own random stream, so the chunk is the same whatever else changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from adplan.world.adlogs import (
    Clicks,
    IdentityEvents,
    Impressions,
    Slots,
    build_clicks,
    build_identity_events,
    build_impressions,
    device_slots,
    resolvable_people,
)
from adplan.world.contacts import Contacts, Identity
from adplan.world.crm import CrmChunk, build_crm
from adplan.world.effects import decide_conversions, draw_exposures
from adplan.world.media import MediaSetup
from adplan.world.orders import Orders, build_orders
from adplan.world.people import People, draw_people
from adplan.world.publisher import Audience, build_audience
from adplan.world.schema import CHANNELS
from adplan.world.textops import SECONDS_PER_DAY


class Stream(IntEnum):
    """One random stream per purpose, so changing one part of the model leaves the others' draws alone."""

    PEOPLE = 0
    CRM = 1
    EXPOSURE = 2
    IMPRESSIONS = 3
    CLICKS = 4
    CONVERSIONS = 5
    ORDERS = 6
    IDENTITY = 7
    AUDIENCE = 8
    MALFORMED = 9


@dataclass
class IdCounters:
    """The next number of each id sequence (ids continue across chunks)."""

    customer: int = 1
    order: int = 1
    audience: int = 1
    impression: int = 1
    click: int = 1
    event: int = 1

    def advance(self, chunk: Chunk) -> None:
        self.customer += chunk.crm.table.num_rows
        self.order += chunk.orders.table.num_rows
        self.audience += chunk.audience.table.num_rows
        self.impression += chunk.impressions.table.num_rows
        self.click += chunk.clicks.table.num_rows
        self.event += chunk.events.table.num_rows


@dataclass(frozen=True)
class Chunk:
    people: People
    identity: Identity
    crm: CrmChunk
    slots: Slots
    exposures: np.ndarray  # (people, channels) impression counts
    impressions: Impressions
    clicks: Clicks
    cause: np.ndarray  # per person: NOT_CONVERTED, a channel index or BASELINE
    orders: Orders
    events: IdentityEvents
    audience: Audience
    resolvable: np.ndarray  # per person: ad logs link to them through identity events

    def per_person(self, rows: np.ndarray) -> np.ndarray:
        """How many of some records (given by their person rows) each person has."""
        return np.bincount(rows, minlength=self.people.count)


def simulate_chunk(
    rng: Callable[[Stream], np.random.Generator],
    setup: MediaSetup,
    first: int,
    count: int,
    total_people: int,
    ids: IdCounters,
) -> Chunk:
    as_of_day = setup.window_start_day + setup.days
    people = draw_people(rng(Stream.PEOPLE), first, count, total_people, as_of_day, setup.window_start_day)
    contacts = Contacts(people, total_people)
    identity = contacts.identity
    crm = build_crm(rng(Stream.CRM), people, contacts, ids.customer, as_of_day - 1)
    slots = device_slots(people)
    exposures = draw_exposures(rng(Stream.EXPOSURE), people)
    impressions = build_impressions(rng(Stream.IMPRESSIONS), setup, people, exposures, slots, ids.impression)
    clicks = build_clicks(rng(Stream.CLICKS), setup, impressions, ids.click, as_of_day * SECONDS_PER_DAY)
    cause = decide_conversions(rng(Stream.CONVERSIONS), people, exposures)
    orders = build_orders(
        rng(Stream.ORDERS), people, contacts, crm, cause, first_exposure(people, impressions),
        setup.window_start_day, setup.days, ids.order,
    )  # fmt: skip
    events = build_identity_events(
        rng(Stream.IDENTITY),
        setup,
        people,
        slots,
        identity.email_sha256,
        identity.work_email_sha256,
        ids.event,
    )
    audience = build_audience(rng(Stream.AUDIENCE), people, identity, slots, ids.audience, as_of_day)
    return Chunk(
        people=people,
        identity=identity,
        crm=crm,
        slots=slots,
        exposures=exposures,
        impressions=impressions,
        clicks=clicks,
        cause=cause,
        orders=orders,
        events=events,
        audience=audience,
        resolvable=resolvable_people(people, impressions, events),
    )


def first_exposure(people: People, impressions: Impressions) -> np.ndarray:
    """(people, channels) time of each person's first impression per channel (max int64 if none)."""
    first = np.full(people.count * len(CHANNELS), np.iinfo(np.int64).max, dtype=np.int64)
    # Impressions are in time order: the first occurrence of a (person, channel) pair is the earliest.
    pairs, first_index = np.unique(
        impressions.person_row * len(CHANNELS) + impressions.channel, return_index=True
    )
    first[pairs] = impressions.ts[first_index]
    return first.reshape(people.count, len(CHANNELS))
