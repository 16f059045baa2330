"""The normalization rules, checked against AWS Entity Resolution's documented examples.

[ER-NORMLIB]: AWS Solutions Library "Guidance for Customizing Normalization Library for AWS Entity
Resolution" (normalizeRules.json, Operations.java comments, NormalizerTest.java).
[ER-GUIDE]: AWS Entity Resolution User Guide / API reference ("(123) 456-7890" -> "1234567890").
"""

from __future__ import annotations

import hashlib
import random
import re
import unicodedata
from datetime import date

import phonenumbers
import pytest

from adplan.hygiene import normalize as n
from adplan.hygiene.address_words import ADDRESS_TABLES, ADDRESS_WORDS


class TestAwsTestRecord:
    """NormalizerTest.java in [ER-NORMLIB]: one record, every attribute type."""

    def test_name(self) -> None:
        assert n.normalize_name("  First1") == "first"
        assert n.normalize_name(" Last1") == "last"

    def test_email(self) -> None:
        assert n.normalize_email("  Tumble@tumble.com ") == ("tumble@tumble.com", True)

    def test_phone(self) -> None:
        # AWS's key is "18881234567": the E.164 number without its "+".
        assert n.normalize_phone(" 1-888-123-4567  ") == "+18881234567"

    def test_address_city_state_postal_country(self) -> None:
        assert n.normalize_address("  address1") == "address1"
        assert n.normalize_city("  City1") == "city1"
        assert n.normalize_state("  AlabaMA  ") == "al"
        assert n.normalize_postal_code(" 12345  ") == "12345"
        assert n.normalize_country("  US") == "us"


class TestNames:
    @pytest.mark.parametrize(
        ("raw", "key"),
        [
            ("José", "jose"),
            ("  MARY-JANE ", "maryjane"),
            ("O'Neil", "oneil"),
            ("Åsa", "aasa"),  # AWS's special case for the Norwegian å
            ("Strauß", "strauss"),
            ("Øyvind", "oyvind"),
            ("Zoë Renée", "zoerenee"),
            ("李", "li"),
        ],
    )
    def test_trim_lowercase_accents_letters_only(self, raw: str, key: str) -> None:
        assert n.normalize_name(raw) == key

    @pytest.mark.parametrize("raw", [None, "", "   ", "123", "--"])
    def test_nothing_left_is_none(self, raw: str | None) -> None:
        assert n.normalize_name(raw) is None


class TestEmails:
    @pytest.mark.parametrize(
        ("raw", "key"),
        [
            # EMAIL_ADDRESS_UTIL_NORM (Operations.java): inside "<>", no whitespace, "(at)" -> "@".
            ("John Doe <John.Doe@Example.com>", "john.doe@example.com"),
            ("john (at) example.com", "john@example.com"),
            # Gmail ignores dots and +tags; googlemail.com is gmail.com.
            ("J.Doe+news@GoogleMail.com", "jdoe@gmail.com"),
            ("j.doe@gmail.com", "jdoe@gmail.com"),
            # Outlook ignores +tags but not dots.
            ("jane.doe+shop@outlook.com", "jane.doe@outlook.com"),
            # Elsewhere "+" is not an email character to AWS's rule: it is dropped, the tag kept.
            ("a+b@example.com", "ab@example.com"),
            ("josé@example.com", "jose@example.com"),
            ("x@gmail.con", "x@gmail.com"),
        ],
    )
    def test_keys(self, raw: str, key: str) -> None:
        assert n.normalize_email(raw) == (key, True)

    @pytest.mark.parametrize(
        "raw", ["bad-email", "@example.com", "a@b", "a@@example.com", "a..b@example.com", ".a@x.com"]
    )
    def test_invalid_addresses_are_flagged_not_dropped(self, raw: str) -> None:
        key, valid = n.normalize_email(raw)
        assert key is not None
        assert valid is False

    @pytest.mark.parametrize("raw", [None, "", "  "])
    def test_missing(self, raw: str | None) -> None:
        assert n.normalize_email(raw) == (None, False)


