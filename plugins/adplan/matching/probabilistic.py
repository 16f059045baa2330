"""ML matching: a Splink model on DuckDB, configured from the schema mappings, trained without labels.

What AWS Entity Resolution's ML_MATCHING does with a schema mapping, done with Splink:

1. Features. Every input's mapped fields become columns of one table by their type: NAME_FIRST ->
   ``first_name``, EMAIL_ADDRESS -> ``email`` (or ``email_hash`` when hashed), PHONE_NUMBER ->
   ``phone`` / ``phone_hash``, ADDRESS_STREET1 -> ``street``, ADDRESS_POSTALCODE -> ``postcode``,
   DATE -> ``dob``; an identifier with a matchKey (MAID, PROVIDER_ID, STRING, ...) -> ``id_<key>``.
   A cleartext email or phone also gets its SHA-256, so that it meets the hashed-only inputs (the
   hygiene stage hashes normalized values the same way).
2. Comparisons by type: names Jaro-Winkler, plus agreement with the other record's other name (forms
   swap first and last names); email exact on the hash, then one typo apart on the cleartext where
   both sides have it; phone, street, postcode and town together as one "contact" comparison
   (households share them all, and separately they would count one address several times); date of
   birth exact, day/month swapped, one part mistyped; identifiers exact, then one keying error apart
   (a mistyped or transposed character in a short code); postcodes too allow one keying error.
   Levels use cheap functions (Jaro-Winkler, Hamming, a length-guarded Damerau-Levenshtein): u
   estimation scores a million random pairs and DuckDB's edit distances cost ~2 µs a pair.
3. Blocking from the match keys: each strong key alone (email, phone, identifiers), pairs of weak
   keys (first and last name, name and date of birth, postcode and date of birth, street and postcode,
   street and date of birth...), and both names in either order. A rule is counted before use; one that
   would generate more than ``max_comparisons_per_record`` x records pairs is dropped and reported, so
   a skewed column cannot explode the run at 1M records.
4. Training without labels: ``estimate_probability_two_random_records_match`` from deterministic rules,
   ``estimate_u_using_random_sampling``, then EM sessions chosen so that every comparison is trained,
   person-level keys first (EM on pairs blocked by a shared phone learns households as matches). The
   prior is then estimated again with the deterministic rules' recall as the trained model implies it
   (``implied_recall``) instead of the guessed one (on FEBRL4: 9.5e-5 against the true 1.0e-4; the
   guess gave 5.2e-5).
5. Links: pairs above ``threshold``, and pairs that agree on an identifier above the lower
   ``identifier_threshold`` (see ``_link_condition``).
6. Clustering that does not chain. Connected components at one threshold join whole neighbourhoods
   through single weak links once data is large. Here a cluster larger than ``max_cluster_size`` is
   re-clustered using only its own links at the next, stricter threshold, level by level; what is
   still too large after the last level keeps only each record's single best link, then only mutual
   best links (at most two records). The levels used are reported (``oversize_split_at``).

``ConfidenceLevel`` is the match probability of the record's best link inside its cluster (null for
a record matched to nothing).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any

import duckdb

from adplan.matching.components import connected_components
from adplan.matching.config import GROUP_KIND, MappedField
from adplan.matching.errors import MatchingConfigError
from adplan.matching.inputs import PreparedInputs, PreparedSource, literal, quote
from adplan.matching.normalize import NORMALIZED_KINDS, hashed_sql, normalize_field_sql

IDENTIFIER_TYPES = ("MAID", "PROVIDER_ID", "IPV4", "IPV6")
# Feature columns holding SHA-256 hashes: compared for equality only.
HASHED_FEATURES = ("email_hash", "phone_hash")
# Name columns that forms swap with each other.
NAME_SWAPS = {"first_name": "last_name", "last_name": "first_name"}
# Weak-key pairs for blocking, most selective first. Names are the strongest weak evidence.
WEAK_PAIRS = (
    ("first_name", "last_name"),
    ("last_name", "dob"),
    ("first_name", "dob"),
    ("full_name", "dob"),
    ("postcode", "dob"),
    ("street", "postcode"),
    ("full_name", "postcode"),
    # Records whose postcode or date carries a keying error still share the rest of the address.
    ("street", "dob"),
    ("last_name", "postcode"),
    ("first_name", "street"),
)
# The blocking rule for records whose first and last names were swapped: a join of each record's first
# name to the other's last name and back, so it generates only the swapped pairs (a key of both names
# in either order generated every same-name pair a second time: 6.7M extra pairs at 1M people). It
# blocks only; EM never trains on it.
SWAPPED_NAMES = ("first_name", "last_name", "swapped")
SWAPPED_NAMES_SQL = "l.first_name = r.last_name AND l.last_name = r.first_name"


@dataclass(frozen=True)
class MLOptions:
    """Knobs of the local ML matching (AWS's ML_MATCHING has none; these are local choices)."""

    threshold: float = 0.99
    # Pairs agreeing exactly on an identifier (email hash, id_*) link from this probability up.
    identifier_threshold: float = 0.05
    # Phones are not identifiers by default: where households share a landline, a phone-only record
    # (a guest order, an audience record) joins two people. Where they do not (the generated world),
    # ("email_hash", "phone_hash") links those records as the rule workflow's last rule does.
    identifier_features: tuple[str, ...] = ("email_hash",)
    escalation: tuple[float, ...] = (0.999, 0.9999, 0.99999)
    max_cluster_size: int = 50
    # A blocking rule may generate at most this many pairs per record (but always 100,000 pairs).
    max_comparisons_per_record: float = 10.0
    min_comparison_budget: int = 100_000
    deterministic_recall: float = 0.8
    u_max_pairs: float = 1e6
    em_max_pairs: float | None = 1e6
    term_frequencies: bool = True
    seed: int | None = 7
    threads: int | None = None
    # DuckDB's memory cap for the run; beyond it, operators spill to disk rather than grow.
    memory_limit: str | None = "1.3GB"


@dataclass
class Model:
    """The Splink configuration derived from the inputs, and what was left out and why."""

    comparisons: list[Any]
    blocking_rules: list[tuple[str, ...]]
    training_rules: list[tuple[str, ...]]
    dropped_rules: dict[str, int] = field(default_factory=dict)
    features: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# Features


def feature_column(mapped: MappedField) -> str | None:
    """The feature column a mapped field feeds, by its type (None: not used by the model)."""
    kind = mapped.type
    if kind == "NAME_FIRST":
        return "first_name"
    if kind == "NAME_LAST":
        return "last_name"
    if kind == "NAME":
        return "full_name"
    if kind == "EMAIL_ADDRESS":
        return "email_hash" if mapped.hashed else "email"
    if kind in ("PHONE", "PHONE_NUMBER"):
        return "phone_hash" if mapped.hashed else "phone"
    if kind in ("ADDRESS_STREET1", "ADDRESS"):
        return "street"
    if kind == "ADDRESS_POSTALCODE":
        return "postcode"
    if kind == "ADDRESS_CITY":
        return "city"
    if kind == "DATE":
        return "dob"
    if (kind in IDENTIFIER_TYPES or kind == "STRING") and mapped.match_key:
        # An identifier is compared only when the mapping says it links inputs (has a matchKey).
        return f"id_{mapped.match_key.lower()}"
    return None


def _feature_value_sql(mapped: MappedField, normalize: bool, registered: dict[str, str]) -> str:
    text = f"nullif(trim(CAST({quote(mapped.field_name)} AS VARCHAR)), '')"
    column = feature_column(mapped)
    if column == "dob":
        # ISO dates, and the compact YYYYMMDD of FEBRL-style files.
        return f"coalesce(try_cast({text} AS DATE), CAST(try_strptime({text}, '%Y%m%d') AS DATE))"
    if mapped.hashed:
        return hashed_sql(text)

    kind = GROUP_KIND.get(mapped.type, mapped.type)
    if normalize and kind in NORMALIZED_KINDS:
        return normalize_field_sql(mapped.type, kind, text, registered)
    if column and column.startswith("id_"):
        return text
    return f"nullif(lower({text}), '')"


def feature_columns_sql(prepared: PreparedSource, registered: dict[str, str]) -> dict[str, str]:
    """The model's feature columns for one input: column -> SQL over the input's own columns."""
    columns: dict[str, str] = {}
    for mapped in prepared.mapping.fields:
        column = feature_column(mapped)
        if column is not None and column not in columns:  # a second field of a kind is not used
            columns[column] = _feature_value_sql(mapped, prepared.source.apply_normalization, registered)
    # Cleartext email or phone meets the hashed-only inputs through its SHA-256.
    for clear, hashed in (("email", "email_hash"), ("phone", "phone_hash")):
        if clear in columns and hashed not in columns:
            columns[hashed] = f"sha256({columns[clear]})"
    return columns


def build_features(con: duckdb.DuckDBPyConnection, prepared: PreparedInputs) -> list[str]:
    """Create the table ``ml_input`` (unique_id, source_dataset, features...) from the prepared
    inputs; returns the features that have values.

    Hashed features (``*_hash``, 64 hex characters of SHA-256) are only ever compared for equality,
    so each becomes a number: the smallest unique_id of the records with that hash (see
    ``_hash_keys``). Splink joins every scored pair to both of its records' features; at 4.2M records
    and 11M pairs, two 64-character strings a record made that join spill under the memory cap
    (a quarter of the prediction's CPU time)."""
    parts = []
    for p in prepared.sources:
        names = [row[0] for row in con.execute(f"DESCRIBE {p.table}").fetchall()]
        features = [
            name
            for name in names
            if name not in ("rid", "record_id") and not name.startswith(("attr_", "raw__"))
        ]
        selects = ["rid AS unique_id", f"{literal(p.source.name)} AS source_dataset", *map(quote, features)]
        parts.append(f"SELECT {', '.join(selects)} FROM {p.table}")
    con.execute(f"CREATE OR REPLACE TEMP VIEW ml_features AS {' UNION ALL BY NAME '.join(parts)}")
    columns = [row[0] for row in con.execute("DESCRIBE ml_features").fetchall()]
    features = [column for column in columns if column not in ("unique_id", "source_dataset")]
    counts = con.execute(
        f"SELECT {', '.join(f'count({quote(c)})' for c in features)} FROM ml_features"
    ).fetchall()[0]
    present = [column for column, count in zip(features, counts, strict=True) if count > 0]
    _hash_keys(con, columns, [c for c in present if c in HASHED_FEATURES])
    return present


def _hash_keys(con: duckdb.DuckDBPyConnection, columns: list[str], hashed: list[str]) -> None:
    """``ml_input``: the view ``ml_features`` with each ``hashed`` column replaced by a BIGINT key,
    the smallest unique_id of the records with that value (equal keys exactly when equal hashes)."""
    joins = []
    for i, column in enumerate(hashed):
        _key_table(con, f"ml_hash_{i}", "ml_features", column)
        joins.append(f"LEFT JOIN ml_hash_{i} h{i} ON h{i}.value = f.{quote(column)}")
    selects = [f"h{hashed.index(c)}.key AS {quote(c)}" if c in hashed else f"f.{quote(c)}" for c in columns]
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE ml_input AS SELECT {', '.join(selects)} FROM ml_features f {' '.join(joins)}"
    )
    for i in range(len(hashed)):
        con.execute(f"DROP TABLE ml_hash_{i}")


