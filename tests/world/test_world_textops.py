"""The vectorized text builders give what Python's own formatting gives."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import numpy as np

from adplan.world.textops import (
    decimal_digits,
    ids,
    iso_dates,
    iso_timestamps,
    scramble,
    splitmix64,
    strings_from_matrix,
    uuid_matrix,
)


def test_ids_and_digits():
    assert ids("C", np.array([1, 42, 99_999_999]), 8).to_pylist() == ["C00000001", "C00000042", "C99999999"]
    assert ids("I", np.arange(9_998, 10_002), 10).to_pylist() == [f"I{n:010d}" for n in range(9_998, 10_002)]
    numbers = np.random.default_rng(1).integers(0, 10**7, 1000)
    assert strings_from_matrix(decimal_digits(numbers, 7)).to_pylist() == [f"{n:07d}" for n in numbers]


def test_dates_and_timestamps_match_python():
    days = np.arange(-800, 30_000, 7)
    assert iso_dates(days).to_pylist() == [
        (date(1970, 1, 1) + timedelta(days=int(d))).isoformat() for d in days
    ]
    seconds = np.random.default_rng(2).integers(0, 2_000_000_000, 2000)
    expected = [datetime.fromtimestamp(int(s), UTC).strftime("%Y-%m-%dT%H:%M:%SZ") for s in seconds]
    assert iso_timestamps(seconds).to_pylist() == expected


def test_uuids_are_valid_and_distinct():
    key = np.arange(5000, dtype=np.uint64)
    texts = strings_from_matrix(uuid_matrix(splitmix64(key), splitmix64(key ^ np.uint64(99)))).to_pylist()
    assert len(set(texts)) == len(texts)
    assert all(uuid.UUID(text).version == 4 for text in texts)


def test_scramble_is_a_bijection():
    values = scramble(np.arange(10_000), 10_000, salt=11)
    assert sorted(values.tolist()) == list(range(10_000))
    assert not np.array_equal(values, np.arange(10_000))
