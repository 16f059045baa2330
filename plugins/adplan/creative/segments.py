"""Segment descriptions from the audience stage, reduced to the aggregate facts a prompt may see.

A segment row may carry any columns; only the whitelisted aggregates below are ever read (at the SQL
level when reading from DuckDB, and again when building ``SegmentFacts``), so a personal column added
upstream can never reach a prompt. Free-text facts (the segment name, channels, interests) are also
scrubbed: a value that looks like an email address, phone number or URL is dropped, because free text is
where personal data leaks in by accident.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from adplan.creative.pii import contains_personal_data

if TYPE_CHECKING:
    import duckdb

# The only segment facts a prompt may contain (aggregates: numbers and labels, never people).
PROMPT_FIELDS = (
    "segment_name",
    "size",
    "share_of_customers",
    "avg_order_value",
    "avg_ltv",
    "median_recency_days",
    "top_channels",
    "top_interests",
    "lifecycle",
)
SEGMENT_COLUMNS = ("segment_id", *PROMPT_FIELDS)
MAX_TEXT_CHARS = 60
MAX_LIST_ITEMS = 5
# Angle brackets and backticks could close or fake the prompt's tagged blocks; control characters break JSON.
UNSAFE_CHARACTERS = re.compile(r"[<>`\x00-\x1f\x7f]")
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class SegmentsNotFoundError(LookupError):
    """The segments table (the audience stage's output) is missing or has no partition for the run."""


@dataclass(frozen=True)
class SegmentFacts:
    segment_id: str
    segment_name: str
    size: int | None
    share_of_customers: float | None
    avg_order_value: float | None
    avg_ltv: float | None
    median_recency_days: int | None
    top_channels: tuple[str, ...]
    top_interests: tuple[str, ...]
    lifecycle: str

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> SegmentFacts:
        """Build the facts from a segment row; keys outside the whitelist are ignored, never read."""
        segment_id = str(row.get("segment_id") or "").strip()
        if not segment_id:
            raise ValueError("a segment row needs a segment_id")
        name = _clean_text(row.get("segment_name")) or f"Segment {segment_id}"
        return cls(
            segment_id=segment_id,
            segment_name=name,
            size=_whole_number(row.get("size")),
            share_of_customers=_share(row.get("share_of_customers")),
            avg_order_value=_money(row.get("avg_order_value")),
            avg_ltv=_money(row.get("avg_ltv")),
            median_recency_days=_whole_number(row.get("median_recency_days")),
            top_channels=_clean_list(row.get("top_channels")),
            top_interests=_clean_list(row.get("top_interests")),
            lifecycle=(_clean_text(row.get("lifecycle")) or "unknown").lower().replace(" ", "_"),
        )

    def prompt_facts(self) -> dict[str, Any]:
        """The facts as prompts show them (the whitelist, nothing else; the id stays out of prompts)."""
        return {
            "segment_name": self.segment_name,
            "size": self.size,
            "share_of_customers": self.share_of_customers,
            "avg_order_value": self.avg_order_value,
            "avg_ltv": self.avg_ltv,
            "median_recency_days": self.median_recency_days,
            "top_channels": list(self.top_channels),
            "top_interests": list(self.top_interests),
            "lifecycle": self.lifecycle,
        }


def segments_from_rows(rows: Iterable[Mapping[str, Any]]) -> list[SegmentFacts]:
    facts = [SegmentFacts.from_row(row) for row in rows]
    seen: set[str] = set()
    for fact in facts:
        if fact.segment_id in seen:
            raise ValueError(f"segment_id {fact.segment_id!r} appears twice in the segment descriptions")
        seen.add(fact.segment_id)
    return facts


def select_segments(segments: Sequence[SegmentFacts], wanted: str | Sequence[str]) -> list[SegmentFacts]:
    """Keep the segments named in ``wanted`` ("all", a comma-separated string or a list of ids)."""
    names = parse_selection(wanted)
    if names is None:
        return list(segments)
    known = {segment.segment_id for segment in segments}
    missing = [name for name in names if name not in known]
    if missing:
        raise SegmentsNotFoundError(f"no segment description for segment_id {', '.join(missing)}")
    return [segment for segment in segments if segment.segment_id in names]


def parse_selection(wanted: str | Sequence[str] | None) -> list[str] | None:
    """``"all"`` (or empty) means everything (None); otherwise the listed names, in order, without repeats."""
    if wanted is None:
        return None
    items = wanted.split(",") if isinstance(wanted, str) else [str(item) for item in wanted]
    names = list(dict.fromkeys(item.strip() for item in items if item.strip()))
    if not names or names == ["all"]:
        return None
    return names


def read_segments(
    con: duckdb.DuckDBPyConnection, table: str = "segments", ds: str | None = None
) -> list[dict[str, Any]]:
    """Read segment descriptions from ``table`` on ``con``: whitelisted columns only.

    With a ``dt`` column (a lake table), one partition is read: the latest on or before ``ds`` (the latest
    of all without ``ds``), so a creative run picks up the audience stage's most recent output.
    """
    if not IDENTIFIER.fullmatch(table):
        raise ValueError(f"not a table name: {table!r}")
    columns = _table_columns(con, table)
    if columns is None:
        raise SegmentsNotFoundError(
            f"table {table!r} does not exist: the audience stage (audience_analysis DAG) writes it; "
            "run it before generating creatives"
        )
    if "segment_id" not in columns:
        raise SegmentsNotFoundError(f"table {table!r} has no segment_id column")
    selected = ", ".join(f'"{column}"' for column in SEGMENT_COLUMNS if column in columns)
    query, params = f'SELECT {selected} FROM "{table}"', []
    if "dt" in columns:
        # One partition only: segment ids repeat across partitions.
        bound, bound_params = ("WHERE dt <= ?", [ds]) if ds is not None else ("", [])
        latest = con.execute(f'SELECT max(dt) FROM "{table}" {bound}', bound_params).fetchall()[0][0]
        if latest is None:
            when = f" on or before {ds}" if ds is not None else ""
            raise SegmentsNotFoundError(f"table {table!r} has no partition{when}")
        query, params = f"{query} WHERE dt = ?", [latest]
    cursor = con.execute(f"{query} ORDER BY segment_id", params)
    names = [description[0] for description in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _table_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str] | None:
    rows = con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
        [table],
    ).fetchall()
    return [row[0] for row in rows] or None