def _key_table(con: duckdb.DuckDBPyConnection, name: str, source: str, column: str) -> None:
    """``name`` (value, key): each value of ``column`` in ``source`` with the smallest unique_id that
    has it, so two records' keys are equal exactly when their values are."""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT {quote(column)} AS value, "
        f"min(unique_id) AS key FROM {source} WHERE {quote(column)} IS NOT NULL GROUP BY ALL"
    )


# ---------------------------------------------------------------------------------------------
# Model configuration


def _comparisons(features: list[str], options: MLOptions) -> list[Any]:
    # Levels use cheap functions on purpose: DuckDB's levenshtein costs about 2 µs per pair, ten times
    # Jaro-Winkler, and u estimation scores millions of random pairs. Typos of fixed-length values
    # (phones, postcodes) are caught by a Hamming distance, street typos by Jaro-Winkler.

    present = set(features)
    tf = options.term_frequencies
    comparisons: list[Any] = []
    for column in ("first_name", "last_name", "full_name"):
        if column in present:
            other = NAME_SWAPS.get(column)
            comparisons.append(_name_comparison(column, other if other in present else None, tf))
    if "email_hash" in present:
        # One typo apart, not merely similar: emails are made of names, so namesakes' emails are
        # similar (john.smith12@ and john_smith7@) while a typo changes one character.
        fuzzy = (
            "abs(length(email_l) - length(email_r)) <= 1 AND damerau_levenshtein(email_l, email_r) <= 1"
            if "email" in present
            else None
        )
        comparisons.append(_hash_comparison("email", fuzzy, tf))
    has_address = bool({"street", "postcode", "city"} & present)
    if "phone_hash" in present and has_address:
        comparisons.append(_contact_comparison(present, tf))
    elif "phone_hash" in present:
        comparisons.append(
            _hash_comparison("phone", _one_substitution("phone") if "phone" in present else None, tf)
        )
    elif has_address:
        comparisons.append(_address_comparison(present))
    if "dob" in present:
        comparisons.append(_date_of_birth_comparison())
    comparisons += [_identifier_comparison(column) for column in features if column.startswith("id_")]
    return comparisons


