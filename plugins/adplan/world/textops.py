"""Vectorized text building: ids, hex, UUIDs, ISO dates and timestamps, joins and SHA-256, over arrays.

Fixed-width values (ids, hashes, dates, timestamps) are built as a ``(rows, width)`` byte matrix in numpy
and handed to Arrow as one string buffer, which is far faster than formatting row by row. Variable text
is joined with Arrow compute kernels.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_HEX_DIGITS = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_ZERO = ord("0")
_DIGIT_PAIRS = np.array(
    [[_ZERO + tens, _ZERO + ones] for tens in range(10) for ones in range(10)], dtype=np.uint8
)
SECONDS_PER_DAY = 86_400

# ------------------------------------------------------------------------------------ byte matrices


def strings_from_matrix(matrix: np.ndarray, valid: np.ndarray | None = None) -> pa.StringArray:
    """Each row of a ``(rows, width)`` uint8 matrix of ASCII bytes as one string; null where not ``valid``."""
    if valid is None:
        return _string_array(np.ascontiguousarray(matrix, dtype=np.uint8), None, matrix.shape[1])
    valid = np.asarray(valid, dtype=bool)
    return _string_array(np.ascontiguousarray(matrix[valid], dtype=np.uint8), valid, matrix.shape[1])


def gather_strings(matrix: np.ndarray, index: np.ndarray, valid: np.ndarray) -> pa.StringArray:
    """``matrix[index]`` rows as strings, null where not ``valid`` (only valid rows are gathered)."""
    valid = np.asarray(valid, dtype=bool)
    return _string_array(matrix[index[valid]], valid, matrix.shape[1])


def _string_array(data: np.ndarray, valid: np.ndarray | None, width: int) -> pa.StringArray:
    """A string array over fixed-width text: ``data`` holds the valid rows' bytes, in order."""
    rows = len(data) if valid is None else len(valid)
    if len(data) * width >= 2**31:
        raise ValueError("too much text for one string array; use smaller chunks")
    if valid is None:
        offsets = np.arange(0, (rows + 1) * width, width, dtype=np.int32)
        return pa.Array.from_buffers(pa.string(), rows, [None, pa.py_buffer(offsets), pa.py_buffer(data)])
    # Null rows take no bytes: offsets advance only over valid rows.
    offsets = np.zeros(rows + 1, dtype=np.int32)
    np.cumsum(np.where(valid, width, 0), out=offsets[1:])
    validity = pa.py_buffer(np.packbits(valid, bitorder="little"))
    nulls = int(rows - len(data))
    return pa.Array.from_buffers(
        pa.string(), rows, [validity, pa.py_buffer(offsets), pa.py_buffer(data)], null_count=nulls
    )


def literal(text: str, rows: int) -> np.ndarray:
    """A ``(rows, len(text))`` matrix repeating one ASCII text."""
    return np.broadcast_to(np.frombuffer(text.encode("ascii"), dtype=np.uint8), (rows, len(text)))


def decimal_digits(numbers: np.ndarray, width: int) -> np.ndarray:
    """Zero-padded decimal digits of non-negative integers as a ``(rows, width)`` byte matrix.

    Two digits per division, from a table of "00".."99" (integer division is the slow part).
    """
    remaining = np.array(numbers, dtype=np.int64, copy=True)
    out = np.empty((len(remaining), width), dtype=np.uint8)
    column = width
    while column >= 2:
        remaining, pair = np.divmod(remaining, 100)
        out[:, column - 2 : column] = _DIGIT_PAIRS[pair]
        column -= 2
    if column:
        out[:, 0] = remaining % 10 + _ZERO
    return out


def hex_digits(values: np.ndarray, width: int = 16) -> np.ndarray:
    """Lowercase hex digits of uint64 values (the low ``width`` nibbles) as a byte matrix."""
    values = np.asarray(values, dtype=np.uint64)
    shifts = np.arange(4 * (width - 1), -1, -4, dtype=np.uint64)
    return _HEX_DIGITS[((values[:, None] >> shifts) & np.uint64(15)).astype(np.intp)]


def concat(*parts: np.ndarray) -> pa.StringArray:
    """Byte matrices (or literals) side by side, as strings."""
    return strings_from_matrix(np.hstack(parts))


def ids(prefix: str, numbers: np.ndarray, width: int) -> pa.StringArray:
    """Record ids like ``C00000042``: a prefix and a zero-padded number."""
    numbers = np.asarray(numbers, dtype=np.int64)
    if len(numbers) and int(numbers.max()) >= 10**width:
        raise ValueError(f"{prefix} ids overflow {width} digits")
    return concat(literal(prefix, len(numbers)), _number_digits(numbers, width))


