"""Normalization rules for identity fields, with AWS Entity Resolution's semantics. Pure functions.

Each rule turns one raw value into the match key that AWS Entity Resolution's rule-based matching would
compare, so that local matching (DuckDB, Splink) and AWS matching see the same keys. Every output is a
fixed point of AWS's own normalization: when AWS normalizes an already curated value again (a matching
workflow with ``applyNormalization``), it gets the same value back.

Sources for the semantics (cited per rule below):

- [ER-GUIDE] AWS Entity Resolution User Guide, "Creating a rule-based matching workflow": the *Normalize
  data* option; normalization standardizes input by "removing extra spaces and special characters and
  standardizing to lowercase format"; e.g. a PHONE_NUMBER value "(123) 456-7890" becomes "1234567890".
- [ER-NORMLIB] AWS Solutions Library, "Guidance for Customizing Normalization Library for AWS Entity
  Resolution" (aws-solutions-library-samples/guidance-for-customizing-normalization-library-for-aws-
  entity-resolution), ``normalizeRules.json`` and ``Operations.java``: the rule chain per attribute type
  (name: TRIM, LOWERCASE, CONVERT_ACCENT, REMOVE_ALL_NON_ALPHA; email: ... REMOVE_ALL_NON_EMAIL_CHARS;
  phone: REMOVE_ALL_NON_NUMERIC, libphonenumber, country prefix; address: word maps for street
  suffixes, delimiters with "#" -> "number", directions, accents, REMOVE_ALL_NON_ALPHANUMERIC; postal:
  REMOVE_ALL_CHARS_AFTER_DASH, REMOVE_ALL_NON_ALPHANUMERIC; state and country name maps) and its test
  record ("  First1" -> "first", "  Tumble@tumble.com " -> "tumble@tumble.com",
  " 1-888-123-4567  " -> "18881234567", " 12345  " -> "12345", "  AlabaMA  " -> "al").

Where this module goes further than those rules, it says so (email providers that ignore dots and
``+tags``, E.164 phones, dates of birth), and the result stays a fixed point of the AWS rules.

No function here logs or raises with a value in the message: values are PII.
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from datetime import date

import phonenumbers
from unidecode import unidecode

from adplan.hygiene.address_words import ADDRESS_WORDS, COUNTRY_NAMES, SPECIAL_LETTERS, STATE_NAMES

_NON_ALPHA = re.compile(r"[^a-z]+")
_NON_ALPHANUMERIC = re.compile(r"[^a-z0-9]+")
_COMBINING_MARKS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")


def _convert_accents(text: str) -> str:
    """[ER-NORMLIB] CONVERT_ACCENT: accented letters become plain letters; "å" becomes "aa".

    Like AWS, this decomposes letters (NFKD) and drops the combining marks. Letters that do not
    decompose (ß, ø, æ, ł, other scripts) would then be dropped by the next rule; this transliterates
    them with unidecode instead ("ß" -> "ss"). The output is plain ASCII either way, so AWS's rule
    leaves it unchanged.
    """
    if text.isascii():
        return text
    text = _COMBINING_MARKS.sub("", unicodedata.normalize("NFKD", text.replace("å", "aa").replace("Å", "aa")))
    if not text.isascii():
        text = unidecode(text)
    return text.lower()


# --------------------------------------------------------------------------------------------- names


def normalize_name(value: str | None) -> str | None:
    """A person's name (first, middle, last or full) as its match key.

    [ER-NORMLIB] name rules: TRIM, LOWERCASE, CONVERT_ACCENT, REMOVE_ALL_NON_ALPHA -- so "  First1"
    becomes "first", "José" "jose", "Mary-Jane O'Neil" "maryjaneoneil".
    """
    if value is None:
        return None
    key = _NON_ALPHA.sub("", _convert_accents(value.strip().lower()))
    return key or None


# -------------------------------------------------------------------------------------------- emails

# Mailbox providers that deliver "a.b+news@" to "ab@": Gmail ignores dots in the user name, and these
# providers all ignore a "+tag" (sub-addressing).
_DOT_IGNORING_DOMAINS = frozenset({"gmail.com"})
_PLUS_TAG_DOMAINS = frozenset(
    {
        "gmail.com",
        "outlook.com",
        "hotmail.com",
        "live.com",
        "msn.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "protonmail.com",
        "proton.me",
        "pm.me",
        "fastmail.com",
        "fastmail.fm",
    }
)
# Spellings of the same mailbox domain: Google's alternative domain, and the typing slips of the big
# consumer domains that are common enough to appear in every CRM extract.
EMAIL_DOMAIN_ALIASES = {
    "googlemail.com": "gmail.com",
    "gmail.co": "gmail.com",
    "gmail.con": "gmail.com",
    "gmail.cm": "gmail.com",
    "gmail.om": "gmail.com",
    "gmial.com": "gmail.com",
    "gmai.com": "gmail.com",
    "gmal.com": "gmail.com",
    "gnail.com": "gmail.com",
    "gmaill.com": "gmail.com",
    "hotmial.com": "hotmail.com",
    "hotmal.com": "hotmail.com",
    "hotmail.con": "hotmail.com",
    "yahooo.com": "yahoo.com",
    "yaho.com": "yahoo.com",
    "yahoo.con": "yahoo.com",
    "outlok.com": "outlook.com",
    "outlook.con": "outlook.com",
    "icloud.con": "icloud.com",
}
_NON_EMAIL_CHARS_EXCEPT_PLUS = re.compile(r"[^a-z0-9_.@+-]+")
_EMAIL_PARTS = re.compile(r"([a-z0-9_.+-]*)@([a-z0-9_.-]*)")
_VALID_DOMAIN = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")


def normalize_email(value: str | None) -> tuple[str | None, bool]:
    """An email address as its match key, and whether it is a plausible address.

    [ER-NORMLIB] email rules: TRIM, LOWERCASE, CONVERT_ACCENT, EMAIL_ADDRESS_UTIL_NORM (keep what is
    inside "<...>", drop whitespace, "(at)" -> "@"), REMOVE_ALL_NON_EMAIL_CHARS (keep [a-z0-9_.@-]);
    so "  Tumble@tumble.com " becomes "tumble@tumble.com".
    Beyond AWS: where the mailbox provider ignores them, dots in the user name (Gmail) and "+tags" are
    removed, and alternative spellings of a domain are unified ("googlemail.com" -> "gmail.com"). A
    "+" elsewhere is dropped as AWS drops it (it is not an email character to AWS's rule).
    Invalid addresses keep their key but come back with ``False``: callers flag them and do not hash them.
    """
    if value is None:
        return None, False
    text = _convert_accents(value.strip().lower())
    if "<" in text and ">" in text.split("<", 1)[1]:
        text = text.split("<", 1)[1].split(">", 1)[0]
    text = "".join(text.split()).replace("(at)", "@")
    parts = _EMAIL_PARTS.fullmatch(text)
    if parts is None:
        text = _NON_EMAIL_CHARS_EXCEPT_PLUS.sub("", text)
        parts = _EMAIL_PARTS.fullmatch(text)
    if parts is None:  # no "@", or several
        return text.replace("+", "") or None, False
    local, domain = _apply_provider_rules(*parts.groups())
    return f"{local}@{domain}", _is_valid_email(local, domain)


def _apply_provider_rules(local: str, domain: str) -> tuple[str, str]:
    domain = domain.strip(".")
    domain = EMAIL_DOMAIN_ALIASES.get(domain, domain)
    if domain in _PLUS_TAG_DOMAINS:
        local = local.split("+", 1)[0]
    if domain in _DOT_IGNORING_DOMAINS:
        local = local.replace(".", "")
    return local.replace("+", ""), domain


def _is_valid_email(local: str, domain: str) -> bool:
    """A user name of dot-separated words (at most 64 characters) at a domain with a letter TLD."""
    return (
        0 < len(local) <= 64
        and local[0] != "."
        and local[-1] != "."
        and ".." not in local
        and len(local) + len(domain) < 254
        and _VALID_DOMAIN.fullmatch(domain) is not None
    )


# -------------------------------------------------------------------------------------------- phones

_FAST_PHONE_SHAPE = re.compile(r"\+?[0-9\s().\-]{10,30}", re.ASCII)
_NOT_DIGIT = re.compile(r"[^0-9]", re.ASCII)
_UNDECIDED = object()


def normalize_phone(value: str | None, default_region: str = "US") -> str | None:
    """A phone number in E.164 ("+12125550134"), or None when it is not a possible number.

    Parsed with ``phonenumbers`` (Google's libphonenumber, which AWS's phone rule also uses
    [ER-NORMLIB] PHONE_NUM_UTIL_NORM), numbers without a country code read in ``default_region``.
    A number counts when its length is possible for its country (libphonenumber's ``IS_POSSIBLE``; a
    local-only 7-digit number does not). Validity against assigned number ranges is not required: those
    tables change between library releases, which would change keys and hashes between runs, and AWS's
    rule keeps unassigned numbers too.
    AWS's key is the same number as digits with the country code and no "+" (" 1-888-123-4567  " ->
    "18881234567"); its rule applied to this output gives exactly that.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    decided = _nanp_fast_path(text, default_region)
    if decided is not _UNDECIDED:
        return decided  # type: ignore[return-value]
    return _phonenumbers_e164(text, default_region)