def _name_comparison(column: str, swapped_with: str | None, term_frequencies: bool) -> Any:
    """Exact (weighed by the name's frequency), two Jaro-Winkler levels, and, where the other name
    column exists, agreement with the other record's other name: forms and call centres swap first and
    last names (a quarter of the duplicates FEBRL4 misses without it are swaps)."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    exact = cll.ExactMatchLevel(column)
    if term_frequencies:
        exact = exact.configure(tf_adjustment_column=column, tf_adjustment_weight=1.0)
    levels = [
        cll.NullLevel(column),
        exact,
        # Two fuzzy levels rather than three: each level evaluates Jaro-Winkler again.
        cll.JaroWinklerLevel(column, 0.92),
        cll.JaroWinklerLevel(column, 0.8),
    ]
    if swapped_with:
        levels.append(
            cll.CustomLevel(
                f"{column}_l = {swapped_with}_r",
                f"{column} matches the other record's {swapped_with}",
            )
        )
    levels.append(cll.ElseLevel())
    return cl.CustomComparison(levels, output_column_name=column)


def _by_frequency(level: Any, column: str, term_frequencies: bool) -> Any:
    """Weigh an exact agreement on an identifier by how often that value occurs (term frequency).

    Why: u is estimated on a sample of a million random pairs, which cannot see rates below about
    1e-6; Splink then assumes 1e-6. Two records sharing an email are far rarer than that at a
    million records, and rarer the larger the data, while the prior of a match falls as 1/records.
    Without the value's own frequency, an exact email or phone is worth less and less as the data
    grows. The frequency table is exact and grows with the data.
    """
    if not term_frequencies:
        return level
    return level.configure(tf_adjustment_column=column, disable_tf_exact_match_detection=True)


def _one_substitution(column: str) -> str:
    return (
        f"CASE WHEN length({column}_l) = length({column}_r) "
        f"THEN hamming({column}_l, {column}_r) <= 1 ELSE false END"
    )


def _one_keying_error(column: str, max_length: int = 16) -> str:
    """One character mistyped or two adjacent characters swapped, in a short code typed by a person
    (a postcode, a social security or loyalty number). Damerau-Levenshtein costs more than Hamming, so
    it only runs on short values of equal length: machine identifiers (ad ids) are not mistyped."""
    return (
        f"CASE WHEN length({column}_l) = length({column}_r) AND length({column}_l) <= {max_length} "
        f"THEN damerau_levenshtein({column}_l, {column}_r) <= 1 ELSE false END"
    )


def _identifier_comparison(column: str) -> Any:
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    return cl.CustomComparison(
        [
            cll.NullLevel(column),
            cll.ExactMatchLevel(column),
            cll.CustomLevel(_one_keying_error(column), f"{column} one keying error apart"),
            cll.ElseLevel(),
        ],
        output_column_name=column,
    )


def _hash_comparison(name: str, fuzzy_sql: str | None, term_frequencies: bool) -> Any:
    """Exact on the hash (every input has it), then fuzzy on the cleartext where both sides have it."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    levels = [
        cll.CustomLevel(f"{name}_hash_l IS NULL OR {name}_hash_r IS NULL").configure(is_null_level=True),
        _by_frequency(
            cll.CustomLevel(f"{name}_hash_l = {name}_hash_r", f"{name} exact"),
            f"{name}_hash",
            term_frequencies,
        ),
    ]
    if fuzzy_sql:
        levels.append(cll.CustomLevel(fuzzy_sql, f"{name} one typo apart"))
    levels.append(cll.ElseLevel())
    return cl.CustomComparison(levels, output_column_name=name)


