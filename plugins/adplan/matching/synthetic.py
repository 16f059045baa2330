"""FEBRL-style people with duplicates, for tests and benchmarks of the matching engines.

Like the FEBRL generator: original records are drawn from frequency-skewed name, street and place
vocabularies; each person has a chance of duplicate records made from the original with typical
corruptions (typos, missing values, changed email/phone, moves, swapped date parts, married names).
Households share a surname, an address and sometimes a phone, which is what makes phone- or
address-only matching imprecise. Values come out normalized the way the hygiene stage writes them
(lower case, E.164 phones, ISO dates) with SHA-256 hashes of email and phone beside them.

``crm_records`` gives a table shaped like ``curated_crm_customers``; ``publisher_records`` a
hashed-only audience shaped like ``curated_publisher_audience``; ``truth`` the (source, record_id,
person_id) ground truth of both. Vocabularies are made from syllables, so no data file is needed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pyarrow as pa

ONSETS = [
    "b",
    "br",
    "c",
    "ch",
    "d",
    "f",
    "g",
    "h",
    "j",
    "k",
    "l",
    "m",
    "n",
    "p",
    "r",
    "s",
    "sh",
    "st",
    "t",
    "th",
    "v",
    "w",
    "y",
    "z",
    "gr",
    "kr",
    "tr",
    "bl",
    "fl",
    "pl",
]
VOWELS = ["a", "e", "i", "o", "u", "ai", "ea", "ie", "ou", "y"]
CODAS = [
    "",
    "",
    "n",
    "r",
    "l",
    "s",
    "th",
    "m",
    "nd",
    "rt",
    "ck",
    "ll",
    "ne",
    "ry",
    "son",
    "ton",
    "ley",
    "man",
]
DOMAINS = [
    "gmail.com",
    "yahoo.com",
    "outlook.com",
    "hotmail.com",
    "icloud.com",
    "aol.com",
    "proton.me",
    "mail.com",
    "comcast.net",
    "example.org",
]
STREET_SUFFIXES = ["st", "ave", "rd", "ln", "dr", "ct", "blvd", "way", "pl", "ter"]
STATES = [
    "al",
    "ak",
    "az",
    "ar",
    "ca",
    "co",
    "ct",
    "de",
    "fl",
    "ga",
    "hi",
    "id",
    "il",
    "in",
    "ia",
    "ks",
    "ky",
    "la",
    "me",
    "md",
    "ma",
    "mi",
    "mn",
    "ms",
    "mo",
    "mt",
    "ne",
    "nv",
    "nh",
    "nj",
    "nm",
    "ny",
    "nc",
    "nd",
    "oh",
    "ok",
    "or",
    "pa",
    "ri",
    "sc",
    "sd",
    "tn",
    "tx",
    "ut",
    "vt",
    "va",
    "wa",
    "wv",
    "wi",
    "wy",
]
LETTERS = "abcdefghijklmnopqrstuvwxyz"
DIGITS = "0123456789"
CRM_SOURCE = "crm_customers"
PUBLISHER_SOURCE = "publisher_audience"


@dataclass(frozen=True)
class Corruption:
    """Per-duplicate probabilities of each kind of change (FEBRL-like defaults)."""

    name_typo: float = 0.15
    last_name_change: float = 0.03
    first_name_missing: float = 0.03
    email_missing: float = 0.15
    email_changed: float = 0.15
    email_typo: float = 0.04
    phone_missing: float = 0.15
    phone_changed: float = 0.12
    phone_typo: float = 0.04
    moved: float = 0.15
    street_typo: float = 0.10
    postcode_typo: float = 0.03
    dob_missing: float = 0.05
    dob_typo: float = 0.05


@dataclass
class World:
    crm: pa.Table
    publisher: pa.Table
    truth: pa.Table


def sha256_hex(value: str | None) -> str | None:
    return None if value is None else hashlib.sha256(value.encode()).hexdigest()


class _Vocabulary:
    """Pronounceable words with a Zipf-like frequency, so common names collide as real ones do."""

    def __init__(self, rng: np.random.Generator, size: int, syllables: tuple[int, int], skew: float) -> None:
        onsets, vowels, codas = (np.array(parts, dtype=object) for parts in (ONSETS, VOWELS, CODAS))
        words: set[str] = set()
        while len(words) < size:
            batch = 2 * (size - len(words))
            counts = rng.integers(syllables[0], syllables[1] + 1, size=batch)
            candidates = codas[rng.integers(len(CODAS), size=batch)]
            for syllable in range(syllables[1]):
                pieces = (
                    onsets[rng.integers(len(ONSETS), size=batch)]
                    + vowels[rng.integers(len(VOWELS), size=batch)]
                )
                candidates = np.where(counts > syllable, pieces + candidates, candidates)
            words.update(word for word in candidates if len(word) >= 3)
        self.words = np.array(sorted(words)[:size], dtype=object)
        rng.shuffle(self.words)
        weights = 1.0 / np.arange(1, size + 1) ** skew
        self.p = weights / weights.sum()

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.words[rng.choice(len(self.words), size=n, p=self.p)]


def generate(
    n_people: int,
    seed: int = 7,
    duplicate_rate: float = 0.3,
    max_duplicates: int = 3,
    publisher_share: float = 0.3,
    corruption: Corruption | None = None,
    household_share: float = 0.2,
) -> World:
    """A world of ``n_people`` people: CRM records with duplicates, a hashed publisher audience.

    ``household_share`` of the people live with the person before them (0 for FEBRL-like data,
    which has no households).
    """
    rng = np.random.default_rng(seed)
    corruption = corruption or Corruption()
    people = _people(rng, n_people, household_share)
    crm_rows = _crm_rows(rng, people, duplicate_rate, max_duplicates, corruption)
    publisher_rows = _publisher_rows(rng, people, publisher_share)
    truth = pa.table(
        {
            "source": [CRM_SOURCE] * len(crm_rows["customer_id"])
            + [PUBLISHER_SOURCE] * len(publisher_rows["audience_record_id"]),
            "record_id": crm_rows["customer_id"] + publisher_rows["audience_record_id"],
            "person_id": crm_rows.pop("person_id") + publisher_rows.pop("person_id"),
        }
    )
    return World(_crm_table(crm_rows), pa.table(publisher_rows), truth)


def crm_records(n_people: int, seed: int = 7, **options) -> tuple[pa.Table, pa.Table]:
    """CRM-shaped records and their (source, record_id, person_id) truth."""
    world = generate(n_people, seed, publisher_share=0.0, **options)
    return world.crm, world.truth


# ---------------------------------------------------------------------------------------------
# People


def _people(rng: np.random.Generator, n: int, household_share: float) -> dict[str, list]:
    # Skews chosen so that, as with US names, the commonest first name is about 4% of people, the
    # commonest surname under 1%, and two people share a full name about as often (the sum of
    # squared shares is ~0.005 for first names and ~1e-4 for surnames).
    first_names = _Vocabulary(rng, 3000, (1, 2), 0.8)
    last_names = _Vocabulary(rng, 100_000, (1, 3), 0.6)
    streets = _Vocabulary(rng, 6000, (1, 2), 0.8)
    cities = _Vocabulary(rng, 1500, (1, 2), 1.1)
    n_places = 4000
    place_city = cities.draw(rng, n_places)
    place_state = np.array(STATES, dtype=object)[rng.integers(len(STATES), size=n_places)]
    place_zip = np.array(
        [f"{z:05d}" for z in rng.choice(99999, size=n_places, replace=False) + 1], dtype=object
    )
    place_weights = 1.0 / np.arange(1, n_places + 1) ** 0.7
    place_weights /= place_weights.sum()

    first = first_names.draw(rng, n)
    last = last_names.draw(rng, n)
    place = rng.choice(n_places, size=n, p=place_weights)
    street = [
        f"{number} {name} {suffix}"
        for number, name, suffix in zip(
            rng.integers(1, 9999, size=n),
            streets.draw(rng, n),
            np.array(STREET_SUFFIXES, dtype=object)[rng.integers(len(STREET_SUFFIXES), size=n)],
            strict=True,
        )
    ]
    dob = [date(1940, 1, 1) + timedelta(days=int(d)) for d in rng.integers(0, 365 * 65, size=n)]
    phone = [
        f"+1{a}{b:09d}"
        for a, b in zip(rng.integers(2, 10, size=n), rng.integers(0, 10**9, size=n), strict=True)
    ]
    people = {
        "person_id": [f"p{i:08d}" for i in range(n)],
        "first_name": list(first),
        "last_name": list(last),
        "address_line1": street,
        "city": list(place_city[place]),
        "state": list(place_state[place]),
        "postal_code": list(place_zip[place]),
        "date_of_birth": dob,
        "phone": phone,
    }
    _make_households(rng, people, household_share)
    people["email"] = [
        _email(rng, first, last)
        for first, last in zip(people["first_name"], people["last_name"], strict=True)
    ]
    people["has_email"] = list(rng.random(n) < 0.85)
    people["has_phone"] = list(rng.random(n) < 0.8)
    people["has_dob"] = list(rng.random(n) < 0.9)
    return people


def _make_households(rng: np.random.Generator, people: dict[str, list], share: float) -> None:
    # Some people live with the person before them: same surname and address, and half of those
    # households share one phone (a landline).
    n = len(people["person_id"])
    for i in np.flatnonzero(rng.random(n) < share):
        if i == 0:
            continue
        for column in ("last_name", "address_line1", "city", "state", "postal_code"):
            people[column][i] = people[column][i - 1]
        if rng.random() < 0.5:
            people["phone"][i] = people["phone"][i - 1]


def _email(rng: np.random.Generator, first: str, last: str) -> str:
    style = rng.integers(4)
    number = rng.integers(1, 999)
    local = (
        f"{first}.{last}{number}",
        f"{first}{last}{number}",
        f"{first[0]}{last}{number}",
        f"{first}_{last}{number % 100}",
    )[style]
    return f"{local}@{DOMAINS[rng.integers(len(DOMAINS))]}"


# ---------------------------------------------------------------------------------------------
# CRM records and their duplicates


def _crm_rows(
    rng: np.random.Generator,
    people: dict[str, list],
    duplicate_rate: float,
    max_duplicates: int,
    corruption: Corruption,
) -> dict[str, list]:
    n = len(people["person_id"])
    copies = np.where(rng.random(n) < duplicate_rate, rng.integers(1, max_duplicates + 1, size=n), 0)
    rows: dict[str, list] = {
        key: []
        for key in (
            "customer_id",
            "person_id",
            "first_name",
            "last_name",
            "email",
            "phone",
            "address_line1",
            "city",
            "state",
            "postal_code",
            "date_of_birth",
        )
    }
    order = []
    for i in range(n):
        order.append((i, False))
        order.extend((i, True) for _ in range(copies[i]))
    ids = rng.permutation(len(order))
    for (i, is_duplicate), number in zip(order, ids, strict=True):
        record = _original(people, i)
        if is_duplicate:
            _corrupt(rng, record, corruption)
        record["customer_id"] = f"c{number:09d}"
        for key in rows:
            rows[key].append(record[key])
    return rows


def _original(people: dict[str, list], i: int) -> dict:
    return {
        "person_id": people["person_id"][i],
        "first_name": people["first_name"][i],
        "last_name": people["last_name"][i],
        "email": people["email"][i] if people["has_email"][i] else None,
        "phone": people["phone"][i] if people["has_phone"][i] else None,
        "address_line1": people["address_line1"][i],
        "city": people["city"][i],
        "state": people["state"][i],
        "postal_code": people["postal_code"][i],
        "date_of_birth": people["date_of_birth"][i] if people["has_dob"][i] else None,
    }


def _corrupt(rng: np.random.Generator, record: dict, c: Corruption) -> None:
    draw = rng.random(16)
    if draw[0] < c.name_typo:
        key = "first_name" if rng.random() < 0.5 else "last_name"
        record[key] = _typo(rng, record[key])
    if draw[1] < c.last_name_change:
        record["last_name"] = _shuffle_word(rng, record["last_name"])
    if draw[2] < c.first_name_missing:
        record["first_name"] = None
    if draw[3] < c.email_missing:
        record["email"] = None
    elif draw[4] < c.email_changed and record["first_name"]:
        record["email"] = _email(rng, record["first_name"], record["last_name"])
    elif draw[5] < c.email_typo and record["email"]:
        local, domain = record["email"].split("@")
        record["email"] = f"{_typo(rng, local)}@{domain}"
    if draw[6] < c.phone_missing:
        record["phone"] = None
    elif draw[7] < c.phone_changed:
        record["phone"] = f"+1{rng.integers(2, 10)}{rng.integers(0, 10**9):09d}"
    elif draw[8] < c.phone_typo and record["phone"]:
        record["phone"] = _digit_typo(rng, record["phone"])
    if draw[9] < c.moved:
        record["address_line1"] = (
            f"{rng.integers(1, 9999)} {_shuffle_word(rng, record['address_line1'].split()[1])} st"
        )
        record["postal_code"] = f"{rng.integers(1, 99999):05d}"
    elif draw[10] < c.street_typo:
        record["address_line1"] = _typo(rng, record["address_line1"])
    if draw[11] < c.postcode_typo:
        record["postal_code"] = _digit_typo(rng, record["postal_code"])
    if draw[12] < c.dob_missing:
        record["date_of_birth"] = None
    elif draw[13] < c.dob_typo and record["date_of_birth"] is not None:
        record["date_of_birth"] = _date_typo(rng, record["date_of_birth"])


def _typo(rng: np.random.Generator, word: str | None) -> str | None:
    if not word or len(word) < 2:
        return word
    position = int(rng.integers(len(word)))
    kind = rng.integers(4)
    letter = LETTERS[rng.integers(26)]
    if kind == 0:  # substitution
        return word[:position] + letter + word[position + 1 :]
    if kind == 1:  # insertion
        return word[:position] + letter + word[position:]
    if kind == 2 and len(word) > 3:  # deletion
        return word[:position] + word[position + 1 :]
    position = min(position, len(word) - 2)  # transposition
    return word[:position] + word[position + 1] + word[position] + word[position + 2 :]


def _digit_typo(rng: np.random.Generator, text: str) -> str:
    position = int(rng.integers(max(len(text) - 7, 0), len(text)))
    return text[:position] + DIGITS[rng.integers(10)] + text[position + 1 :]


def _shuffle_word(rng: np.random.Generator, word: str) -> str:
    letters = list(word)
    rng.shuffle(letters)
    return "".join(letters) + LETTERS[rng.integers(26)]


def _date_typo(rng: np.random.Generator, value: date) -> date:
    if value.day <= 12 and rng.random() < 0.5:
        return date(value.year, value.day, value.month)  # day and month swapped
    try:
        return value.replace(year=value.year + int(rng.choice([-10, -1, 1, 10])))
    except ValueError:
        return value + timedelta(days=1)


def _crm_table(rows: dict[str, list]) -> pa.Table:
    rows["email_sha256"] = [sha256_hex(email) for email in rows["email"]]
    rows["phone_sha256"] = [sha256_hex(phone) for phone in rows["phone"]]
    rows["country"] = ["us"] * len(rows["customer_id"])
    order = [
        "customer_id",
        "first_name",
        "last_name",
        "email",
        "email_sha256",
        "phone",
        "phone_sha256",
        "address_line1",
        "city",
        "state",
        "postal_code",
        "country",
        "date_of_birth",
    ]
    return pa.table({key: rows[key] for key in order}).cast(
        pa.schema([(key, pa.date32() if key == "date_of_birth" else pa.string()) for key in order])
    )


# ---------------------------------------------------------------------------------------------
# Publisher audience (hashed identifiers only)


def _publisher_rows(rng: np.random.Generator, people: dict[str, list], share: float) -> dict[str, list]:
    n = len(people["person_id"])
    chosen = np.flatnonzero(rng.random(n) < share)
    rows: dict[str, list] = {
        "audience_record_id": [],
        "person_id": [],
        "email_sha256": [],
        "phone_sha256": [],
        "maid": [],
    }
    for number, i in enumerate(chosen):
        # Publishers know a person by an email (sometimes another one than the advertiser's) or a phone.
        email = (
            people["email"][i]
            if rng.random() < 0.8
            else _email(rng, people["first_name"][i], people["last_name"][i])
        )
        phone = people["phone"][i] if rng.random() < 0.5 else None
        if rng.random() < 0.15:
            email = None
        rows["audience_record_id"].append(f"a{number:09d}")
        rows["person_id"].append(people["person_id"][i])
        rows["email_sha256"].append(sha256_hex(email))
        rows["phone_sha256"].append(sha256_hex(phone))
        rows["maid"].append(f"{rng.integers(0, 2**63):016x}")
    return rows