def _phonenumbers_e164(text: str, default_region: str) -> str | None:
    try:
        number = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException:
        return None
    if phonenumbers.is_possible_number_with_reason(number) != phonenumbers.ValidationResult.IS_POSSIBLE:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@functools.cache
def _is_nanp_region(region: str) -> bool:
    return phonenumbers.country_code_for_region(region.upper()) == 1


def _nanp_fast_path(text: str, default_region: str) -> object:
    """The answer libphonenumber gives for the plain North American shapes, without parsing.

    A full parse costs about 50 µs, too slow for millions of rows, and most CRM phones are ten digits
    in the usual punctuation. This decides those shapes only -- "(212) 555-0134", "212.555.0134",
    "1-212-555-0134", "+1 212 555 0134" with a North American default region -- and leaves everything
    else (letters, extensions, other country codes, odd lengths) to libphonenumber. A test checks it
    against libphonenumber on a corpus of shapes.
    """
    if not _is_nanp_region(default_region) or not _FAST_PHONE_SHAPE.fullmatch(text):
        return _UNDECIDED
    digits = _NOT_DIGIT.sub("", text)
    if text.startswith("+"):
        if len(digits) == 11 and digits[0] == "1" and digits[1] in "23456789":
            return "+" + digits
        return _UNDECIDED
    if len(digits) == 10 and digits[0] in "23456789":
        return "+1" + digits
    if len(digits) == 11 and digits[0] == "1" and digits[1] in "23456789":
        return "+" + digits
    return _UNDECIDED