@dataclass(frozen=True)
class _Address:
    """SQL conditions over the address parts a model has (street, postcode, town)."""

    missing: str
    exact: str  # the same street in the same postcode (or whichever of them exists)
    close: str  # a street a typo apart in the same area
    area: str | None  # the same area without the street: postcode (exact or one keying error) or town
    postcode: str | None


def _address_conditions(present: set[str]) -> _Address:
    street, postcode, city = ("street" in present), ("postcode" in present), ("city" in present)
    missing = [f"({c}_l IS NULL OR {c}_r IS NULL)" for c in ("street", "postcode", "city") if c in present]
    postcode_same = f"(postcode_l = postcode_r OR {_one_keying_error('postcode')})" if postcode else None
    # The town is evidence of the area, never on its own terms: households share it with the address,
    # and as a comparison of its own it counted one shared address twice (precision fell 0.99 -> 0.90
    # on the generated CRM). Folded in here, it rescues a mistyped or missing postcode.
    town_same = "jaro_winkler_similarity(city_l, city_r) >= 0.92" if city else None
    area = " OR ".join(c for c in (postcode_same, town_same) if c) or None
    street_close = "jaro_winkler_similarity(street_l, street_r) >= 0.92"
    if street:
        exact = "(street_l = street_r AND postcode_l = postcode_r)" if postcode else "street_l = street_r"
        close = f"({street_close} AND ({area}))" if area else street_close
        area_level = f"({area})" if area else None
        postcode_level = "postcode_l = postcode_r" if postcode else None
    elif postcode:
        exact = "postcode_l = postcode_r"
        close = _one_keying_error("postcode")
        # A postcode off by more than a keying error, in the same town.
        area_level, postcode_level = town_same, None
    else:  # the town alone
        exact, close = "city_l = city_r", town_same
        area_level, postcode_level = None, None
    return _Address(
        missing=" AND ".join(missing), exact=exact, close=close, area=area_level, postcode=postcode_level
    )


def _address_comparison(present: set[str]) -> Any:
    """Street, postcode and town as one comparison: they move together, and separate comparisons
    would count one shared address several times (the household problem: same surname, same
    address, two people)."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    address = _address_conditions(present)
    levels = [
        cll.CustomLevel(address.missing).configure(is_null_level=True),
        cll.CustomLevel(address.exact, "address exact"),
        cll.CustomLevel(address.close, "street close, same area"),
    ]
    if address.postcode:
        levels.append(cll.CustomLevel(address.postcode, "postcode exact, street differs"))
    if address.area:
        levels.append(cll.CustomLevel(address.area, "same area, street differs"))
    levels.append(cll.ElseLevel())
    return cl.CustomComparison(levels, output_column_name="address")


def _contact_comparison(present: set[str], term_frequencies: bool) -> Any:
    """Phone and address as one comparison. Members of a household share both (and a surname): as
    separate comparisons a shared landline and a shared address would count as two independent
    coincidences, and link the household into one person. Agreeing on both is one level, whose
    u-probability random sampling measures on real households."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    address = _address_conditions(present)
    phone_missing = "(phone_hash_l IS NULL OR phone_hash_r IS NULL)"
    phone_exact = "phone_hash_l = phone_hash_r"
    levels = [
        cll.CustomLevel(f"{phone_missing} AND {address.missing}").configure(is_null_level=True),
        _by_frequency(
            cll.CustomLevel(f"{phone_exact} AND {address.exact}", "phone and address exact"),
            "phone_hash",
            term_frequencies,
        ),
        _by_frequency(
            cll.CustomLevel(phone_exact, "phone exact, address differs or missing"),
            "phone_hash",
            term_frequencies,
        ),
        cll.CustomLevel(
            f"{address.exact} OR {address.close}", "address exact or close, phone differs or missing"
        ),
    ]
    if "phone" in present:
        levels.append(cll.CustomLevel(_one_substitution("phone"), "phone one digit apart"))
    if address.postcode:
        levels.append(cll.CustomLevel(address.postcode, "postcode exact only"))
    if address.area:
        levels.append(cll.CustomLevel(address.area, "same area only"))
    levels.append(cll.ElseLevel())
    return cl.CustomComparison(levels, output_column_name="contact")


