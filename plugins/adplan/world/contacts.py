"""Contact details as records write them: names, emails, phones, addresses and dates of birth in variants.

A person has one true value of each (``Identity``: the normalized email, the E.164 phone, the home); each
record renders it with its own choices: case, Gmail dots, ``+tags``, googlemail.com, phone punctuation,
Street/St./ST, North/N, Apartment/Apt/#, ZIP or ZIP+4, four date-of-birth formats. Variants are built so
that the hygiene normalization (lowercase, trim, Gmail dots and +tags removed, googlemail -> gmail,
E.164 phones) gives back exactly the person's true value, which is what the publisher hashes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from adplan.world import vocab
from adplan.world.people import NOT_FOUND, Address, People, email_digit_width, weighted
from adplan.world.textops import (
    choose,
    civil_from_days,
    concat,
    decimal_digits,
    iso_dates,
    join,
    literal,
    null_where,
    numbers_text,
    pick,
    scramble,
    sha256_hex,
    strings_from_matrix,
    where,
)

_FIRST = pa.array(vocab.FIRST_NAMES)
_LAST = pa.array(vocab.LAST_NAMES)
_FIRST_ASCII = pa.array([vocab.ascii_letters(name) for name in vocab.FIRST_NAMES])
_LAST_ASCII = pa.array([vocab.ascii_letters(name) for name in vocab.LAST_NAMES])
_FIRST_TYPOS = [pa.array([vocab.typo_variants(name)[k] for name in vocab.FIRST_NAMES]) for k in range(3)]
_LAST_TYPOS = [pa.array([vocab.typo_variants(name)[k] for name in vocab.LAST_NAMES]) for k in range(3)]
_NICKNAMES = pa.array([vocab.NICKNAMES.get(name, name) for name in vocab.FIRST_NAMES])

# Personal domains first, then the British ones: one index space for the person's email_domain.
_DOMAINS = vocab.PERSONAL_EMAIL_DOMAINS + vocab.GB_EMAIL_DOMAINS
_DOMAIN_NAMES = pa.array([row[0] for row in _DOMAINS])
_DOMAIN_PLUS_TAGS = np.array([row[2] for row in _DOMAINS])
_DOMAIN_IGNORES_DOTS = np.array([row[3] for row in _DOMAINS])
_GB_DOMAIN_OFFSET = len(vocab.PERSONAL_EMAIL_DOMAINS)
# Email styles: (first part, separator, second part) of the user name, before the unique digits.
_STYLE_SEPARATORS = (".", "", "_", "", ".", "")

# Record-level variant shares.
NAME_UPPER_SHARE = 0.04
EMAIL_CASES = (75, 13, 6, 6)  # lower, Capitalized, UPPER, domain in capitals
PLUS_TAG_SHARE = 0.12
GOOGLEMAIL_SHARE = 0.10
# (AAA) EEE-LLLL, AAA.EEE.LLLL, +1 AAA EEE LLLL, AAAEEELLLL, AAA-EEE-LLLL, 1-AAA-EEE-LLLL
PHONE_FORMATS = (30, 20, 12, 18, 14, 6)
DOB_FORMATS = (45, 25, 15, 15)  # 1985-03-07, 03/07/1985, 7 Mar 1985, 19850307


@dataclass(frozen=True)
class Identity:
    """Each person's true contact values (what normalization recovers) and their hashes."""

    email: pa.Array  # normalized primary email
    email_sha256: pa.Array
    work_email: pa.Array  # normalized secondary email, null for most
    work_email_sha256: pa.Array
    phone_e164: pa.Array
    phone_sha256: pa.Array