# ----------------------------------------------------------------------------------------- addresses

_ADDRESS_DELIMITERS = re.compile(r"[,.\[\]/\-]")


def normalize_address(value: str | None) -> str | None:
    """A street address line as its match key.

    [ER-NORMLIB] address rules: TRIM, LOWERCASE; delimiters , . [ ] / - become spaces and "#" becomes
    " number "; German and Nordic letters are spelled out ("ß" -> "ss") and accents converted; then
    every word goes through the word maps -- street suffixes and unit words to their USPS standard
    abbreviations ("street" -> "st", "apartment" -> "apt", Pub 28 C1/C2), directions ("north" -> "n"),
    number words ("no" -> "number"); REMOVE_ALL_NON_ALPHANUMERIC, which also removes the spaces. So
    "123 North Main Street, Apt #4" becomes "123nmainstaptnumber4".
    AWS runs its word maps in several passes around the delimiter and accent steps; the maps are
    disjoint and no standard form is another word's variant, so one pass after both steps gives the
    same words (and catches words AWS's early passes miss, like an accented direction).
    """
    if value is None:
        return None
    text = _ADDRESS_DELIMITERS.sub(" ", value.strip().lower()).replace("#", " number ")
    if not text.isascii():
        for letter, spelled in SPECIAL_LETTERS.items():
            text = text.replace(letter, spelled)
        text = _convert_accents(text)
    key = _NON_ALPHANUMERIC.sub("", "".join(ADDRESS_WORDS.get(word, word) for word in text.split()))
    return key or None


def normalize_city(value: str | None) -> str | None:
    """[ER-NORMLIB] city rules: TRIM, LOWERCASE, CONVERT_ACCENT, REMOVE_ALL_NON_ALPHANUMERIC ("  City1" -> "city1")."""
    if value is None:
        return None
    key = _NON_ALPHANUMERIC.sub("", _convert_accents(value.strip().lower()))
    return key or None


def normalize_state(value: str | None) -> str | None:
    """[ER-NORMLIB] state rules: as city, then a state or province name becomes its code ("  AlabaMA  " -> "al").

    AWS replaces names inside the value; this looks up the whole value, so "West Virginia" cannot turn
    into "west" + "va".
    """
    if value is None:
        return None
    text = value.strip().lower()
    for letter, spelled in SPECIAL_LETTERS.items():
        text = text.replace(letter, spelled)
    key = _NON_ALPHANUMERIC.sub("", _convert_accents(text))
    return STATE_NAMES.get(key, key) or None


def normalize_country(value: str | None) -> str | None:
    """[ER-NORMLIB] country rules: as city, then a country name becomes its ISO code ("  US" -> "us",
    "United States" -> "us"); "USA" is added to AWS's map."""
    if value is None:
        return None
    key = _NON_ALPHANUMERIC.sub("", _convert_accents(value.strip().lower()))
    return COUNTRY_NAMES.get(key, key) or None


