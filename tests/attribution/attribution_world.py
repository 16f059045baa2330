"""A small hand-checkable world for the attribution tests: touchpoints, conversions and spend in DuckDB."""

from __future__ import annotations

import duckdb
import pandas as pd

DS = "2024-01-31"

# (person, ts, channel, campaign, event type). Comments give each row's fate with lookback 30 days,
# view window 7 days, click window 30 days, as of the end of 2024-01-31.
TOUCHPOINTS = [
    ("p1", "2024-01-10 00:00", "search", "s1", "click"),  # p1 journey 1, 5 days before
    ("p1", "2024-01-12 00:00", "display", "d1", "impression"),  # 3 days: inside the view window
    ("p1", "2024-01-14 00:00", "email", "e1", "click"),
    ("p1", "2024-01-14 12:00", "direct", None, "click"),  # last touch, but direct
    ("p1", "2024-01-20 00:00", "social", "so1", "impression"),  # after p1's conversion: open path
    ("p2", "2024-01-05 00:00", "direct", None, "click"),
    ("p2", "2024-01-06 00:00", "display", "d1", "impression"),  # 14.5 days: outside the view window
    ("p2", "2024-01-20 00:00", "direct", None, "click"),
    ("p3", "2024-01-25 00:00", "social", "so1", "impression"),  # never converts: open path
    ("p4", "2023-12-18 00:00", "search", "s1", "click"),  # closed by p4's December conversion
    ("p4", "2023-12-25 00:00", "video", "v1", "click"),  # 9 days before p4's January conversion
    ("p5", "2024-01-30 10:00", "search", "s1", "impression"),  # same instant as the conversion
    ("p5", "2024-02-01 09:00", "search", "s1", "click"),  # after the as-of date
]
CONVERSIONS = [
    ("p1", "2024-01-15 00:00", 100.0),
    ("p2", "2024-01-20 12:00", 50.0),
    ("p4", "2023-12-20 00:00", 999.0),  # before the analysis window: closes a journey, not counted
    ("p4", "2024-01-03 00:00", 20.0),
    ("p5", "2024-01-30 10:00", 10.0),
]
SPEND = [
    ("2024-01-10", "s1", "search", "pub1", 30.0),
    ("2024-01-20", "s1", "search", "pub1", 20.0),
    ("2024-01-15", "d1", "display", "pub2", 40.0),
    ("2023-12-01", "d1", "display", "pub2", 1000.0),  # outside the analysis window
    ("2024-01-15", "so1", "social", "pub3", 25.0),
]


def small_world() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the touchpoints, conversions and spend tables above."""
    connection = duckdb.connect()
    touchpoints = pd.DataFrame(
        TOUCHPOINTS, columns=["person_id", "ts", "channel", "campaign_id", "event_type"]
    )
    touchpoints["ts"] = pd.to_datetime(touchpoints["ts"])
    touchpoints["creative_id"] = "cr-" + touchpoints["channel"]
    touchpoints["publisher_id"] = "pub"
    conversions = pd.DataFrame(CONVERSIONS, columns=["person_id", "ts", "value"])
    conversions["ts"] = pd.to_datetime(conversions["ts"])
    spend = pd.DataFrame(SPEND, columns=["date", "campaign_id", "channel", "publisher_id", "spend"])
    spend["date"] = pd.to_datetime(spend["date"]).dt.date
    for name, frame in {"touchpoints": touchpoints, "conversions": conversions, "spend": spend}.items():
        connection.register(f"{name}_frame", frame)
        connection.execute(f"CREATE TABLE {name} AS SELECT * FROM {name}_frame")
        connection.unregister(f"{name}_frame")
    return connection
