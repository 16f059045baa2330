"""Malformed rows: spoilt copies of good rows, inserted among them, ~0.5% of every source.

Each kind a source can have gets an equal share (at least one row per part, except in tiny parts where
that would reject too much): a date that is not a date, an email that is not an address (or a hash
that is not a SHA-256), a row with a field too many or too few, a field with bytes that are not UTF-8,
a number that is not a number, a row without its id. A malformed row is an extra row (a copy of a good
one, spoilt), so the good data stays complete and its ids stay unique; the copy's id repeats the good
row's, except in ``missing_id`` rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from adplan.world.csvout import render_csv
from adplan.world.schema import (
    BAD_DATE,
    BROKEN_EMAIL,
    INVALID_UTF8,
    MISSING_ID,
    NON_NUMERIC,
    REFERENCE_SOURCES,
    ROLES,
    WRONG_COLUMN_COUNT,
)

BAD_DATES = ("2026-02-30", "2025-13-01", "0000-00-00", "31/12/2025", "yesterday", "2025-11-31")
BAD_TIMESTAMPS = (
    "2026-02-30T10:00:00Z",
    "2025-11-31T25:61:00Z",
    "not-a-time",
    "2025-13-01T00:00:00Z",
    "1700000000",
    "2025/11/03 10:00",
)
BAD_BIRTH_DATES = ("1985-13-07", "00/00/0000", "32 Mar 1985", "unknown", "19851307", "7 Smarch 1985")
BROKEN_EMAILS = (
    "john@@example.com",
    "mary.smith@",
    "@gmail.com",
    "no-at-sign.gmail.com",
    "jane doe@gmail.com",
    "bob@gmail..com",
    "alice@gmail",
)
BROKEN_HASHES = (
    "not-a-hash",
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85",  # 63 digits
    "zz" + "0" * 62,
    "sha256:e3b0c44298fc1c149afbf4c8996fb924",
)
NON_NUMBERS = ("N/A", "$12.50", "12,50", "abc", "1.2.3", "--", "12O")
# Encoding junk: a Latin-1 é, a byte-order mark read as Latin-1, a broken two-byte sequence, a lone
# continuation byte. None of them is valid UTF-8 where it stands.
JUNK_BYTES = (b"\xe9", b"\xff\xfe", b"\xc3\x28", b"\x80")
_MARKER = "~~junk~~"
SMALL_PART_CAP = 0.04
SMALL_PART_ROWS = 100


@dataclass(frozen=True)
class Malformed:
    """Malformed rows for one part: line i goes right before good row ``positions[i]``."""

    positions: np.ndarray  # sorted, in 0..rows (rows = after the last good row)
    lines: list[bytes]  # each a CSV record ending in a newline
    kinds: list[str]
    columns: list[str | None]  # the spoilt column (None for wrong column counts)
    copied_rows: np.ndarray  # the good row each one copies

    def __len__(self) -> int:
        return len(self.lines)

    def line_numbers(self) -> np.ndarray:
        """1-based line numbers in the written file (the header is line 1)."""
        return 2 + self.positions + np.arange(len(self.positions))


def no_malformed() -> Malformed:
    empty = np.zeros(0, dtype=np.int64)
    return Malformed(empty, [], [], [], empty)


def make_malformed(rng: np.random.Generator, source: str, table: pa.Table, share: float) -> Malformed:
    rows = table.num_rows
    if rows == 0 or share <= 0:
        return no_malformed()
    kinds = ROLES[source].kinds()
    kind_of = _kinds_of_rows(rng, source, rows, share, len(kinds))
    count = len(kind_of)
    copied = rng.integers(0, rows, count)
    positions = np.sort(rng.integers(0, rows + 1, count))
    copies = _as_text(table.take(pa.array(copied)))
    lines: list[bytes] = [b""] * count
    columns: list[str | None] = [None] * count
    for kind_index, kind in enumerate(kinds):
        members = np.flatnonzero(kind_of == kind_index)
        spoilt, column_names = _spoil(rng, source, kind, copies.take(pa.array(members)))
        for member, line, column in zip(members, spoilt, column_names, strict=True):
            lines[member] = line
            columns[member] = column
    return Malformed(
        positions=positions,
        lines=lines,
        kinds=[kinds[index] for index in kind_of],
        columns=columns,
        copied_rows=copied,
    )


def _kinds_of_rows(rng: np.random.Generator, source: str, rows: int, share: float, kinds: int) -> np.ndarray:
    """Which kind each malformed row of a part is, in random order: ``share`` of the rows, split evenly.

    Every kind gets at least one row. In a tiny part of a people-driven source that would reject too much
    (the hygiene stage fails a night above 5%, judging small files as if they had 100 rows): there some
    kinds, drawn at random, are left out so that at most 4% are malformed.
    """
    per_kind = max(1, round(rows * share / kinds))
    kind_of = np.repeat(np.arange(kinds), per_kind)
    budget = max(1, int(SMALL_PART_CAP * max(rows, SMALL_PART_ROWS)))
    if source not in REFERENCE_SOURCES and len(kind_of) > budget:
        kind_of = np.sort(rng.permutation(kinds)[:budget])
    rng.shuffle(kind_of)
    return kind_of


def _spoil(
    rng: np.random.Generator, source: str, kind: str, rows: pa.Table
) -> tuple[list[bytes], list[str | None]]:
    """CSV lines of ``rows`` spoilt one way, and the column spoilt in each."""
    roles = ROLES[source]
    count = rows.num_rows
    if kind == WRONG_COLUMN_COUNT:
        return _wrong_column_counts(rng, rows), [None] * count
    if kind == MISSING_ID:
        index = rows.schema.get_field_index(roles.id_column)
        return _render(rows.set_column(index, roles.id_column, pa.nulls(count, pa.string()))), [
            roles.id_column
        ] * count
    if kind == INVALID_UTF8:
        index = rows.schema.get_field_index(roles.text_column)
        marked = pc.binary_join_element_wise(pc.fill_null(rows.column(index), ""), _MARKER, "")
        lines = _render(rows.set_column(index, roles.text_column, marked))
        junk = [JUNK_BYTES[i] for i in rng.integers(0, len(JUNK_BYTES), count)]
        spoilt = [line.replace(_MARKER.encode(), bad) for line, bad in zip(lines, junk, strict=True)]
        return spoilt, [roles.text_column] * count
    candidates, values = _candidates(source, kind)
    chosen = rng.integers(0, len(candidates), count)
    variant = rng.integers(0, 1000, count)
    for candidate, name in enumerate(candidates):
        mask = chosen == candidate
        if not mask.any():
            continue
        options = np.array(values[name], dtype=object)
        replacement = pa.array(options[variant % len(options)].tolist(), pa.string())
        index = rows.schema.get_field_index(name)
        rows = rows.set_column(index, name, pc.if_else(pa.array(mask), replacement, rows.column(index)))
    return _render(rows), [candidates[candidate] for candidate in chosen]


def _candidates(source: str, kind: str) -> tuple[list[str], dict[str, tuple[str, ...]]]:
    roles = ROLES[source]
    if kind == BAD_DATE:
        values = {name: BAD_DATES for name in roles.dates}
        values |= {name: BAD_TIMESTAMPS for name in roles.timestamps}
        values |= {name: BAD_BIRTH_DATES for name in roles.birth_dates}
    elif kind == BROKEN_EMAIL:
        values = {name: BROKEN_EMAILS for name in roles.emails} | {
            name: BROKEN_HASHES for name in roles.email_hashes
        }
    elif kind == NON_NUMERIC:
        values = {name: NON_NUMBERS for name in roles.numbers}
    else:
        raise ValueError(f"unknown malformed kind {kind!r}")
    return list(values), values


def _wrong_column_counts(rng: np.random.Generator, rows: pa.Table) -> list[bytes]:
    """Half the rows lose their last field, half get one field too many."""
    extra = rng.random(rows.num_rows) < 0.5
    fewer = _render(rows.drop_columns([rows.column_names[-1]]))
    more = _render(rows.append_column("extra", pa.array(["extra"] * rows.num_rows)))
    return [m if is_extra else f for f, m, is_extra in zip(fewer, more, extra, strict=True)]


def _as_text(table: pa.Table) -> pa.Table:
    return pa.table({name: table.column(name).cast(pa.string()) for name in table.column_names})


def _render(table: pa.Table) -> list[bytes]:
    text = render_csv(table).to_pybytes()
    return [line + b"\n" for line in text.split(b"\n")[:-1]]
