"""People: the latent truth behind every record (persona, value, propensity, devices, contact details).

Everything here is drawn per chunk of people from the chunk's own random generator. Contact details are
drawn as components (name indices, address parts, the unique digits of email and phone); ``contacts``
renders them into the written variants that records carry.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from adplan.world import vocab
from adplan.world.textops import scramble

CRM_SHARE_BY_TIER = np.array([0.35, 0.45, 0.60])  # low, mid, high
BASE_PROPENSITY_BY_TIER = np.array([0.015, 0.03, 0.06])  # chance of an order in the window, no ads
LAPSED_SHARE = 0.25  # CRM customers who stopped buying some months ago
DUPLICATE_SHARE = 0.08  # CRM people with two or more records
TRIPLE_SHARE = 0.2  # ... of whom some have three
INTERNATIONAL_SHARE = 0.02  # people living in Great Britain
SECONDARY_EMAIL_SHARE = 0.15
DEVICE_COUNT_WEIGHTS = np.array([0.35, 0.45, 0.20])  # 1, 2 or 3 devices (each with a browser cookie)
MAX_DEVICES = 3
NOT_FOUND = -1

_PERSONA_WEIGHTS = np.array([persona["weight"] for persona in vocab.PERSONAS], dtype=float)
_TIER_PROBS = np.array([persona["value_tier"] for persona in vocab.PERSONAS], dtype=float)
_AGE_PROBS = np.array([persona["age"] for persona in vocab.PERSONAS], dtype=float)
_INTEREST_PROBS = np.array(
    [[persona["interests"].get(name, 0.03) for name in vocab.INTERESTS] for persona in vocab.PERSONAS]
)
_METRO = np.array([city[4] for city in vocab.US_CITIES])
_CITY_PROBS = np.array(
    [np.where(_METRO, persona["metro_boost"], 1.0) for persona in vocab.PERSONAS], dtype=float
)
LOOKALIKE_PERSONA = 0  # the persona the best customers come from


@dataclass(frozen=True)
class Address:
    """Address components of a home (a person's, or where a duplicate record says they moved to)."""

    international: np.ndarray
    city: np.ndarray  # index into US_CITIES or GB_CITIES
    number: np.ndarray
    direction: np.ndarray  # index into DIRECTIONS, -1 for none
    street: np.ndarray  # index into STREET_NAMES
    suffix: np.ndarray  # index into STREET_SUFFIXES (GB_STREET_SUFFIXES abroad)
    unit_kind: np.ndarray  # index into UNIT_KINDS, -1 for none
    unit_number: np.ndarray
    unit_letter: np.ndarray  # index into UNIT_LETTERS
    zip_tail: np.ndarray  # last two ZIP digits (US) / inward code number (GB)
    plus4: np.ndarray  # ZIP+4 add-on (US) / inward code letters (GB)
    outward: np.ndarray  # GB outward code index within the city


@dataclass(frozen=True)
class People:
    index: np.ndarray  # 0-based, global
    person_id: np.ndarray  # 1-based, global: the id ground truth uses
    persona: np.ndarray
    value_tier: np.ndarray  # 0 low, 1 mid, 2 high
    age: np.ndarray
    birth_day: np.ndarray  # days since epoch
    age_band: np.ndarray  # index into AGE_BANDS
    interests: np.ndarray  # (people, interests) bool
    address: Address
    region: np.ndarray  # index into REGIONS
    first_name: np.ndarray  # index into FIRST_NAMES
    last_name: np.ndarray  # index into LAST_NAMES
    email_style: np.ndarray
    email_domain: np.ndarray  # index into the person's domain list (personal or GB)
    email_digits: np.ndarray  # unique per person: keeps emails unique whatever the name
    secondary_email: np.ndarray  # bool
    work_domain: np.ndarray
    phone_area: np.ndarray  # area code (US)
    phone_digits: np.ndarray  # unique per person: the subscriber number
    in_crm: np.ndarray
    crm_records: np.ndarray  # 0 for people outside the CRM
    signup_day: np.ndarray  # first CRM record's signup, days since epoch
    lapsed: np.ndarray
    lapse_day: np.ndarray  # last day a lapsed customer could order (days since epoch)
    propensity: np.ndarray  # chance of an order in the window without advertising
    heaviness: np.ndarray  # media consumption factor (mean 1), independent of propensity
    devices: np.ndarray  # 1..3
    first_device_mobile: np.ndarray
    ios: np.ndarray

    @property
    def count(self) -> int:
        return len(self.index)

    @property
    def lookalike_group(self) -> np.ndarray:
        return self.persona == LOOKALIKE_PERSONA


def categorical(rng: np.random.Generator, probabilities: np.ndarray) -> np.ndarray:
    """One draw per row of a (rows, categories) matrix of (unnormalized) probabilities."""
    cumulative = np.cumsum(probabilities, axis=1)
    draws = rng.random(len(probabilities)) * cumulative[:, -1]
    return np.minimum((draws[:, None] >= cumulative).sum(axis=1), probabilities.shape[1] - 1)


def weighted(rng: np.random.Generator, weights, count: int) -> np.ndarray:
    weights = np.asarray(weights, dtype=float)
    return rng.choice(len(weights), size=count, p=weights / weights.sum())


def rank_weights(count: int, offset: float = 15.0) -> np.ndarray:
    """Zipf-like weights: the first entries of a vocabulary are the common ones."""
    return 1.0 / (np.arange(count) + offset)


def draw_people(
    rng: np.random.Generator,
    first_index: int,
    count: int,
    total_people: int,
    as_of_day: int,
    window_start_day: int,
) -> People:
    index = np.arange(first_index, first_index + count, dtype=np.int64)
    persona = weighted(rng, _PERSONA_WEIGHTS, count)
    value_tier = categorical(rng, _TIER_PROBS[persona])
    age_band_drawn = categorical(rng, _AGE_PROBS[persona])
    bounds = np.array(vocab.AGE_BAND_BOUNDS)
    age = rng.uniform(bounds[age_band_drawn, 0], bounds[age_band_drawn, 1])
    birth_day = as_of_day - np.floor(age * 365.25).astype(np.int64) - 1
    age_years = np.floor((as_of_day - birth_day) / 365.25).astype(np.int64)
    age_band = np.searchsorted(bounds[:, 1], age_years, side="right").clip(0, len(vocab.AGE_BANDS) - 1)
    interests = rng.random((count, len(vocab.INTERESTS))) < _INTEREST_PROBS[persona]
    address = draw_address(rng, persona, rng.random(count) < INTERNATIONAL_SHARE)
    region = _regions(address)
    in_crm = rng.random(count) < CRM_SHARE_BY_TIER[value_tier]
    duplicated = rng.random(count) < DUPLICATE_SHARE
    tripled = duplicated & (rng.random(count) < TRIPLE_SHARE)
    crm_records = np.where(in_crm, 1 + duplicated.astype(np.int64) + tripled, 0)
    signup_day = window_start_day - rng.integers(30, 2200, count)
    lapsed = in_crm & (rng.random(count) < LAPSED_SHARE)
    lapse_day = np.maximum(window_start_day - rng.integers(180, 720, count), signup_day + 30)
    propensity = _propensity(rng, value_tier, in_crm, lapsed)
    area = _area_codes(rng, address.city)
    devices = 1 + weighted(rng, DEVICE_COUNT_WEIGHTS, count)
    return People(
        index=index,
        person_id=index + 1,
        persona=persona,
        value_tier=value_tier,
        age=age_years,
        birth_day=birth_day,
        age_band=age_band,
        interests=interests,
        address=address,
        region=region,
        first_name=rng.choice(
            len(vocab.FIRST_NAMES), count, p=_normalized(rank_weights(len(vocab.FIRST_NAMES)))
        ),
        last_name=rng.choice(
            len(vocab.LAST_NAMES), count, p=_normalized(rank_weights(len(vocab.LAST_NAMES)))
        ),
        email_style=rng.integers(0, 6, count),
        email_domain=_email_domains(rng, address.international),
        email_digits=scramble(index, _digit_space(total_people), salt=11),
        secondary_email=rng.random(count) < SECONDARY_EMAIL_SHARE,
        work_domain=rng.integers(0, len(vocab.WORK_EMAIL_DOMAINS), count),
        phone_area=area,
        phone_digits=scramble(index, 8_000_000, salt=23) + 2_000_000,
        in_crm=in_crm,
        crm_records=crm_records,
        signup_day=signup_day,
        lapsed=lapsed,
        lapse_day=lapse_day,
        propensity=propensity,
        heaviness=rng.gamma(2.0, 0.5, count),
        devices=devices,
        first_device_mobile=rng.random(count) < 0.85,
        ios=rng.random(count) < 0.45,
    )


def draw_address(rng: np.random.Generator, persona: np.ndarray, international: np.ndarray) -> Address:
    count = len(persona)
    us_city = categorical(rng, _CITY_PROBS[persona])
    gb_city = rng.integers(0, len(vocab.GB_CITIES), count)
    # House numbers: mostly small, sometimes four digits.
    magnitude = rng.choice(np.array([100, 1000, 10000]), count, p=[0.45, 0.4, 0.15])
    has_unit = rng.random(count) < 0.35
    return Address(
        international=international,
        city=np.where(international, gb_city, us_city),
        number=rng.integers(1, magnitude),
        direction=np.where(
            rng.random(count) < 0.22, rng.integers(0, len(vocab.DIRECTIONS), count), NOT_FOUND
        ),
        street=rng.choice(
            len(vocab.STREET_NAMES), count, p=_normalized(rank_weights(len(vocab.STREET_NAMES), 8))
        ),
        suffix=np.where(
            international,
            rng.integers(0, len(vocab.GB_STREET_SUFFIXES), count),
            weighted(rng, vocab.STREET_SUFFIX_WEIGHTS, count),
        ),
        unit_kind=np.where(has_unit, weighted(rng, vocab.UNIT_KIND_WEIGHTS, count), NOT_FOUND),
        unit_number=rng.integers(1, 40, count) * np.where(rng.random(count) < 0.3, 10, 1)
        + rng.integers(0, 10, count),
        unit_letter=rng.integers(0, len(vocab.UNIT_LETTERS), count),
        zip_tail=rng.integers(0, 100, count),
        plus4=rng.integers(1, 10000, count),
        outward=rng.integers(0, 6, count),
    )


def moved(rng: np.random.Generator, address: Address, rows: np.ndarray, persona: np.ndarray) -> Address:
    """``address`` with the people at ``rows`` moved to a new home (same country)."""
    fresh = draw_address(rng, persona, address.international)
    return Address(
        **{
            name: np.where(rows, getattr(fresh, name), getattr(address, name))
            for name in Address.__dataclass_fields__
        }
    )


def take_address(address: Address, index: np.ndarray) -> Address:
    return Address(**{name: getattr(address, name)[index] for name in Address.__dataclass_fields__})


def _regions(address: Address) -> np.ndarray:
    us_region = np.array([vocab.REGIONS.index(city[3]) for city in vocab.US_CITIES])
    return np.where(
        address.international,
        vocab.REGIONS.index("international"),
        us_region[np.where(address.international, 0, address.city)],
    )


def _propensity(
    rng: np.random.Generator, value_tier: np.ndarray, in_crm: np.ndarray, lapsed: np.ndarray
) -> np.ndarray:
    # Active customers buy more often than prospects, lapsed customers less; a lognormal spread with
    # mean 1 keeps the tier averages.
    customer_factor = np.where(lapsed, 0.5, np.where(in_crm, 1.4, 1.0))
    spread = rng.lognormal(-0.045, 0.3, len(value_tier))
    return np.clip(BASE_PROPENSITY_BY_TIER[value_tier] * customer_factor * spread, 0.001, 0.4)


def _area_codes(rng: np.random.Generator, city: np.ndarray) -> np.ndarray:
    """One of the city's area codes (only used for US phones; abroad the value is ignored)."""
    choices = [codes for *_, codes in vocab.US_CITIES]
    counts = np.array([len(codes) for codes in choices])
    padded = np.array([list(codes) + [codes[0]] * (3 - len(codes)) for codes in choices])
    pick = (rng.random(len(city)) * counts[city]).astype(np.int64)
    return padded[city, pick]


def _email_domains(rng: np.random.Generator, international: np.ndarray) -> np.ndarray:
    count = len(international)
    personal = weighted(rng, [row[1] for row in vocab.PERSONAL_EMAIL_DOMAINS], count)
    british = weighted(rng, [row[1] for row in vocab.GB_EMAIL_DOMAINS], count)
    return np.where(international, british, personal)


def _digit_space(total_people: int) -> int:
    """Size of the unique-digits space for emails: at least 4 digits, enough for everyone."""
    width = max(4, len(str(max(total_people - 1, 1))))
    return 10**width


def email_digit_width(total_people: int) -> int:
    return len(str(_digit_space(total_people))) - 1


def _normalized(weights: np.ndarray) -> np.ndarray:
    return weights / weights.sum()