def _number_digits(numbers: np.ndarray, width: int) -> np.ndarray:
    """``decimal_digits`` for runs of nearby numbers (ids): the high digits are rendered once per value."""
    if width <= 4 or len(numbers) == 0:
        return decimal_digits(numbers, width)
    high, low = np.divmod(numbers, 10_000)
    first = int(high.min())
    high_table = decimal_digits(np.arange(first, int(high.max()) + 1), width - 4)
    return np.hstack([high_table[high - first], _four_digits()[low]])


@functools.cache
def _four_digits() -> np.ndarray:
    return decimal_digits(np.arange(10_000), 4)


def uuid_matrix(high: np.ndarray, low: np.ndarray) -> np.ndarray:
    """UUID-shaped lowercase text (version 4 layout) from two uint64 halves, as a ``(rows, 36)`` matrix.

    Every hex digit of ``high`` is kept, so distinct ``high`` values give distinct UUIDs.
    """
    rows = len(high)
    hi = hex_digits(high)
    lo = hex_digits(low)
    dash = literal("-", rows)
    variant = _HEX_DIGITS[8 + (np.asarray(low, dtype=np.uint64) >> np.uint64(62)).astype(np.intp)][:, None]
    return np.hstack(
        [hi[:, :8], dash, hi[:, 8:12], dash, literal("4", rows), lo[:, :3], dash, variant, lo[:, 3:6], dash,
         hi[:, 12:16], lo[:, 6:14]]
    )  # fmt: skip


# --------------------------------------------------------------------------------- dates and times