class TestPhones:
    @pytest.mark.parametrize(
        "raw",
        # Operations.java's examples: all the same number.
        [
            "+1 (206) 345-7890",
            "+1206.345.7890",
            "+1-206-345-7890  ",
            "(206) 345-7890",
            "206.345.7890",
            "abc206-345-7890..",
        ],
    )
    def test_aws_examples_give_one_e164_number(self, raw: str) -> None:
        assert n.normalize_phone(raw, "US") == "+12063457890"

    def test_aws_user_guide_example(self) -> None:
        # [ER-GUIDE]: "(123) 456-7890" normalizes to the digits 1234567890; AWS's library then prefixes
        # the country code, which is what E.164 holds.
        assert n.normalize_phone("(123) 456-7890", "US") == "+11234567890"

    @pytest.mark.parametrize(
        ("raw", "region", "e164"),
        [
            ("+44 20 7946 0958", "US", "+442079460958"),
            ("020 7946 0958", "GB", "+442079460958"),
            ("212-555-0134 x12", "US", "+12125550134"),  # the extension is not part of the number
            ("1-800-FLOWERS", "US", "+18003569377"),
            ("555-0134", "US", None),  # 7 digits: a local number, no area code
            ("12", "US", None),
            ("not a phone", "US", None),
            ("", "US", None),
            (None, "US", None),
        ],
    )
    def test_e164(self, raw: str | None, region: str, e164: str | None) -> None:
        assert n.normalize_phone(raw, region) == e164

    def test_same_key_as_aws(self) -> None:
        """AWS's phone rule applied to our E.164 value gives the same number (as digits)."""
        for raw in ["(206) 345-7890", "+1 212 555 0134", "1-888-123-4567", "(123) 456-7890"]:
            e164 = n.normalize_phone(raw, "US")
            assert e164 is not None
            assert _aws_phone_key(e164) == e164.lstrip("+")

    def test_fast_path_agrees_with_libphonenumber(self) -> None:
        """The plain North American shapes decided without parsing give libphonenumber's answer."""
        decided = 0
        for raw in _phone_shapes(random.Random(11), 4000):
            for region in ("US", "CA"):
                fast = n._nanp_fast_path(raw, region)
                if fast is not n._UNDECIDED:
                    decided += 1
                    assert fast == n._phonenumbers_e164(raw, region), raw
        assert decided > 1000  # the corpus is half near misses; the common shapes are decided

    def test_fast_path_only_for_north_american_regions(self) -> None:
        assert n._nanp_fast_path("(206) 345-7890", "GB") is n._UNDECIDED


class TestAddresses:
    @pytest.mark.parametrize(
        ("variants", "key"),
        [
            (
                ["123 North Main Street, Apt #4", "123 N. Main St. Apt. No 4", "123 n main st apt number 4"],
                "123nmainstaptnumber4",
            ),
            (["9 Elm Avenue", "9 ELM AVE.", "9 Elm Av"], "9elmave"),
            (["500 Southwest Parkway Suite 200", "500 SW Pkwy Ste 200"], "500swpkwyste200"),
            (["77 Sunset Boulevard", "77 Sunset Blvd"], "77sunsetblvd"),
            (["1 Straße", "1 Strasse"], "1strasse"),
            (["12 Rue de l'Église"], "12ruedeleglise"),
        ],
    )
    def test_variants_share_a_key(self, variants: list[str], key: str) -> None:
        assert [n.normalize_address(variant) for variant in variants] == [key] * len(variants)

    def test_word_tables_can_be_applied_in_one_pass(self) -> None:
        variants = [
            variant for table in ADDRESS_TABLES for variants in table.values() for variant in variants
        ]
        assert len(variants) == len(set(variants)), "a word is a variant in two tables"
        assert not set(ADDRESS_WORDS.values()) & set(ADDRESS_WORDS), "a standard form is also a variant"

    @pytest.mark.parametrize("raw", [None, "", " ,.# "])
    def test_nothing_left_is_none(self, raw: str | None) -> None:
        assert n.normalize_address(raw) in (None, "number")


