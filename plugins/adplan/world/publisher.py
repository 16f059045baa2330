"""The publishers' logged-in audience files: hashed identifiers only, with interests, age band and region.

Hashes are lowercase hex SHA-256 of the normalized email and of the E.164 phone (the values the CRM's
variants normalize to). A phone's mobile ad id is the device id the ad logs carry; iOS ids are written
in capitals as Apple issues them, and some are the all-zero id of limited ad tracking.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from adplan.world import vocab
from adplan.world.adlogs import Slots
from adplan.world.contacts import Identity
from adplan.world.media import AUDIENCE_PUBLISHERS
from adplan.world.people import MAX_DEVICES, People
from adplan.world.textops import ids, iso_dates, joined_flags, null_where, pick, strings_from_matrix, where

AUDIENCE_ID_WIDTH = 10
EMAIL_HASH_SHARE = 0.85
WORK_EMAIL_HASH_SHARE = 0.05  # of records whose person has a work email
PHONE_HASH_SHARE = 0.35
MAID_SHARE = 0.7  # of people whose first device is a phone
LIMITED_AD_TRACKING_SHARE = 0.02
AGE_BAND_SHARE = 0.95
INTEREST_OBSERVED_SHARE = 0.8  # a true interest the publisher sees
INTEREST_NOISE_SHARE = 0.03  # an interest the publisher infers wrongly
ZERO_MAID = "00000000-0000-0000-0000-000000000000"
FIRST_SEEN_DAYS = 1095


@dataclass(frozen=True)
class Audience:
    table: pa.Table
    person_row: np.ndarray
    record_ids: pa.Array


def build_audience(
    rng: np.random.Generator,
    people: People,
    identity: Identity,
    slots: Slots,
    first_number: int,
    as_of_day: int,
) -> Audience:
    member_rows, publishers = [], []
    for publisher_id, share in AUDIENCE_PUBLISHERS:
        rows = np.flatnonzero(rng.random(people.count) < share)
        member_rows.append(rows)
        publishers += [publisher_id] * len(rows)
    person_row = np.concatenate(member_rows)
    publisher = np.array(publishers, dtype=object)
    order = rng.permutation(len(person_row))
    person_row, publisher = person_row[order], publisher[order]
    count = len(person_row)
    rows = pa.array(person_row)

    email_present = rng.random(count) < EMAIL_HASH_SHARE
    phone_present = rng.random(count) < PHONE_HASH_SHARE
    mobile = people.first_device_mobile[person_row]
    maid_present = mobile & (rng.random(count) < MAID_SHARE)
    # Every logged-in record has at least one identifier.
    email_present |= ~(phone_present | maid_present)
    use_work = people.secondary_email[person_row] & (rng.random(count) < WORK_EMAIL_HASH_SHARE)
    email_hash = where(use_work, identity.work_email_sha256.take(rows), identity.email_sha256.take(rows))
    record_ids = ids("AUD", first_number + np.arange(count), AUDIENCE_ID_WIDTH)
    table = pa.table(
        {
            "publisher_id": pa.array(publisher.tolist(), pa.string()),
            "audience_record_id": record_ids,
            "email_sha256": null_where(~email_present, email_hash),
            "phone_sha256": null_where(~phone_present, identity.phone_sha256.take(rows)),
            "maid": null_where(~maid_present, _maids(rng, people, slots, person_row)),
            "interests": _interests(rng, people.interests[person_row]),
            "age_band": null_where(
                rng.random(count) >= AGE_BAND_SHARE, pick(vocab.AGE_BANDS, people.age_band[person_row])
            ),
            "region": pick(vocab.REGIONS, people.region[person_row]),
            "first_seen": iso_dates(as_of_day - rng.integers(1, FIRST_SEEN_DAYS, count)),
        }
    )
    return Audience(table, person_row, record_ids)


def _maids(rng: np.random.Generator, people: People, slots: Slots, person_row: np.ndarray) -> pa.Array:
    device = strings_from_matrix(slots.device_text[person_row * MAX_DEVICES])
    device = where(people.ios[person_row], pc.utf8_upper(device), device)
    limited = rng.random(len(person_row)) < LIMITED_AD_TRACKING_SHARE
    return where(limited, ZERO_MAID, device)


def _interests(rng: np.random.Generator, true_interests: np.ndarray) -> pa.Array:
    """What the publisher believes: most true interests and a few wrong ones, ';'-separated."""
    seen = true_interests & (rng.random(true_interests.shape) < INTEREST_OBSERVED_SHARE)
    seen |= rng.random(true_interests.shape) < INTEREST_NOISE_SHARE
    joined, none = joined_flags(seen, vocab.INTERESTS)
    return null_where(none, joined)