def civil_from_days(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(year, month, day) of days since 1970-01-01 (Howard Hinnant's civil_from_days, vectorized)."""
    z = np.asarray(days, dtype=np.int64) + 719_468
    era = np.floor_divide(z, 146_097)
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = np.where(mp < 10, mp + 3, mp - 9)
    year = yoe + era * 400 + (month <= 2)
    return year, month, day


def _date_matrix(days: np.ndarray) -> np.ndarray:
    """``YYYY-MM-DD`` bytes for days since 1970-01-01, rendered once per distinct day in the range."""
    days = np.asarray(days, dtype=np.int64)
    if len(days) == 0:
        return np.zeros((0, 10), dtype=np.uint8)
    first = int(days.min())
    span = np.arange(first, int(days.max()) + 1)
    year, month, day = civil_from_days(span)
    dash = literal("-", len(span))
    table = np.hstack([decimal_digits(year, 4), dash, decimal_digits(month, 2), dash, decimal_digits(day, 2)])
    return table[days - first]


def iso_dates(days: np.ndarray) -> pa.StringArray:
    """``YYYY-MM-DD`` for days since 1970-01-01."""
    return strings_from_matrix(_date_matrix(days))


@functools.cache
def _clock_table() -> np.ndarray:
    """``HH:MM:SS`` bytes for every second of a day."""
    second = np.arange(SECONDS_PER_DAY)
    colon = literal(":", SECONDS_PER_DAY)
    return np.hstack(
        [
            decimal_digits(second // 3600, 2),
            colon,
            decimal_digits(second // 60 % 60, 2),
            colon,
            decimal_digits(second % 60, 2),
        ]
    )


def iso_timestamps(seconds: np.ndarray) -> pa.StringArray:
    """``YYYY-MM-DDTHH:MM:SSZ`` for seconds since the epoch (UTC)."""
    days, second_of_day = np.divmod(np.asarray(seconds, dtype=np.int64), SECONDS_PER_DAY)
    rows = len(days)
    return concat(_date_matrix(days), literal("T", rows), _clock_table()[second_of_day], literal("Z", rows))


# ------------------------------------------------------------------------------------- variable text


def join(*parts: pa.Array | str, sep: str = "") -> pa.Array:
    """Element-wise concatenation; null parts are skipped (so optional words leave no double spaces)."""
    return pc.binary_join_element_wise(*parts, sep, null_handling="skip")


def pick(vocabulary: Sequence[str] | pa.Array, index: np.ndarray) -> pa.Array:
    """``vocabulary[index]`` for every row (a byte-matrix gather when the words have one ASCII length)."""
    index = np.asarray(index, dtype=np.int64)
    if not isinstance(vocabulary, pa.Array):
        words = tuple(vocabulary)
        if len(index) > 1000 and _same_width_ascii(words):
            return strings_from_matrix(_word_matrix(words)[index])
        vocabulary = pa.array(words, pa.string())
    return vocabulary.take(pa.array(index))


@functools.lru_cache(maxsize=256)
def _same_width_ascii(words: tuple[str, ...]) -> bool:
    return bool(words) and all(word.isascii() for word in words) and len({len(word) for word in words}) == 1


@functools.lru_cache(maxsize=256)
def _word_matrix(words: tuple[str, ...]) -> np.ndarray:
    return np.frombuffer("".join(words).encode("ascii"), dtype=np.uint8).reshape(len(words), len(words[0]))


def choose(which: np.ndarray, options: Sequence[pa.Array]) -> pa.Array:
    """Row i takes ``options[which[i]][i]``."""
    return pc.choose(pa.array(np.asarray(which, dtype=np.int8)), *options)


def where(mask: np.ndarray, when_true: pa.Array | str | None, otherwise: pa.Array | str | None) -> pa.Array:
    """Row-wise ``when_true if mask else otherwise``; a None branch means null."""
    mask_array = pa.array(np.asarray(mask, dtype=bool))
    return pc.if_else(mask_array, _as_value(when_true), _as_value(otherwise))


def null_where(mask: np.ndarray, values: pa.Array) -> pa.Array:
    """``values`` with the rows under ``mask`` set to null (a missing value in the delivered file)."""
    return where(mask, None, values)


def joined_flags(flags: np.ndarray, words: Sequence[str], sep: str = ";") -> tuple[pa.Array, np.ndarray]:
    """Per row of a (rows, words) bool matrix, the flagged words joined by ``sep``; and which rows have none."""
    row, column = np.nonzero(flags)  # row-major: each row's words in vocabulary order
    counts = np.bincount(row, minlength=len(flags))
    offsets = np.zeros(len(flags) + 1, dtype=np.int32)
    np.cumsum(counts, out=offsets[1:])
    lists = pa.ListArray.from_arrays(pa.array(offsets), pick(words, column))
    return pc.binary_join(lists, sep), counts == 0


def numbers_text(numbers: np.ndarray) -> pa.Array:
    """Integers as plain decimal text (no padding)."""
    return pa.array(np.asarray(numbers, dtype=np.int64)).cast(pa.string())


def _as_value(value: pa.Array | str | None) -> pa.Array | pa.Scalar:
    if value is None:
        return pa.scalar(None, pa.string())
    if isinstance(value, str):
        return pa.scalar(value, pa.string())
    return value


# --------------------------------------------------------------------------------------------- hashing


def sha256_hex(values: pa.Array) -> pa.Array:
    """Lowercase hex SHA-256 of each UTF-8 value (null stays null), computed by DuckDB's vectorized sha256."""
    digest_input = pa.table({"value": values})  # noqa: F841 - DuckDB reads the local variable by name
    result = _hashing_connection().sql("SELECT sha256(value) AS digest FROM digest_input").to_arrow_table()
    return result.column(0).combine_chunks().cast(pa.string())


@functools.cache
def _hashing_connection() -> duckdb.DuckDBPyConnection:
    # One in-memory connection for the process: opening one per call costs more than hashing a chunk.
    return duckdb.connect()


# ---------------------------------------------------------------------------------------- id scramblers

_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def splitmix64(values: np.ndarray) -> np.ndarray:
    """SplitMix64's finalizer: a bijection of uint64, so distinct inputs give distinct random-looking ids."""
    with np.errstate(over="ignore"):
        z = np.asarray(values, dtype=np.uint64) + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return (z ^ (z >> np.uint64(31))) & _MASK64


def scramble(values: np.ndarray, modulus: int, salt: int) -> np.ndarray:
    """An affine bijection of ``[0, modulus)``: distinct values stay distinct but no longer look sequential.

    Used for the digits that keep emails and phone numbers unique per person.
    """
    multiplier = _coprime_multiplier(modulus, salt)
    offset = (salt * 7_919) % modulus
    values = np.asarray(values, dtype=np.int64) % modulus
    # Python ints in the product would be exact; int64 is enough while modulus * multiplier < 2**63.
    if modulus * multiplier >= 2**63:
        raise ValueError("scramble modulus too large")
    return (values * multiplier + offset) % modulus


def _coprime_multiplier(modulus: int, salt: int) -> int:
    candidate = 1 + (2_654_435_761 + 40_503 * salt) % max(modulus - 1, 1)
    while np.gcd(candidate, modulus) != 1:
        candidate += 1
    return candidate