def _date_of_birth_comparison() -> Any:
    # The typical date-of-birth errors: day and month swapped, one part mistyped, a year off.
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    same = {part: f"{part}(dob_l) = {part}(dob_r)" for part in ("year", "month", "day")}
    return cl.CustomComparison(
        [
            cll.NullLevel("dob"),
            cll.ExactMatchLevel("dob"),
            cll.CustomLevel(
                f"{same['year']} AND month(dob_l) = day(dob_r) AND day(dob_l) = month(dob_r)",
                "day and month swapped",
            ),
            cll.CustomLevel(
                f"({same['year']} AND {same['month']}) OR ({same['year']} AND {same['day']}) "
                f"OR ({same['month']} AND {same['day']})",
                "one part differs",
            ),
            cll.CustomLevel("abs(date_diff('day', dob_l, dob_r)) <= 366", "within a year"),
            cll.ElseLevel(),
        ],
        output_column_name="dob",
    )


def comparison_columns(comparison: Any) -> set[str]:
    """The feature columns a comparison reads (to know which EM session can train it)."""
    name = (
        comparison.create_output_column_name() if hasattr(comparison, "create_output_column_name") else None
    )
    name = name or getattr(comparison, "output_column_name", None)
    if name in ("email", "phone"):
        return {name, f"{name}_hash"}
    if name == "address":
        return {"street", "postcode", "city"}
    if name == "contact":
        return {"phone", "phone_hash", "street", "postcode", "city"}
    return {name}


def candidate_blocking_rules(features: list[str]) -> list[tuple[str, ...]]:
    present = set(features)
    strong = [(column,) for column in ("email_hash", "phone_hash") if column in present]
    strong += [(column,) for column in features if column.startswith("id_")]
    weak = [pair for pair in WEAK_PAIRS if set(pair) <= present]
    if "full_name" in present and {"first_name", "last_name"} & present:
        weak = [pair for pair in weak if "full_name" not in pair]
    swapped = [SWAPPED_NAMES] if {"first_name", "last_name"} <= present else []
    return strong + weak + swapped


def count_comparisons(con: duckdb.DuckDBPyConnection, columns: tuple[str, ...]) -> int:
    """Pairs that the blocking rule on ``columns`` generates (nulls never block)."""
    if columns == SWAPPED_NAMES:
        return int(
            con.execute(
                f"SELECT count(*) FROM ml_input l JOIN ml_input r ON {SWAPPED_NAMES_SQL} AND l.unique_id < r.unique_id"
            ).fetchall()[0][0]
        )
    not_null = " AND ".join(f"{quote(c)} IS NOT NULL" for c in columns)
    keys = ", ".join(quote(c) for c in columns)
    return int(
        con.execute(
            f"SELECT coalesce(sum(n * (n - 1) / 2), 0) FROM "
            f"(SELECT count(*) AS n FROM ml_input WHERE {not_null} GROUP BY {keys})"
        ).fetchall()[0][0]
    )


def configure_model(con: duckdb.DuckDBPyConnection, features: list[str], options: MLOptions) -> Model:
    records = con.execute("SELECT count(*) FROM ml_input").fetchall()[0][0]
    budget = max(options.max_comparisons_per_record * records, options.min_comparison_budget)
    blocking, dropped = [], {}
    for rule in candidate_blocking_rules(features):
        pairs = count_comparisons(con, rule)
        if pairs > budget:
            dropped[rule_name(rule)] = pairs
        elif pairs > 0:
            blocking.append(rule)
    comparisons = _comparisons(features, options)
    return Model(comparisons, blocking, _training_rules(comparisons, blocking), dropped, features)