class Contacts:
    """Renders one chunk's people into record values; ``rows`` always index the chunk's people."""

    def __init__(self, people: People, total_people: int) -> None:
        self.people = people
        # Fixed-width digits unique per person end every user name, so addresses never collide.
        width = email_digit_width(total_people)
        self._digits = strings_from_matrix(decimal_digits(people.email_digits, width))
        self._work_digits = strings_from_matrix(
            decimal_digits(scramble(people.index, 10**width, salt=31), width)
        )
        self._domain_index = np.where(
            people.address.international, people.email_domain + _GB_DOMAIN_OFFSET, people.email_domain
        )
        self._gb_mobile = strings_from_matrix(decimal_digits(scramble(people.index, 10**9, salt=41), 9))
        self.identity = self._identity()

    # ------------------------------------------------------------------------------------- truth

    def _identity(self) -> Identity:
        people = self.people
        everyone = np.arange(people.count)
        first, separator, second = self._user_parts(everyone)
        gmail = _DOMAIN_IGNORES_DOTS[self._domain_index]
        separator = where(gmail, pc.replace_substring(separator, ".", ""), separator)
        email = join(first, separator, second, self._digits, "@", pick(_DOMAIN_NAMES, self._domain_index))
        work = null_where(~people.secondary_email, self._work_address(everyone))
        phone = self._phone_e164()
        return Identity(
            email=email,
            email_sha256=sha256_hex(email),
            work_email=work,
            work_email_sha256=sha256_hex(work),
            phone_e164=phone,
            phone_sha256=sha256_hex(phone),
        )

    def _user_parts(self, rows: np.ndarray) -> tuple[pa.Array, pa.Array, pa.Array]:
        """The user name's parts before the digits: e.g. ("john", ".", "smith"), lower case."""
        people = self.people
        style = people.email_style[rows]
        first = pick(_FIRST_ASCII, people.first_name[rows])
        last = pick(_LAST_ASCII, people.last_name[rows])
        initial = pc.utf8_slice_codeunits(first, 0, 1)
        head = choose(style, [first, first, first, initial, last, first])
        tail = choose(style, [last, last, last, last, first, pa.nulls(len(rows), pa.string())])
        separator = pick(_STYLE_SEPARATORS, style)
        return head, separator, tail

    def _work_address(self, rows: np.ndarray) -> pa.Array:
        people = self.people
        return join(
            pick(_FIRST_ASCII, people.first_name[rows]),
            ".",
            pick(_LAST_ASCII, people.last_name[rows]),
            self._work_digits.take(pa.array(rows)),
            "@",
            pick(vocab.WORK_EMAIL_DOMAINS, people.work_domain[rows]),
        )

    def _phone_e164(self) -> pa.Array:
        people = self.people
        rows = people.count
        us = concat(
            literal("+1", rows), decimal_digits(people.phone_area, 3), decimal_digits(people.phone_digits, 7)
        )
        gb = join("+447", self._gb_mobile)
        return where(people.address.international, gb, us)

    # ------------------------------------------------------------------------------------- names

    def first_names(
        self, rng: np.random.Generator, rows: np.ndarray, typo: float, nickname: float
    ) -> pa.Array:
        names = self._names(rng, self.people.first_name[rows], _FIRST, _FIRST_TYPOS, typo)
        use_nickname = rng.random(len(rows)) < nickname
        return _upper_some(rng, where(use_nickname, pick(_NICKNAMES, self.people.first_name[rows]), names))

    def last_names(self, rng: np.random.Generator, rows: np.ndarray, typo: float) -> pa.Array:
        return _upper_some(rng, self._names(rng, self.people.last_name[rows], _LAST, _LAST_TYPOS, typo))

    @staticmethod
    def _names(
        rng: np.random.Generator, index: np.ndarray, names: pa.Array, typos: list[pa.Array], typo: float
    ) -> pa.Array:
        variant = np.where(rng.random(len(index)) < typo, 1 + rng.integers(0, 3, len(index)), 0)
        return choose(variant, [pick(names, index), *(pick(table, index) for table in typos)])

    # ------------------------------------------------------------------------------------ emails

    def emails(self, rng: np.random.Generator, rows: np.ndarray, work_share: float = 0.0) -> pa.Array:
        """The person's email as someone typed it; ``work_share`` of those with a work email use that."""
        count = len(rows)
        domain_index = self._domain_index[rows]
        first, separator, second = self._user_parts(rows)
        gmail = _DOMAIN_IGNORES_DOTS[domain_index]
        # Gmail ignores dots: the same person writes john.smith or johnsmith.
        toggled = pick((".", ""), rng.integers(0, 2, count))
        has_second = pc.is_valid(second).to_numpy(zero_copy_only=False)
        separator = where(gmail & has_second & (self.people.email_style[rows] != 2), toggled, separator)
        tag = np.where(
            _DOMAIN_PLUS_TAGS[domain_index] & (rng.random(count) < PLUS_TAG_SHARE),
            rng.integers(0, len(vocab.PLUS_TAGS), count),
            NOT_FOUND,
        )
        tag_text = null_where(tag < 0, join("+", pick(vocab.PLUS_TAGS, np.maximum(tag, 0))))
        domain = where(
            gmail & (rng.random(count) < GOOGLEMAIL_SHARE),
            "googlemail.com",
            pick(_DOMAIN_NAMES, domain_index),
        )
        case = weighted(rng, EMAIL_CASES, count)
        digits = self._digits.take(pa.array(rows))
        user = join(first, separator, second, digits, tag_text)
        capitalized = _capitalize_parts(first, separator, second, digits, tag_text)
        user = choose(np.minimum(case, 2), [user, capitalized, pc.utf8_upper(user)])
        domain = where(case == 3, pc.utf8_upper(domain), domain)
        personal = join(user, "@", domain)
        use_work = self.people.secondary_email[rows] & (rng.random(count) < work_share)
        if not use_work.any():
            return personal
        work = self._work_address(rows)
        work = where(case == 1, pc.utf8_capitalize(work), work)
        return where(use_work, work, personal)

    # ------------------------------------------------------------------------------------ phones

    def phones(self, rng: np.random.Generator, rows: np.ndarray) -> pa.Array:
        people = self.people
        count = len(rows)
        area = decimal_digits(people.phone_area[rows], 3)
        exchange = decimal_digits(people.phone_digits[rows] // 10_000, 3)
        line = decimal_digits(people.phone_digits[rows] % 10_000, 4)

        def text(value: str) -> np.ndarray:
            return literal(value, count)

        formats = [
            concat(text("("), area, text(") "), exchange, text("-"), line),
            concat(area, text("."), exchange, text("."), line),
            concat(text("+1 "), area, text(" "), exchange, text(" "), line),
            concat(area, exchange, line),
            concat(area, text("-"), exchange, text("-"), line),
            concat(text("1-"), area, text("-"), exchange, text("-"), line),
        ]
        us = choose(weighted(rng, PHONE_FORMATS, count), formats)
        mobile = self._gb_mobile.take(pa.array(rows))
        spaced = join(
            "+44 7", pc.utf8_slice_codeunits(mobile, 0, 3), " ", pc.utf8_slice_codeunits(mobile, 3, 9)
        )
        gb = where(rng.random(count) < 0.6, spaced, join("+447", mobile))
        return where(people.address.international[rows], gb, us)

    # --------------------------------------------------------------------------------- addresses

    def addresses(self, rng: np.random.Generator, address: Address) -> dict[str, pa.Array]:
        """address_line1, address_line2, city, state, postal_code, country for one home per row."""
        count = len(address.city)
        us = self._us_address(rng, address, count)
        gb = self._gb_address(rng, address, count)
        abroad = address.international
        return {name: where(abroad, gb[name], us[name]) for name in us}

    def _us_address(self, rng: np.random.Generator, address: Address, count: int) -> dict[str, pa.Array]:
        city = np.where(address.international, 0, address.city)
        style = rng.integers(0, 3, count)  # full word, abbreviation, abbreviation with a dot
        direction = np.maximum(address.direction, 0)
        direction_text = choose(
            style,
            [
                pick([d[0] for d in vocab.DIRECTIONS], direction),
                pick([d[1] for d in vocab.DIRECTIONS], direction),
                pick([d[1] + "." for d in vocab.DIRECTIONS], direction),
            ],
        )
        direction_text = null_where(address.direction < 0, direction_text)
        suffix = np.minimum(address.suffix, len(vocab.STREET_SUFFIXES) - 1)
        suffix_style = rng.integers(0, 3, count)
        suffix_text = choose(
            suffix_style,
            [
                pick([s[0] for s in vocab.STREET_SUFFIXES], suffix),
                pick([s[1] for s in vocab.STREET_SUFFIXES], suffix),
                pick([s[1] + "." for s in vocab.STREET_SUFFIXES], suffix),
            ],
        )
        line1 = join(
            numbers_text(address.number),
            direction_text,
            pick(vocab.STREET_NAMES, address.street),
            suffix_text,
            sep=" ",
        )
        unit = self._unit(rng, address, count)
        unit_on_line1 = rng.random(count) < 0.15
        line1 = where(
            unit_on_line1 & pc.is_valid(unit).to_numpy(zero_copy_only=False),
            join(line1, unit, sep=" "),
            line1,
        )
        line2 = null_where(unit_on_line1, unit)
        line1 = where(rng.random(count) < 0.06, pc.utf8_upper(line1), line1)
        zip3 = np.array([c[2] for c in vocab.US_CITIES])[city]
        zip5 = strings_from_matrix(decimal_digits(zip3 * 100 + address.zip_tail, 5))
        plus4 = strings_from_matrix(decimal_digits(address.plus4, 4))
        state_code = pick([c[1] for c in vocab.US_CITIES], city)
        state_name = pick([vocab.US_STATE_NAMES[c[1]] for c in vocab.US_CITIES], city)
        city_text = pick([c[0] for c in vocab.US_CITIES], city)
        country = weighted(rng, (75, 12, 8, 5), count)
        return {
            "address_line1": line1,
            "address_line2": line2,
            "city": where(rng.random(count) < 0.05, pc.utf8_upper(city_text), city_text),
            "state": where(rng.random(count) < 0.15, state_name, state_code),
            "postal_code": where(rng.random(count) < 0.2, join(zip5, "-", plus4), zip5),
            "country": null_where(country == 3, pick(("US", "USA", "United States"), np.minimum(country, 2))),
        }

    @staticmethod
    def _unit(rng: np.random.Generator, address: Address, count: int) -> pa.Array:
        kind = np.maximum(address.unit_kind, 0)
        form = rng.integers(0, 4, count)
        word = pick(
            [forms[k] for k in range(4) for forms in vocab.UNIT_KINDS], form * len(vocab.UNIT_KINDS) + kind
        )
        unit_id = join(numbers_text(address.unit_number), pick(vocab.UNIT_LETTERS, address.unit_letter))
        text = where(form == 3, join("#", unit_id), join(word, unit_id, sep=" "))
        return null_where(address.unit_kind < 0, text)

    @staticmethod
    def _gb_address(rng: np.random.Generator, address: Address, count: int) -> dict[str, pa.Array]:
        city = np.minimum(address.city, len(vocab.GB_CITIES) - 1)
        suffix = np.minimum(address.suffix, len(vocab.GB_STREET_SUFFIXES) - 1)
        line1 = join(
            numbers_text(np.minimum(address.number, 300)),
            pick(vocab.STREET_NAMES, address.street),
            pick(vocab.GB_STREET_SUFFIXES, suffix),
            sep=" ",
        )
        outward_codes = [c[2] for c in vocab.GB_CITIES]
        outward = pick(
            [code for codes in outward_codes for code in (list(codes) + [codes[0]] * (6 - len(codes)))],
            city * 6 + address.outward,
        )
        letters = np.frombuffer(vocab.GB_POSTCODE_LETTERS.encode(), dtype=np.uint8)
        inward = np.column_stack(
            [
                decimal_digits(address.zip_tail % 10, 1),
                letters[address.plus4 % len(letters)],
                letters[(address.plus4 // len(letters)) % len(letters)],
            ]
        )
        return {
            "address_line1": line1,
            "address_line2": pa.nulls(count, pa.string()),
            "city": pick([c[0] for c in vocab.GB_CITIES], city),
            "state": null_where(rng.random(count) < 0.5, pick([c[1] for c in vocab.GB_CITIES], city)),
            "postal_code": join(outward, strings_from_matrix(inward), sep=" "),
            "country": where(rng.random(count) < 0.6, "GB", "United Kingdom"),
        }

    # ----------------------------------------------------------------------------- dates of birth

    def dates_of_birth(self, rng: np.random.Generator, rows: np.ndarray) -> pa.Array:
        birth = self.people.birth_day[rows]
        year, month, day = civil_from_days(birth)
        count = len(rows)
        slash = literal("/", count)
        formats = [
            iso_dates(birth),
            concat(decimal_digits(month, 2), slash, decimal_digits(day, 2), slash, decimal_digits(year, 4)),
            join(numbers_text(day), pick(vocab.MONTH_ABBREVIATIONS, month - 1), numbers_text(year), sep=" "),
            concat(decimal_digits(year, 4), decimal_digits(month, 2), decimal_digits(day, 2)),
        ]
        return choose(weighted(rng, DOB_FORMATS, count), formats)


def _upper_some(rng: np.random.Generator, names: pa.Array) -> pa.Array:
    return where(rng.random(len(names)) < NAME_UPPER_SHARE, pc.utf8_upper(names), names)


def _capitalize_parts(*parts: pa.Array) -> pa.Array:
    """John.Smith0042: each alphabetic part capitalized (digits and tags unchanged)."""
    return join(*(pc.utf8_capitalize(part) for part in parts))