class TestPlaces:
    @pytest.mark.parametrize(
        ("raw", "key"),
        [("12345-6789", "12345"), ("SW1A 1AA", "sw1a1aa"), (" 02110 ", "02110"), ("K1A 0B1", "k1a0b1")],
    )
    def test_postal_codes(self, raw: str, key: str) -> None:
        assert n.normalize_postal_code(raw) == key

    @pytest.mark.parametrize(
        ("raw", "key"),
        [
            ("New York", "ny"),
            ("West Virginia", "wv"),
            ("Québec", "qc"),
            ("TX", "tx"),
            ("district of columbia", "dc"),
        ],
    )
    def test_states(self, raw: str, key: str) -> None:
        assert n.normalize_state(raw) == key

    @pytest.mark.parametrize(
        ("raw", "key"),
        [
            ("United States", "us"),
            ("USA", "us"),
            ("U.S.A.", "us"),
            ("Deutschland", "de"),
            ("United Kingdom", "gb"),
        ],
    )
    def test_countries(self, raw: str, key: str) -> None:
        assert n.normalize_country(raw) == key

    @pytest.mark.parametrize(
        ("raw", "key"), [("St. Louis", "stlouis"), ("São Paulo", "saopaulo"), ("  City1", "city1")]
    )
    def test_cities(self, raw: str, key: str) -> None:
        assert n.normalize_city(raw) == key


class TestDatesOfBirth:
    AS_OF = date(2024, 5, 1)

    @pytest.mark.parametrize(
        "raw",
        [
            "1985-03-07",
            "1985/03/07",
            "1985.3.7",
            "19850307",
            "1985-03-07T00:00:00Z",
            "03/07/1985",
            "3/7/1985",
            "03-07-1985",
            "07.03.1985",
            "Mar 7, 1985",
            "March 7 1985",
            "7 March 1985",
            "7th Mar 1985",
            "07-Mar-1985",
            "03/07/85",
            "  MAR 7, 1985 ",
        ],
    )
    def test_common_formats(self, raw: str) -> None:
        assert n.parse_date_of_birth(raw, self.AS_OF) == date(1985, 3, 7)

    def test_day_first_when_the_first_number_cannot_be_a_month(self) -> None:
        assert n.parse_date_of_birth("25/12/1990", self.AS_OF) == date(1990, 12, 25)

    def test_day_first_setting(self) -> None:
        assert n.parse_date_of_birth("03/07/1985", self.AS_OF, day_first=True) == date(1985, 7, 3)

    def test_two_digit_years_are_in_the_past(self) -> None:
        assert n.parse_date_of_birth("01/02/03", self.AS_OF) == date(2003, 1, 2)
        assert n.parse_date_of_birth("01/02/30", self.AS_OF) == date(1930, 1, 2)
        assert n.parse_date_of_birth("01/02/30") is None  # no reference date: ambiguous

    @pytest.mark.parametrize(
        "raw",
        [
            "1985-02-30",
            "2025-01-01",
            "1850-01-01",
            "13/13/1985",
            "Smarch 7, 1985",
            "yesterday",
            "",
            None,
            "1985",
        ],
    )
    def test_not_a_plausible_birth(self, raw: str | None) -> None:
        assert n.parse_date_of_birth(raw, self.AS_OF) is None


class TestHashes:
    def test_sha256_hex(self) -> None:
        assert n.sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        assert n.sha256_hex("jdoe@gmail.com") == hashlib.sha256(b"jdoe@gmail.com").hexdigest()
        assert n.sha256_hex(None) is None

    def test_existing_hashes_and_device_ids(self) -> None:
        digest = "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"
        assert n.normalize_sha256(f" {digest} ") == digest.lower()
        assert n.normalize_sha256("not-a-hash") is None
        assert (
            n.normalize_maid(" 6D92078A-8246-4BA4-AE5B-76104861E7DC ")
            == "6d92078a-8246-4ba4-ae5b-76104861e7dc"
        )
        assert n.normalize_maid("00000000-0000-0000-0000-000000000000") is None