def _training_rules(comparisons: list[Any], blocking: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    # EM cannot learn a comparison from pairs blocked on its own columns: pick sessions until every
    # comparison has been trained by one. Person-level keys go first (an email or an identifier);
    # phone and address come last, because households share them: EM run on pairs blocked by a
    # shared phone learns that matches often have different first names, which they do not.
    household_keys = {"phone_hash", "street", "postcode"}
    ordered = sorted(blocking, key=lambda rule: bool(set(rule) & household_keys))
    untrained = [comparison_columns(c) for c in comparisons]
    sessions = []
    for rule in ordered:
        if rule == SWAPPED_NAMES:
            continue
        learnable = [columns for columns in untrained if not columns & set(rule)]
        if learnable:
            sessions.append(rule)
            untrained = [columns for columns in untrained if columns & set(rule)]
        if not untrained:
            break
    return sessions


# ---------------------------------------------------------------------------------------------
# Training and prediction


def _deterministic_rules(features: list[str]) -> list[tuple[str, ...]]:
    present = set(features)
    names = [c for c in ("first_name", "last_name") if c in present] or [
        c for c in ("full_name",) if c in present
    ]
    rules = []
    if names and "dob" in present:
        rules.append((*names, "dob"))
    rules += [(column,) for column in ("email_hash",) if column in present]
    if not rules and names:
        rules.append(tuple(names))
    return rules


def _blocking_rule(rule: tuple[str, ...]) -> Any:
    from splink.blocking_rule_library import CustomRule, block_on

    return CustomRule(SWAPPED_NAMES_SQL) if rule == SWAPPED_NAMES else block_on(*rule)


def rule_name(rule: tuple[str, ...]) -> str:
    return "first_name<->last_name" if rule == SWAPPED_NAMES else "+".join(rule)


def train_and_predict(
    con: duckdb.DuckDBPyConnection, model: Model, options: MLOptions, timings: dict[str, float]
) -> tuple[str, dict[str, Any]]:
    """Train the model and score the blocked pairs; returns the predictions table's name and the
    trained model (Splink's settings dictionary)."""
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    # Splink warns about levels unseen in a sample and about its own defaults; the run reports its own figures.
    logging.getLogger("splink").setLevel(logging.ERROR)
    started = time.perf_counter()
    db_api = DuckDBAPI(connection=con)
    table = db_api.register("ml_input")
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=model.comparisons,
        blocking_rules_to_generate_predictions=[_blocking_rule(rule) for rule in model.blocking_rules],
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )
    linker = Linker(table, settings, log_level=logging.WARNING)
    deterministic = [block_on(*rule) for rule in _deterministic_rules(model.features)]
    if deterministic:
        linker.training.estimate_probability_two_random_records_match(
            deterministic, recall=options.deterministic_recall
        )
    step = _stopwatch(timings, started)
    step("train_prior")
    # One chunk: the probe phase only stops early when every level was seen 100 times, which rare
    # levels (an exact phone among random pairs) never are, so chunks only add queries.
    linker.training.estimate_u_using_random_sampling(
        max_pairs=options.u_max_pairs, seed=options.seed, num_chunks=1
    )
    step("train_u")
    for rule in model.training_rules:
        linker.training.estimate_parameters_using_expectation_maximisation(
            block_on(*rule), estimate_without_term_frequencies=True, max_pairs=options.em_max_pairs
        )
    step("train_em")
    if deterministic:
        # The prior came from the deterministic rules with a guessed recall. The trained model knows
        # how often true matches agree exactly on each rule's columns: re-estimate with that recall.
        trained = linker.misc.save_model_to_json()
        recall = implied_recall(trained, _deterministic_rules(model.features))
        if recall is not None:
            linker.training.estimate_probability_two_random_records_match(deterministic, recall=recall)
        step("train_prior_from_model")
    trained = linker.misc.save_model_to_json()
    timings["train"] = time.perf_counter() - started
    started = time.perf_counter()
    floor = min(options.threshold, options.identifier_threshold)
    predictions = linker.inference.predict(threshold_match_probability=floor, warning_mode="never")
    timings["predict"] = time.perf_counter() - started
    return predictions.physical_name, trained


def implied_recall(model: dict[str, Any], rules: list[tuple[str, ...]]) -> float | None:
    """The share of true matches that at least one deterministic rule finds, by the trained model:
    a rule's recall is the product of the m-probabilities of exact agreement on its columns
    (conditional independence, as the model itself assumes); rules combine as independent chances.
    None when a rule's column has no trained exact level."""
    exact_m: dict[str, float] = {}
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            sql = level.get("sql_condition", "")
            m = level.get("m_probability")
            name = comparison["output_column_name"]
            if isinstance(m, float | int) and sql.replace('"', "") in (
                f"{name}_l = {name}_r",
                f"{name}_hash_l = {name}_hash_r",
            ):
                exact_m[f"{name}_hash" if "_hash_l" in sql else name] = float(m)
    missed = 1.0
    for rule in rules:
        if any(column not in exact_m for column in rule):
            return None
        missed *= 1.0 - math.prod(exact_m[column] for column in rule)
    recall = 1.0 - missed
    return min(max(recall, 0.05), 1.0)


def match_weights(model: dict[str, Any]) -> dict[str, dict[str, float]]:
    """log2(m/u) per comparison level of a trained model, for the run's report."""
    weights: dict[str, dict[str, float]] = {}
    for comparison in model["comparisons"]:
        levels = weights.setdefault(comparison["output_column_name"], {})
        for level in comparison["comparison_levels"]:
            m, u = level.get("m_probability"), level.get("u_probability")
            if isinstance(m, float | int) and isinstance(u, float | int) and m > 0 and u > 0:
                levels[level.get("label_for_charts") or level["sql_condition"]] = round(math.log2(m / u), 2)
    return weights


def _stopwatch(timings: dict[str, float], started: float):
    """A function that records the time since its previous call (or ``started``) under a name."""
    last = [started]

    def step(name: str) -> None:
        now = time.perf_counter()
        timings[name] = now - last[0]
        last[0] = now

    return step


# ---------------------------------------------------------------------------------------------
# Clustering that does not chain


def _identifier_columns(features: list[str], options: MLOptions) -> list[str]:
    return [c for c in features if c in options.identifier_features or c.startswith("id_")]


def _link_condition(identifiers: list[str], options: MLOptions) -> str:
    """Which scored pairs are links: above the threshold, or agreeing on an identifier and above the
    (lower) identifier threshold. An identifier's agreement is checked on its key (see
    ``_identifier_keys``): ``l.key_<i>`` and ``r.key_<i>`` for the i-th identifier.

    Why a lower bar for identifiers: u-probabilities come from random pairs, and for an identifier
    most random pairs that agree on it are true matches (the duplicates among them), so its u is
    about the matches' own rate and a lone exact email lands near even odds, whatever the data size.
    Subtracting the matches' share from u is right in expectation but too noisy at the rates a
    sample of a million pairs sees, and it also wipes out what households really share (a
    landline). So identifiers get the lower bar instead: an exact email links unless the other
    fields speak against it (see ``MLOptions.identifier_features`` for phones).
    """
    if not identifiers:
        return f"p.match_probability >= {options.threshold}"
    agree = " OR ".join(f"l.key_{i} = r.key_{i}" for i in range(len(identifiers)))
    return (
        f"p.match_probability >= {options.threshold} OR "
        f"(p.match_probability >= {options.identifier_threshold} AND ({agree}))"
    )


