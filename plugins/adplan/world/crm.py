"""The advertiser's CRM extract: one record per customer account, some people with two or three.

A person's first record is their account; later records are the duplicates every CRM has (a second
sign-up, a store-created account): typos and nicknames in names, another spelling of the same email or
the work email, another phone format, a move to a new address, the date of birth in another format.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from adplan.world.contacts import Contacts
from adplan.world.people import People, moved, take_address, weighted
from adplan.world.textops import ids, iso_dates, null_where, pick

CUSTOMER_ID_WIDTH = 8  # C00000001

# Missing values on any record, and what changes on a duplicate.
MISSING_SHARES = {"first_name": 0.01, "email": 0.06, "phone": 0.2, "date_of_birth": 0.25, "address": 0.04}
DUPLICATE_CHANGES = {
    "first_name_typo": 0.2,
    "nickname": 0.12,
    "last_name_typo": 0.15,
    "work_email": 0.25,  # of those who have one
    "email_missing": 0.15,
    "phone_missing": 0.25,
    "moved": 0.35,
    "dob_missing": 0.25,
}
CONSENT_WORDS = (("true", "false"), ("Y", "N"))


@dataclass(frozen=True)
class CrmChunk:
    table: pa.Table
    person_row: np.ndarray  # chunk row of each record's person
    primary_record: np.ndarray  # per chunk person: the row of their first record, -1 outside the CRM
    customer_ids: pa.Array  # per record


def build_crm(
    rng: np.random.Generator, people: People, contacts: Contacts, first_number: int, last_day: int
) -> CrmChunk:
    """The chunk's CRM records; ids continue from ``first_number``; no signup after ``last_day``."""
    person_row = np.repeat(np.arange(people.count), people.crm_records)
    rank = _rank_within_person(person_row)
    # Records are listed in no particular order; ids follow the listing.
    order = rng.permutation(len(person_row))
    person_row, rank = person_row[order], rank[order]
    count = len(person_row)
    duplicate = rank > 0
    customer_ids = ids("C", first_number + np.arange(count), CUSTOMER_ID_WIDTH)

    def chance(share: float) -> np.ndarray:
        return rng.random(count) < share

    first = contacts.first_names(
        rng,
        person_row,
        typo=DUPLICATE_CHANGES["first_name_typo"] * duplicate,
        nickname=DUPLICATE_CHANGES["nickname"] * duplicate,
    )
    last = contacts.last_names(rng, person_row, typo=DUPLICATE_CHANGES["last_name_typo"] * duplicate)
    email = contacts.emails(rng, person_row, work_share=DUPLICATE_CHANGES["work_email"] * duplicate)
    email_missing = chance(MISSING_SHARES["email"]) | (duplicate & chance(DUPLICATE_CHANGES["email_missing"]))
    phone_missing = chance(MISSING_SHARES["phone"]) | (duplicate & chance(DUPLICATE_CHANGES["phone_missing"]))
    dob_missing = chance(MISSING_SHARES["date_of_birth"]) | (
        duplicate & chance(DUPLICATE_CHANGES["dob_missing"])
    )
    home = take_address(people.address, person_row)
    home = moved(rng, home, duplicate & chance(DUPLICATE_CHANGES["moved"]), people.persona[person_row])
    address = contacts.addresses(rng, home)
    address_missing = chance(MISSING_SHARES["address"])
    # A duplicate account was opened after the first one.
    signup = np.minimum(
        people.signup_day[person_row] + np.where(duplicate, rng.integers(20, 400, count), 0), last_day
    )
    table = pa.table(
        {
            "customer_id": customer_ids,
            "first_name": null_where(chance(MISSING_SHARES["first_name"]), first),
            "last_name": last,
            "email": null_where(email_missing, email),
            "phone": null_where(phone_missing, contacts.phones(rng, person_row)),
            "address_line1": null_where(address_missing, address["address_line1"]),
            "address_line2": null_where(address_missing, address["address_line2"]),
            "city": null_where(address_missing, address["city"]),
            "state": null_where(address_missing, address["state"]),
            "postal_code": null_where(address_missing, address["postal_code"]),
            "country": address["country"],
            "date_of_birth": null_where(dob_missing, contacts.dates_of_birth(rng, person_row)),
            "signup_date": iso_dates(signup),
            "consent_email": _consent(rng, count, 0.7),
            "consent_ads": _consent(rng, count, 0.55),
        }
    )
    primary = np.full(people.count, -1)
    primary[person_row[rank == 0]] = np.flatnonzero(rank == 0)
    return CrmChunk(table=table, person_row=person_row, primary_record=primary, customer_ids=customer_ids)


def _rank_within_person(person_row: np.ndarray) -> np.ndarray:
    """0 for a person's first record, 1 for the second, ... (person_row is sorted)."""
    if len(person_row) == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, person_row[1:] != person_row[:-1]])
    counts = np.diff(np.r_[starts, len(person_row)])
    return np.arange(len(person_row)) - np.repeat(starts, counts)


def _consent(rng: np.random.Generator, count: int, yes_share: float) -> pa.Array:
    """Consent flags as the CRM exports them: mostly true/false, some Y/N, a few missing."""
    words = weighted(rng, (88, 8, 4), count)  # true/false, Y/N, missing
    given = rng.random(count) < yes_share
    style = np.minimum(words, 1)
    text = pick([word for pair in CONSENT_WORDS for word in pair], style * 2 + np.where(given, 0, 1))
    return null_where(words == 2, text)
