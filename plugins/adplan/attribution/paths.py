"""Aggregated customer paths, encoded for vectorized models.

The exchange format is ChannelAttribution's: one row per distinct path ``"a > b > c"`` with
``total_conversions``, ``total_conversion_value`` and ``total_null`` (journeys on that path that did
not convert). In memory a :class:`PathSet` keeps every path's channels as integer codes in one flat
array with offsets, so models never split strings or loop over paths in Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

PATH = "path"
CONVERSIONS = "total_conversions"
VALUE = "total_conversion_value"
NULLS = "total_null"

# The columns every attribution result shares (the ``attribution_credits`` table).
CREDIT_COLUMNS = ["model", "channel", "campaign_id", "conversions", "value"]


@dataclass(frozen=True)
class PathSet:
    """Aggregated paths: ``codes[offsets[i]:offsets[i+1]]`` are path i's channels, in time order."""

    channels: np.ndarray  # channel names; a code indexes this array
    codes: np.ndarray  # int32, all paths' channel codes concatenated
    offsets: np.ndarray  # int64, n_paths + 1
    conversions: np.ndarray  # float64 per path
    value: np.ndarray  # float64 per path
    nulls: np.ndarray  # float64 per path

    @property
    def n_paths(self) -> int:
        return len(self.offsets) - 1

    @property
    def n_channels(self) -> int:
        return len(self.channels)

    @cached_property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    @cached_property
    def path_of_touch(self) -> np.ndarray:
        """For every entry of ``codes``, the index of its path."""
        return np.repeat(np.arange(self.n_paths), self.lengths)

    @cached_property
    def position(self) -> np.ndarray:
        """For every entry of ``codes``, its 0-based position in its path."""
        return np.arange(len(self.codes)) - self.offsets[:-1][self.path_of_touch]

    @property
    def total_conversions(self) -> float:
        return float(self.conversions.sum())

    @property
    def total_value(self) -> float:
        return float(self.value.sum())

    def channel_code(self, name: str) -> int | None:
        hits = np.flatnonzero(self.channels == name)
        return int(hits[0]) if len(hits) else None

    def to_frame(self, sep: str = " > ") -> pd.DataFrame:
        names = self.channels[self.codes].astype(str)
        paths = [sep.join(names[a:b]) for a, b in zip(self.offsets[:-1], self.offsets[1:], strict=True)]
        return pd.DataFrame(
            {PATH: paths, CONVERSIONS: self.conversions, VALUE: self.value, NULLS: self.nulls}
        )


def paths_from_frame(
    frame: pd.DataFrame,
    *,
    path_col: str = PATH,
    conversions_col: str = CONVERSIONS,
    value_col: str | None = VALUE,
    null_col: str | None = NULLS,
    sep: str = ">",
) -> PathSet:
    """Encode a ChannelAttribution-style frame. Missing value/null columns count as zero.

    Empty paths and paths with neither conversions nor nulls carry no information and are dropped.
    """
    conversions = _numeric(frame, conversions_col)
    value = _numeric(frame, value_col)
    nulls = _numeric(frame, null_col)
    raw = pa.array(frame[path_col].astype("string").fillna("").to_numpy(dtype=object), type=pa.string())
    keep = np.asarray(pc.utf8_length(pc.utf8_trim_whitespace(raw))) > 0
    keep &= (conversions + nulls) > 0
    raw = raw.filter(pa.array(keep))

    lists = pc.split_pattern(raw, pattern=sep)
    tokens = pc.utf8_trim_whitespace(lists.flatten())
    offsets = np.asarray(lists.offsets, dtype=np.int64)
    nonempty = np.asarray(pc.utf8_length(tokens)) > 0
    if not nonempty.all():  # stray separators ("a > > b", "a >"): drop the empty steps
        path_of_token = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
        offsets = np.concatenate(
            [[0], np.cumsum(np.bincount(path_of_token[nonempty], minlength=len(offsets) - 1))]
        )
        tokens = tokens.filter(pa.array(nonempty))
    encoded = pc.dictionary_encode(tokens)
    names = np.asarray(encoded.dictionary.to_pylist(), dtype=object)
    # Sorted channel names make codes (and every result's row order) independent of input order.
    order = np.argsort(names)
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    codes = rank[np.asarray(encoded.indices)].astype(np.int32)
    return PathSet(
        channels=names[order],
        codes=codes,
        offsets=offsets,
        conversions=conversions[keep],
        value=value[keep],
        nulls=nulls[keep],
    )


def paths_from_csv(path: str | Path, *, csv_sep: str = ",", **columns) -> PathSet:
    """Read a ChannelAttribution-style CSV: ``path`` (``a > b > c``), ``total_conversions``,
    ``total_conversion_value``, ``total_null``. Other column names and the path separator go to
    :func:`paths_from_frame` as keyword arguments; ``csv_sep`` is the CSV field separator."""
    return paths_from_frame(pd.read_csv(path, sep=csv_sep), **columns)


def as_paths(paths: PathSet | pd.DataFrame) -> PathSet:
    """Accept either an encoded PathSet or a ChannelAttribution-style frame."""
    return paths if isinstance(paths, PathSet) else paths_from_frame(paths)


def credits_frame(
    model: str, channels: np.ndarray, conversions: np.ndarray, value: np.ndarray
) -> pd.DataFrame:
    """Channel-level credits in the shared credit shape (no campaign: path models see channels only)."""
    return pd.DataFrame(
        {
            "model": model,
            "channel": np.asarray(channels, dtype=object),
            "campaign_id": pd.Series([None] * len(channels), dtype="object"),
            "conversions": np.asarray(conversions, dtype=float),
            "value": np.asarray(value, dtype=float),
        }
    )


def _numeric(frame: pd.DataFrame, column: str | None) -> np.ndarray:
    if column is None or column not in frame.columns:
        return np.zeros(len(frame))
    return pd.to_numeric(frame[column], errors="coerce").fillna(0).to_numpy(dtype=float)