def _identifier_keys(con: duckdb.DuckDBPyConnection, identifiers: list[str]) -> None:
    """Create ``ml_ids`` (unique_id, key_0, key_1...): for every record with an identifier, each
    identifier's value as a number. Two records agree on an identifier exactly when their keys are
    equal.

    Hashes already are such numbers in ``ml_input`` (see ``build_features``); other identifiers get
    the smallest unique_id of the records with that value. Pairs are checked on these keys rather
    than on the values: the lookup table, built once per side of a pair, stays two BIGINTs a record."""
    types = dict(con.execute("SELECT column_name, column_type FROM (DESCRIBE ml_input)").fetchall())
    keys, joins = [], []
    for i, column in enumerate(identifiers):
        if types.get(column) in ("BIGINT", "INTEGER", "UBIGINT", "HUGEINT"):
            keys.append(f"i.{quote(column)} AS key_{i}")
            continue
        _key_table(con, f"ml_key_{i}", "ml_input", column)
        keys.append(f"k{i}.key AS key_{i}")
        joins.append(f"LEFT JOIN ml_key_{i} k{i} ON k{i}.value = i.{quote(column)}")
    present = " OR ".join(f"i.{quote(c)} IS NOT NULL" for c in identifiers)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE ml_ids AS SELECT i.unique_id, {', '.join(keys)} "
        f"FROM ml_input i {' '.join(joins)} WHERE {present}"
    )
    for i in range(len(identifiers)):
        con.execute(f"DROP TABLE IF EXISTS ml_key_{i}")


def cluster_without_chaining(
    con: duckdb.DuckDBPyConnection,
    predictions: str,
    options: MLOptions,
    features: list[str],
    *,
    drop_splink_tables: bool = False,
) -> dict[str, Any]:
    """Create ``ml_clusters`` (node, label) for linked records, and return the clustering figures.

    Leaves ``ml_edges`` (a, b, p): the links, one row a pair (Splink scores each pair once). With
    ``drop_splink_tables``, Splink's tables (the predictions among them) are dropped once the links
    are taken from them: clustering then has DuckDB's memory to itself."""
    identifiers = _identifier_columns(features, options)
    if identifiers:
        _identifier_keys(con, identifiers)
        joins = "LEFT JOIN ml_ids l ON l.unique_id = p.unique_id_l LEFT JOIN ml_ids r ON r.unique_id = p.unique_id_r"
    else:
        joins = ""
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE ml_edges AS
        SELECT p.unique_id_l::BIGINT AS a, p.unique_id_r::BIGINT AS b, p.match_probability AS p
        FROM {predictions} p {joins}
        WHERE {_link_condition(identifiers, options)}
        """
    )
    con.execute("DROP TABLE IF EXISTS ml_ids")
    if drop_splink_tables:
        _drop_splink_tables(con)
    con.execute("CREATE OR REPLACE TEMP TABLE ml_clusters (node BIGINT, label BIGINT)")
    # Level 0.0 is every link; then ever stricter thresholds for what is still too large.
    levels = [0.0, *[t for t in options.escalation if t > options.threshold]]
    split_at: list[float | str] = []
    oversize = 0
    for level in levels:
        # At the first level every record with a link is pending: no need to list them first.
        edges = "SELECT a, b FROM ml_edges" if level == 0.0 else _edges_among_pending_sql(level)
        oversize = _cluster_pending(con, edges, options.max_cluster_size, all_pending=level == 0.0)
        if oversize == 0:
            break
        split_at.append(level if level else "links")
    if oversize:
        # Still too large at the strictest level: keep each record's single best link only, and
        # if that still chains, only links that are the best of both their records (components of
        # at most two records). The clusters cut this way are reported.
        split_at.append("best_link")
        oversize = _cluster_pending(con, _best_link_sql(levels[-1], mutual=False), options.max_cluster_size)
    if oversize:
        split_at.append("mutual_best_link")
        _cluster_pending(
            con, _best_link_sql(levels[-1], mutual=True), options.max_cluster_size, finalize_all=True
        )
    con.execute("DROP TABLE IF EXISTS ml_pending")
    largest = con.execute(
        "SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM ml_clusters GROUP BY label)"
    ).fetchall()[0][0]
    return {
        "links": int(con.execute("SELECT count(*) FROM ml_edges").fetchall()[0][0]),
        "oversize_split_at": split_at,
        "largest_cluster": int(largest),
    }


def _drop_splink_tables(con: duckdb.DuckDBPyConnection) -> None:
    tables = con.execute(
        "SELECT database_name, schema_name, table_name FROM duckdb_tables() "
        "WHERE starts_with(table_name, '__splink__')"
    ).fetchall()
    for database, schema, table in tables:
        con.execute(f"DROP TABLE IF EXISTS {quote(database)}.{quote(schema)}.{quote(table)}")


def _edges_among_pending_sql(level: float) -> str:
    return (
        "SELECT e.a, e.b FROM ml_edges e "
        "SEMI JOIN ml_pending pa ON pa.node = e.a SEMI JOIN ml_pending pb ON pb.node = e.b "
        f"WHERE e.p >= {level}"
    )


def _best_link_sql(level: float, mutual: bool) -> str:
    ranked = f"""
        SELECT node, other, row_number() OVER (PARTITION BY node ORDER BY p DESC, other) AS rank
        FROM (SELECT a AS node, b AS other, p FROM ml_edges UNION ALL SELECT b, a, p FROM ml_edges)
        WHERE p >= {level} AND node IN (SELECT node FROM ml_pending) AND other IN (SELECT node FROM ml_pending)
    """
    if not mutual:
        return f"SELECT node AS a, other AS b FROM ({ranked}) WHERE rank = 1"
    return f"""
        WITH best AS (SELECT node, other FROM ({ranked}) WHERE rank = 1)
        SELECT x.node AS a, x.other AS b FROM best x JOIN best y ON y.node = x.other AND y.other = x.node
    """


def _cluster_pending(
    con: duckdb.DuckDBPyConnection,
    edges_sql: str,
    max_size: int,
    finalize_all: bool = False,
    all_pending: bool = False,
) -> int:
    """Cluster the pending records on ``edges_sql``; clusters within ``max_size`` (or all, with
    ``finalize_all``) become final, the rest stay pending in ``ml_pending``. With ``all_pending``,
    the pending records are the nodes of ``edges_sql`` (``ml_pending`` is not read). Returns the
    number of oversize clusters."""
    connected_components(con, edges_sql, "ml_round")
    if not all_pending:
        # Pending records with no edge at this level are clusters of their own.
        con.execute(
            """
            CREATE OR REPLACE TEMP TABLE ml_round AS
            SELECT p.node, coalesce(r.label, p.node) AS label
            FROM ml_pending p LEFT JOIN ml_round r USING (node)
            """
        )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE ml_round_sizes AS SELECT label, count(*) AS size FROM ml_round GROUP BY label"
    )
    oversize = con.execute(f"SELECT count(*) FROM ml_round_sizes WHERE size > {max_size}").fetchall()[0][0]
    if finalize_all or oversize == 0:
        con.execute("INSERT INTO ml_clusters SELECT node, label FROM ml_round")
        con.execute("CREATE OR REPLACE TEMP TABLE ml_pending (node BIGINT)")
    else:
        # The oversize clusters are few: keep their labels aside and split ml_round by them.
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE ml_oversize AS SELECT label FROM ml_round_sizes WHERE size > {max_size}"
        )
        con.execute(
            "INSERT INTO ml_clusters SELECT r.node, r.label FROM ml_round r ANTI JOIN ml_oversize o USING (label)"
        )
        con.execute(
            "CREATE OR REPLACE TEMP TABLE ml_pending AS SELECT r.node FROM ml_round r SEMI JOIN ml_oversize o USING (label)"
        )
        con.execute("DROP TABLE ml_oversize")
    for table in ("ml_round", "ml_round_sizes"):
        con.execute(f"DROP TABLE {table}")
    return int(oversize)


def assign_ml_clusters(con: duckdb.DuckDBPyConnection) -> None:
    """Create ``er_assign`` (rid, cluster, ConfidenceLevel) for every record."""
    # One pass over the links: each link inside a cluster counts for both of its records.
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE er_assign AS
        WITH inside AS (
            SELECT node, max(p) AS confidence FROM (
                SELECT unnest([e.a, e.b]) AS node, e.p FROM ml_edges e
                JOIN ml_clusters ca ON ca.node = e.a JOIN ml_clusters cb ON cb.node = e.b
                WHERE ca.label = cb.label
            ) GROUP BY node
        )
        SELECT r.rid, r.source_no, r.record_id, coalesce(c.label, r.rid) AS cluster,
               c.label IS NOT NULL AND i.confidence IS NOT NULL AS linked, round(i.confidence, 6) AS ConfidenceLevel
        FROM er_records r
        LEFT JOIN ml_clusters c ON c.node = r.rid
        LEFT JOIN inside i ON i.node = r.rid
        """
    )


