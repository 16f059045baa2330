"""Ad logs: devices and cookies, impressions, clicks, identity events, and the spend they add up to.

Each person has 1-3 devices, each with a device id (UUID-like; a phone's is its mobile ad id) and a
browser cookie. Impressions land on one of them (CTV on the device only, email opens mostly on the
cookie). Identity events (logins, newsletter clicks) tie some devices and cookies to the person's
hashed email, which is all identity resolution has to connect ad logs to people.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from adplan.world.media import CAMPAIGNS, CHANNEL_MODELS, MediaSetup
from adplan.world.people import MAX_DEVICES, People, weighted
from adplan.world.schema import CHANNELS
from adplan.world.textops import (
    SECONDS_PER_DAY,
    gather_strings,
    hex_digits,
    ids,
    iso_dates,
    iso_timestamps,
    pick,
    splitmix64,
    strings_from_matrix,
    uuid_matrix,
    where,
)

EVENT_ID_WIDTH = 10
IDENTITY_LINKED_SHARE = 0.66  # people who log in or click a newsletter in the window
EXTRA_DEVICE_LINKED_SHARE = 0.8  # of their other devices, the share that also sees a login
IDENTITY_EVENTS_MEAN_EXTRA = 2.0  # events per linked person: 1 + Poisson(this)
WORK_EMAIL_LOGIN_SHARE = 0.15
# Hour-of-day profile of ad traffic (UTC): quiet nights, a lunch peak and an evening peak.
HOUR_WEIGHTS = np.array(
    [2, 1.5, 1, 1, 1, 1.5, 3, 5, 6, 6, 6, 7, 8, 7, 6, 6, 6, 7, 8, 9, 10, 9, 6, 4], dtype=float
)
CTV = CHANNELS.index("ctv")
EMAIL = CHANNELS.index("email")
# (both ids, device id only, cookie only) shares of what an impression carries.
ID_PRESENCE = {CTV: (0, 100, 0), EMAIL: (40, 0, 60)}
DEFAULT_ID_PRESENCE = (70, 15, 15)
_SALT_DEVICE_HIGH = np.uint64(0x5DEECE66D)
_SALT_DEVICE_LOW = np.uint64(0xB5297A4D)
_SALT_COOKIE = np.uint64(0x68E31DA4)


@dataclass(frozen=True)
class Slots:
    """The chunk's devices: slot ``person_row * MAX_DEVICES + k`` is person's k-th device (k < devices)."""

    device_text: np.ndarray  # (slots, 36) lowercase UUID-like device ids
    cookie_text: np.ndarray  # (slots, 16) hex cookie ids
    used: np.ndarray  # bool per slot

    @property
    def device_id(self) -> pa.Array:
        return strings_from_matrix(self.device_text)

    @property
    def cookie_id(self) -> pa.Array:
        return strings_from_matrix(self.cookie_text)

    def person_row(self) -> np.ndarray:
        return np.flatnonzero(self.used) // MAX_DEVICES

    def devices(self, slot: np.ndarray, present: np.ndarray) -> pa.Array:
        """Device id of each slot; null where not ``present``."""
        return gather_strings(self.device_text, slot, present)

    def cookies(self, slot: np.ndarray, present: np.ndarray) -> pa.Array:
        return gather_strings(self.cookie_text, slot, present)


def device_slots(people: People) -> Slots:
    # Ids come from a bijection of the global slot number: unique without any lookup across chunks.
    key = (people.index[:, None] * MAX_DEVICES + np.arange(MAX_DEVICES)).ravel().astype(np.uint64)
    device = uuid_matrix(splitmix64(key ^ _SALT_DEVICE_HIGH), splitmix64(key ^ _SALT_DEVICE_LOW))
    cookie = hex_digits(splitmix64(key ^ _SALT_COOKIE))
    used = (np.arange(MAX_DEVICES)[None, :] < people.devices[:, None]).ravel()
    return Slots(device_text=device, cookie_text=cookie, used=used)


def time_order(ts: np.ndarray) -> np.ndarray:
    """The permutation that sorts rows by time, ties in their current order.

    Sorting (time, position) pairs packed into one unique key gives the stable order with the faster
    unstable sort (and the same result on any machine, whatever its sort algorithm does with ties).
    """
    position = np.arange(len(ts), dtype=np.int64)
    if len(ts) == 0:
        return position
    return np.argsort((ts - ts.min()) * len(ts) + position)


def seconds_in_day(rng: np.random.Generator, count: int) -> np.ndarray:
    hour = weighted(rng, HOUR_WEIGHTS, count)
    return hour * 3600 + rng.integers(0, 3600, count)


@dataclass(frozen=True)
class Impressions:
    table: pa.Table
    person_row: np.ndarray
    channel: np.ndarray
    plan_row: np.ndarray
    creative: np.ndarray
    slot: np.ndarray
    ts: np.ndarray  # epoch seconds
    device_present: np.ndarray
    cookie_present: np.ndarray
    cost_micros: np.ndarray
    impression_ids: pa.Array


def build_impressions(
    rng: np.random.Generator,
    setup: MediaSetup,
    people: People,
    counts: np.ndarray,
    slots: Slots,
    first_number: int,
) -> Impressions:
    channels = len(CHANNELS)
    pair = np.repeat(np.arange(counts.size), counts.ravel())
    person_row, channel = pair // channels, pair % channels
    total = len(pair)
    plan_row = _plan_rows(rng, setup, channel)
    active_from = setup.plan_active_from[plan_row]
    active_days = setup.plan_active_to[plan_row] - active_from
    day = active_from + (rng.random(total) * active_days).astype(np.int64)
    ts = (setup.window_start_day + day) * SECONDS_PER_DAY + seconds_in_day(rng, total)
    first_creative = setup.plan_creative_first[plan_row]
    creative = first_creative + (rng.random(total) * setup.plan_creative_count[plan_row]).astype(np.int64)
    slot = person_row * MAX_DEVICES + (rng.random(total) * people.devices[person_row]).astype(np.int64)
    device_present, cookie_present = _id_presence(rng, channel)
    cost = np.round(setup.plan_cpm[plan_row] * 1000 * rng.lognormal(-0.045, 0.3, total)).astype(np.int64)
    # Logs are written in time order; ids follow it.
    order = time_order(ts)
    person_row, channel, plan_row, creative, slot, ts, cost = (
        values[order] for values in (person_row, channel, plan_row, creative, slot, ts, cost)
    )
    device_present, cookie_present = device_present[order], cookie_present[order]
    impression_ids = ids("I", first_number + np.arange(total), EVENT_ID_WIDTH)
    table = pa.table(
        {
            "impression_id": impression_ids,
            "ts": iso_timestamps(ts),
            "campaign_id": pick([CAMPAIGNS[c].campaign_id for c in setup.plan_campaign], plan_row),
            "creative_id": pick(setup.creative_ids(), creative),
            "channel": pick(CHANNELS, channel),
            "publisher_id": pick(setup.plan_publisher, plan_row),
            "device_id": slots.devices(slot, device_present),
            "cookie_id": slots.cookies(slot, cookie_present),
            "cost_micros": pa.array(cost, pa.int64()),
        }
    )
    return Impressions(
        table=table,
        person_row=person_row,
        channel=channel,
        plan_row=plan_row,
        creative=creative,
        slot=slot,
        ts=ts,
        device_present=device_present,
        cookie_present=cookie_present,
        cost_micros=cost,
        impression_ids=impression_ids,
    )


def _plan_rows(rng: np.random.Generator, setup: MediaSetup, channel: np.ndarray) -> np.ndarray:
    """Each impression's plan row (campaign x publisher), by the rows' shares of the channel."""
    plan_row = np.zeros(len(channel), dtype=np.int64)
    for index in range(len(CHANNELS)):
        mask = channel == index
        rows = setup.delivering_rows(index)
        if not mask.any():
            continue
        if len(rows) == 0:
            raise ValueError(
                f"channel {CHANNELS[index]} has exposures but no plan row delivers in the window"
            )
        cumulative = np.cumsum(setup.plan_weight[rows])
        draws = rng.random(int(mask.sum())) * cumulative[-1]
        plan_row[mask] = rows[np.minimum(np.searchsorted(cumulative, draws, side="right"), len(rows) - 1)]
    return plan_row


def _id_presence(rng: np.random.Generator, channel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    kind = np.zeros(len(channel), dtype=np.int64)
    for index in range(len(CHANNELS)):
        mask = channel == index
        kind[mask] = weighted(rng, ID_PRESENCE.get(index, DEFAULT_ID_PRESENCE), int(mask.sum()))
    return kind != 2, kind != 1


@dataclass(frozen=True)
class Clicks:
    table: pa.Table
    person_row: np.ndarray
    plan_row: np.ndarray
    ts: np.ndarray


def build_clicks(
    rng: np.random.Generator, setup: MediaSetup, impressions: Impressions, first_number: int, window_end: int
) -> Clicks:
    ctr = np.array([model.ctr for model in CHANNEL_MODELS])[impressions.channel]
    ctr = ctr * setup.creative_ctr_factor[impressions.creative]
    clicked = np.flatnonzero(rng.random(len(ctr)) < ctr)
    # A click follows its impression by seconds to minutes, still inside the window.
    ts = np.minimum(impressions.ts[clicked] + rng.integers(2, 300, len(clicked)), window_end - 1)
    order = time_order(ts)
    clicked, ts = clicked[order], ts[order]
    taken = pa.array(clicked)
    source = impressions.table
    table = pa.table(
        {
            "click_id": ids("K", first_number + np.arange(len(clicked)), EVENT_ID_WIDTH),
            "impression_id": impressions.impression_ids.take(taken),
            "ts": iso_timestamps(ts),
            **{
                name: source.column(name).take(taken)
                for name in (
                    "campaign_id",
                    "creative_id",
                    "channel",
                    "publisher_id",
                    "device_id",
                    "cookie_id",
                )
            },
        }
    )
    return Clicks(table, impressions.person_row[clicked], impressions.plan_row[clicked], ts)


@dataclass(frozen=True)
class IdentityEvents:
    table: pa.Table
    person_row: np.ndarray
    event_ids: pa.Array
    device_linked: np.ndarray  # per slot: its device id appears in an identity event
    cookie_linked: np.ndarray  # per slot: its cookie appears in an identity event


def build_identity_events(
    rng: np.random.Generator,
    setup: MediaSetup,
    people: People,
    slots: Slots,
    email_sha256: pa.Array,
    work_email_sha256: pa.Array,
    first_number: int,
) -> IdentityEvents:
    count = people.count
    linked_person = rng.random(count) < IDENTITY_LINKED_SHARE
    # A linked person's first device always sees a login; their others often do.
    linked_slot = (rng.random((count, MAX_DEVICES)) < EXTRA_DEVICE_LINKED_SHARE) & linked_person[:, None]
    linked_slot[:, 0] = linked_person
    linked_slot &= slots.used.reshape(count, MAX_DEVICES)
    events = np.where(linked_person, 1 + rng.poisson(IDENTITY_EVENTS_MEAN_EXTRA, count), 0)
    person_row = np.repeat(np.arange(count), events)
    total = len(person_row)
    local = (rng.random(total) * people.devices[person_row]).astype(np.int64)
    local = np.where(linked_slot[person_row, local], local, 0)
    slot = person_row * MAX_DEVICES + local
    presence = weighted(rng, (50, 25, 25), total)  # both, device only, cookie only
    device_present, cookie_present = presence != 2, presence != 1
    day = rng.integers(0, setup.days, total)
    ts = (setup.window_start_day + day) * SECONDS_PER_DAY + seconds_in_day(rng, total)
    use_work = people.secondary_email[person_row] & (rng.random(total) < WORK_EMAIL_LOGIN_SHARE)
    event_type = weighted(rng, (60, 40), total)
    order = time_order(ts)
    person_row, slot, ts, use_work, event_type = (
        v[order] for v in (person_row, slot, ts, use_work, event_type)
    )
    device_present, cookie_present = device_present[order], cookie_present[order]
    rows = pa.array(person_row)
    event_ids = ids("E", first_number + np.arange(total), EVENT_ID_WIDTH)
    table = pa.table(
        {
            "event_id": event_ids,
            "ts": iso_timestamps(ts),
            "device_id": slots.devices(slot, device_present),
            "cookie_id": slots.cookies(slot, cookie_present),
            "email_sha256": where(use_work, work_email_sha256.take(rows), email_sha256.take(rows)),
            "event_type": pick(("login", "newsletter_click"), event_type),
        }
    )
    device_linked = np.zeros(count * MAX_DEVICES, dtype=bool)
    cookie_linked = np.zeros(count * MAX_DEVICES, dtype=bool)
    device_linked[slot[device_present]] = True
    cookie_linked[slot[cookie_present]] = True
    return IdentityEvents(table, person_row, event_ids, device_linked, cookie_linked)


def resolvable_people(people: People, impressions: Impressions, events: IdentityEvents) -> np.ndarray:
    """Per person: some impression carries a device id or cookie that an identity event linked to them."""
    linked = (impressions.device_present & events.device_linked[impressions.slot]) | (
        impressions.cookie_present & events.cookie_linked[impressions.slot]
    )
    return np.bincount(impressions.person_row[linked], minlength=people.count) > 0


class SpendTally:
    """Impressions, clicks and cost per (window day, plan row), summed over chunks."""

    def __init__(self, setup: MediaSetup) -> None:
        self.setup = setup
        size = setup.days * setup.plan_rows
        self.impressions = np.zeros(size, dtype=np.int64)
        self.clicks = np.zeros(size, dtype=np.int64)
        self.cost_micros = np.zeros(size, dtype=np.int64)

    def _key(self, ts: np.ndarray, plan_row: np.ndarray) -> np.ndarray:
        day = ts // SECONDS_PER_DAY - self.setup.window_start_day
        return day * self.setup.plan_rows + plan_row

    def add(self, impressions: Impressions, clicks: Clicks) -> None:
        size = len(self.impressions)
        key = self._key(impressions.ts, impressions.plan_row)
        self.impressions += np.bincount(key, minlength=size)
        # Exact: costs are integers far below 2**53.
        self.cost_micros += np.round(
            np.bincount(key, weights=impressions.cost_micros, minlength=size)
        ).astype(np.int64)
        self.clicks += np.bincount(self._key(clicks.ts, clicks.plan_row), minlength=size)

    def table(self) -> pa.Table:
        """The spend report: one row per day and plan row that delivered, by date, campaign, channel, publisher."""
        setup = self.setup
        key = np.flatnonzero((self.impressions > 0) | (self.clicks > 0))
        day, plan_row = np.divmod(key, setup.plan_rows)
        campaign_ids = [CAMPAIGNS[c].campaign_id for c in setup.plan_campaign]
        row_channel = np.array(CHANNELS)[setup.plan_channel]
        order = np.lexsort(
            (
                np.array(setup.plan_publisher)[plan_row],
                row_channel[plan_row],
                np.array(campaign_ids)[plan_row],
                day,
            )
        )
        key, day, plan_row = key[order], day[order], plan_row[order]
        cents = np.round(self.cost_micros[key] / 10_000)
        return pa.table(
            {
                "date": iso_dates(setup.window_start_day + day),
                "campaign_id": pick(campaign_ids, plan_row),
                "channel": pick(CHANNELS, setup.plan_channel[plan_row]),
                "publisher_id": pick(setup.plan_publisher, plan_row),
                "impressions": pa.array(self.impressions[key], pa.int64()),
                "clicks": pa.array(self.clicks[key], pa.int64()),
                "spend": pa.array(cents / 100, pa.float64()),
                "currency": pa.array(["USD"] * len(key)),
            }
        )