TRICKY = [
    "  José  ",
    "MARY-JANE",
    "O'Neil",
    "Åsa",
    "Strauß",
    "李小龙",
    "J.Doe+news@GoogleMail.com",
    "a+b@x.com",
    "John <JOHN@EXAMPLE.COM>",
    "bad-email",
    "x@gmail.con",
    "  ",
    "Ünïcödé",
    "Œuvre",
    "ﬁsh",
    "123 Main St #4",
]


class TestKeysAreFixedPointsOfAwsRules:
    """AWS normalizing a curated value again (applyNormalization) leaves it unchanged."""

    def test_names(self) -> None:
        for raw in TRICKY:
            key = n.normalize_name(raw)
            assert key is None or _aws_name(key) == key

    def test_emails(self) -> None:
        for raw in TRICKY:
            key, _ = n.normalize_email(raw)
            assert key is None or _aws_email(key) == key

    def test_alphanumeric_keys(self) -> None:
        for rule in (n.normalize_address, n.normalize_city, n.normalize_postal_code):
            for raw in TRICKY:
                key = rule(raw)
                assert key is None or re.sub("[^a-z0-9]", "", key.strip().lower()) == key


def _aws_name(value: str) -> str:
    """[ER-NORMLIB] name chain: TRIM, LOWERCASE, CONVERT_ACCENT (å -> aa, NFD), REMOVE_ALL_NON_ALPHA."""
    text = unicodedata.normalize("NFD", value.strip().lower().replace("å", "aa"))
    return re.sub("[^a-zA-Z]", "", text)


def _aws_email(value: str) -> str:
    """[ER-NORMLIB] email chain, ending with REMOVE_ALL_NON_EMAIL_CHARS ([^\\w.@-] removed)."""
    text = unicodedata.normalize("NFD", value.strip().lower())
    if "<" in text and ">" in text:
        text = text.split("<", 1)[1].split(">", 1)[0]
    text = re.sub(r"\s+", "", text).replace("(at)", "@")
    return re.sub(r"[^\w.@-]+", "", text, flags=re.ASCII)


def _aws_phone_key(value: str) -> str:
    """[ER-NORMLIB] phone chain for the US: digits, national number if valid, no leading zeros, "1" prefix."""
    digits = re.sub("[^0-9]", "", value.strip())
    try:
        number = phonenumbers.parse(digits, "US")
        if phonenumbers.is_valid_number(number):
            digits = str(number.national_number)
    except phonenumbers.NumberParseException:
        pass
    digits = digits.lstrip("0")
    return digits if digits.startswith("1") else "1" + digits


def _phone_shapes(rng: random.Random, count: int) -> list[str]:
    """Phone-like strings: NANP shapes and near misses (odd lengths, leading 0/1, letters, other codes)."""
    shapes = []
    for _ in range(count):
        length = rng.choice([7, 9, 10, 10, 10, 11, 11, 12])
        digits = "".join(rng.choice("0123456789") for _ in range(length))
        if rng.random() < 0.6:
            digits = rng.choice("23456789") + digits[1:]
        if rng.random() < 0.2:
            digits = "1" + digits[1:]
        template = rng.choice(
            [
                "{d}",
                "+{d}",
                "({a}) {b}-{c}",
                "{a}-{b}-{c}",
                "{a}.{b}.{c}",
                "+1 {a} {b} {c}",
                "1-{a}-{b}-{c}",
                " {a} {b} {c} ",
                "{a}{b}{c} x{e}",
                "tel:{d}",
                "+44 {d}",
                "00{d}",
                "{a}/{b}-{c}",
                "({a}){b}{c}",
            ]
        )
        shapes.append(
            template.format(d=digits, a=digits[:3], b=digits[3:6], c=digits[6:], e=rng.randint(1, 999))
        )
    return shapes