def configure_connection(con: duckdb.DuckDBPyConnection, options: MLOptions) -> None:
    if options.threads:
        con.execute(f"SET threads = {int(options.threads)}")
    if options.memory_limit:
        con.execute(f"SET memory_limit = {literal(options.memory_limit)}")


def match_probabilistically(
    con: duckdb.DuckDBPyConnection, prepared: PreparedInputs, options: MLOptions, timings: dict[str, float]
) -> dict[str, Any]:
    """Features, model, training, prediction and clustering; leaves ``er_assign`` on ``con``."""
    started = time.perf_counter()
    features = build_features(con, prepared)
    model = configure_model(con, features, options)
    if not model.blocking_rules:
        raise MatchingConfigError(
            prepared.workflow.origin,
            "inputSourceConfig",
            "ML matching found nothing to compare: no input's schema mapping has a name, email, phone, "
            "address, date or identifier field with values that two records share",
        )
    timings["features"] = time.perf_counter() - started
    predictions, trained = train_and_predict(con, model, options, timings)
    started = time.perf_counter()
    scored = int(con.execute(f"SELECT count(*) FROM {predictions}").fetchall()[0][0])
    figures = cluster_without_chaining(con, predictions, options, features, drop_splink_tables=True)
    assign_ml_clusters(con)
    timings["cluster"] = time.perf_counter() - started
    figures.update(
        {
            "features": features,
            "blocking_rules": [rule_name(rule) for rule in model.blocking_rules],
            "training_rules": [rule_name(rule) for rule in model.training_rules],
            "dropped_blocking_rules": model.dropped_rules,
            "predictions": scored,
            "prior_match_probability": trained["probability_two_random_records_match"],
            "match_weights": match_weights(trained),
        }
    )
    return figures