# --- cleaning ---------------------------------------------------------------------------------------


def _clean_text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    text = " ".join(UNSAFE_CHARACTERS.sub(" ", str(value)).split())
    if not text or contains_personal_data(text) or "@" in text or "://" in text:
        return ""
    return text[:MAX_TEXT_CHARS].strip()


def _clean_list(value: Any) -> tuple[str, ...]:
    if value is None or isinstance(value, float):
        return ()
    # The audience stage stores lists as JSON arrays in a string column (segments.top_channels).
    items = _json_list(value) if isinstance(value, str) else list(value)
    cleaned = [text for text in (_clean_text(item) for item in items) if text]
    return tuple(dict.fromkeys(cleaned))[:MAX_LIST_ITEMS]


def _json_list(text: str) -> list[Any]:
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        return [text]
    return parsed if isinstance(parsed, list) else [text]


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) or math.isinf(number) else number


def _whole_number(value: Any) -> int | None:
    number = _number(value)
    return None if number is None else round(number)


def _money(value: Any) -> float | None:
    number = _number(value)
    return None if number is None else round(number, 2)


def _share(value: Any) -> float | None:
    """A share as a fraction in [0, 1]; a value above 1 is read as a percentage."""
    number = _number(value)
    if number is None or number < 0:
        return None
    fraction = number / 100 if number > 1 else number
    return round(min(fraction, 1.0), 4)