def normalize_postal_code(value: str | None) -> str | None:
    """[ER-NORMLIB] postal rules: TRIM, LOWERCASE, REMOVE_ALL_CHARS_AFTER_DASH, REMOVE_ALL_NON_ALPHANUMERIC.

    " 12345  " -> "12345", "12345-6789" -> "12345" (ZIP+4 to ZIP), "SW1A 1AA" -> "sw1a1aa".
    """
    if value is None:
        return None
    key = _NON_ALPHANUMERIC.sub("", value.strip().lower().split("-", 1)[0])
    return key or None


# ------------------------------------------------------------------------------------ dates of birth

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
_YEAR_FIRST = re.compile(r"(\d{4})([-/.])(\d{1,2})\2(\d{1,2})(?:[t ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?z?)?")
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")
_NUMERIC = re.compile(r"(\d{1,2})([-/.])(\d{1,2})\2(\d{4}|\d{2})")
_MONTH_NAME_FIRST = re.compile(r"([a-z]+)\.?[\s-]+(\d{1,2})(?:st|nd|rd|th)?,?[\s-]+(\d{4}|\d{2})")
_DAY_FIRST_MONTH_NAME = re.compile(r"(\d{1,2})(?:st|nd|rd|th)?[\s-]+([a-z]+)\.?,?[\s-]+(\d{4}|\d{2})")
EARLIEST_BIRTH = date(1900, 1, 1)


def parse_date_of_birth(
    value: str | None, as_of: date | None = None, *, day_first: bool = False
) -> date | None:
    """A date of birth written in any common format, or None when it is not a plausible one.

    Formats: ISO "1985-03-07" (also with "/" or "." and an ISO time), compact "19850307", numeric
    "03/07/1985", "3-7-85", "07.03.1985", and month names "Mar 7, 1985", "7 March 1985", "07-Mar-1985".
    Numeric dates with "/" or "-" are month first (US) unless ``day_first`` or the first number cannot
    be a month; with "." they are day first (the European way of writing them). A two-digit year is
    read as the latest year not after ``as_of`` and is refused without one. Dates before 1900 or after
    ``as_of`` are implausible births. (AWS has no date rule: a date is matched as written, so curated
    data holds the parsed DATE.)
    """
    if value is None:
        return None
    text = value.strip().lower()
    if not text:
        return None
    parsed = _parse_date_parts(text, day_first)
    if parsed is None:
        return None
    year_text, month, day = parsed
    year = _full_year(year_text, as_of)
    if year is None:
        return None
    try:
        birth = date(year, month, day)
    except ValueError:
        return None
    if birth < EARLIEST_BIRTH or (as_of is not None and birth > as_of):
        return None
    return birth


def _parse_date_parts(text: str, day_first: bool) -> tuple[str, int, int] | None:
    if match := _YEAR_FIRST.fullmatch(text):
        return match[1], int(match[3]), int(match[4])
    if match := _COMPACT.fullmatch(text):
        return match[1], int(match[2]), int(match[3])
    if match := _NUMERIC.fullmatch(text):
        first, second = int(match[1]), int(match[3])
        if match[2] == "." or day_first or first > 12:
            first, second = second, first
        return match[4], first, second
    if (match := _MONTH_NAME_FIRST.fullmatch(text)) and match[1] in _MONTHS:
        return match[3], _MONTHS[match[1]], int(match[2])
    if (match := _DAY_FIRST_MONTH_NAME.fullmatch(text)) and match[2] in _MONTHS:
        return match[3], _MONTHS[match[2]], int(match[1])
    return None


def _full_year(year_text: str, as_of: date | None) -> int | None:
    if len(year_text) == 4:
        return int(year_text)
    if as_of is None:
        return None
    year = as_of.year - as_of.year % 100 + int(year_text)
    return year if year <= as_of.year else year - 100


# ---------------------------------------------------------------------------- device ids and hashes

_HEX_SHA256 = re.compile(r"[0-9a-f]{64}")
_ZERO_DEVICE_ID = re.compile(r"[0\-]+")


def normalize_maid(value: str | None) -> str | None:
    """A mobile advertising id (IDFA / GAID) lowercased; the all-zero id of limited ad tracking is no id."""
    if value is None:
        return None
    key = value.strip().lower()
    if not key or _ZERO_DEVICE_ID.fullmatch(key):
        return None
    return key


def normalize_sha256(value: str | None) -> str | None:
    """An already hashed identifier: lowercase hex SHA-256, or None when it is not one."""
    if value is None:
        return None
    key = value.strip().lower()
    return key if _HEX_SHA256.fullmatch(key) else None


def sha256_hex(value: str | None) -> str | None:
    """SHA-256 of the UTF-8 bytes of a normalized identifier, lowercase hex (AWS ER's SHA256 hashing
    protocol and the usual advertising-platform hashing). None stays None: nothing is hashed from nothing."""
    if value is None:
        return None
    return hashlib.sha256(value.encode("utf-8")).hexdigest()
