"""Orders: customers' history before the window, and the window's conversions.

History: CRM customers order at a rate set by their value tier from sign-up (at most two years back)
until the window starts, or until they lapsed; a few people outside the CRM checked out as guests.
Window: one order per converting person (see ``effects``): an incremental conversion after the first
impression of the channel that caused it, a baseline conversion at any time in the window. Customers
usually order logged in (their customer id, one of their CRM records); guests leave an email, a phone
or both.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from adplan.world import vocab
from adplan.world.adlogs import seconds_in_day, time_order
from adplan.world.contacts import Contacts
from adplan.world.crm import CrmChunk
from adplan.world.effects import BASELINE, NOT_CONVERTED, order_values
from adplan.world.people import People, weighted
from adplan.world.textops import SECONDS_PER_DAY, ids, iso_timestamps, null_where, pick

ORDER_ID_WIDTH = 10
HISTORY_DAYS = 730
ORDERS_PER_YEAR_BY_TIER = np.array([0.8, 2.0, 5.0])
GUEST_HISTORY_SHARE = 0.12  # people outside the CRM with guest orders before the window
LOGGED_IN_SHARE = 0.88  # customers' orders placed logged in
PRIMARY_ACCOUNT_SHARE = 0.8  # logged-in orders on the customer's first account
EMAIL_SHARE = {"logged_in": 0.95, "guest": 0.8}
PHONE_SHARE = {"logged_in": 0.35, "guest": 0.3}


@dataclass(frozen=True)
class Orders:
    table: pa.Table
    person_row: np.ndarray
    order_ids: pa.Array
    window_value_cents: np.ndarray  # per chunk person: the window conversion's value, 0 if none
    history_orders: np.ndarray  # per chunk person


def build_orders(
    rng: np.random.Generator,
    people: People,
    contacts: Contacts,
    crm: CrmChunk,
    cause: np.ndarray,
    first_exposure: np.ndarray,
    window_start_day: int,
    days: int,
    first_number: int,
) -> Orders:
    history_person, history_ts = _history(rng, people, window_start_day)
    window_person, window_ts = _window_conversions(rng, cause, first_exposure, window_start_day, days)
    person_row = np.concatenate([history_person, window_person])
    ts = np.concatenate([history_ts, window_ts])
    in_window = np.r_[np.zeros(len(history_person), bool), np.ones(len(window_person), bool)]
    count = len(person_row)
    value = order_values(rng, people.value_tier[person_row])
    window_value = np.zeros(people.count, dtype=np.int64)
    window_value[person_row[in_window]] = value[in_window]

    customer = _customer_ids(rng, people, crm, person_row)
    logged_in = customer.is_valid().to_numpy(zero_copy_only=False)
    email_present = rng.random(count) < np.where(logged_in, EMAIL_SHARE["logged_in"], EMAIL_SHARE["guest"])
    phone_present = rng.random(count) < np.where(logged_in, PHONE_SHARE["logged_in"], PHONE_SHARE["guest"])
    phone_present |= ~logged_in & ~email_present  # a guest leaves an email or a phone
    order = time_order(ts)
    person_row, ts, value = person_row[order], ts[order], value[order]
    customer = customer.take(pa.array(order))
    email_present, phone_present = email_present[order], phone_present[order]
    order_ids = ids("O", first_number + np.arange(count), ORDER_ID_WIDTH)
    table = pa.table(
        {
            "order_id": order_ids,
            "customer_id": customer,
            "email": null_where(~email_present, contacts.emails(rng, person_row, work_share=0.1)),
            "phone": null_where(~phone_present, contacts.phones(rng, person_row)),
            "order_ts": iso_timestamps(ts),
            "order_value": pa.array(value / 100, pa.float64()),
            "currency": pa.array(["USD"] * count, pa.string()),
            "sales_channel": _sales_channels(rng, count),
        }
    )
    return Orders(
        table=table,
        person_row=person_row,
        order_ids=order_ids,
        window_value_cents=window_value,
        history_orders=np.bincount(history_person, minlength=people.count),
    )


def _history(
    rng: np.random.Generator, people: People, window_start_day: int
) -> tuple[np.ndarray, np.ndarray]:
    start = np.maximum(people.signup_day, window_start_day - HISTORY_DAYS)
    end = np.where(people.lapsed, people.lapse_day, window_start_day)
    years = np.maximum(end - start, 0) / 365.25
    customer_orders = rng.poisson(ORDERS_PER_YEAR_BY_TIER[people.value_tier] * years) * people.in_crm
    guest = ~people.in_crm & (rng.random(people.count) < GUEST_HISTORY_SHARE)
    guest_orders = guest * (1 + rng.poisson(0.3, people.count))
    start = np.where(people.in_crm, start, window_start_day - HISTORY_DAYS)
    end = np.where(people.in_crm, end, window_start_day)
    person_row = np.repeat(np.arange(people.count), customer_orders + guest_orders)
    span = np.maximum(end - start, 1)[person_row]
    day = start[person_row] + (rng.random(len(person_row)) * span).astype(np.int64)
    return person_row, day * SECONDS_PER_DAY + seconds_in_day(rng, len(person_row))


def _window_conversions(
    rng: np.random.Generator, cause: np.ndarray, first_exposure: np.ndarray, window_start_day: int, days: int
) -> tuple[np.ndarray, np.ndarray]:
    window_start = window_start_day * SECONDS_PER_DAY
    window_end = (window_start_day + days) * SECONDS_PER_DAY
    person_row = np.flatnonzero(cause != NOT_CONVERTED)
    person_cause = cause[person_row]
    incremental = person_cause != BASELINE
    # An incremental conversion follows the first impression of the channel that caused it.
    earliest = np.full(len(person_row), window_start, dtype=np.int64)
    earliest[incremental] = first_exposure[person_row[incremental], person_cause[incremental]] + 60
    earliest = np.minimum(earliest, window_end - 1)
    ts = earliest + (rng.random(len(person_row)) * (window_end - earliest)).astype(np.int64)
    return person_row, ts


def _customer_ids(
    rng: np.random.Generator, people: People, crm: CrmChunk, person_row: np.ndarray
) -> pa.Array:
    """A logged-in order's account: the first one mostly, else any of the person's accounts; null for guests."""
    count = len(person_row)
    records = people.crm_records[person_row]
    logged_in = (records > 0) & (rng.random(count) < LOGGED_IN_SHARE)
    if not logged_in.any():
        return pa.nulls(count, pa.string())
    # The CRM chunk's records grouped by person: person p's k-th is by_person[first_of_person[p] + k].
    by_person = np.argsort(crm.person_row, kind="stable")
    first_of_person = np.cumsum(people.crm_records) - people.crm_records
    pick_any = (rng.random(count) * np.maximum(records, 1)).astype(np.int64)
    any_account = by_person[np.minimum(first_of_person[person_row] + pick_any, len(by_person) - 1)]
    record = np.where(rng.random(count) < PRIMARY_ACCOUNT_SHARE, crm.primary_record[person_row], any_account)
    return null_where(~logged_in, crm.customer_ids.take(pa.array(np.maximum(record, 0))))


def _sales_channels(rng: np.random.Generator, count: int) -> pa.Array:
    return pick(vocab.SALES_CHANNELS, weighted(rng, vocab.SALES_CHANNEL_WEIGHTS, count))
