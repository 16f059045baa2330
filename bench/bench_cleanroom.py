"""Benchmark of the local clean-room engine on synthetic advertiser and publisher data.

Builds 1M people (numpy attributes, SHA-256 identifiers hashed in DuckDB): the advertiser's CRM holds
60% of them, the publisher's audience 70% (an overlap of 30%), plus ad impressions and conversions.
Prints the time to check each standard analysis against the analysis rules (target under 50 ms) and
the time to run it as a protected query, with the collaboration of include/config/collaboration.yaml.

    .venv/bin/python bench/bench_cleanroom.py [--people 1000000] [--format PARQUET]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from adplan.cleanroom import CleanRoom, load_collaboration

CONFIG = Path(__file__).resolve().parents[1] / "include" / "config" / "collaboration.yaml"

ANALYSES = {
    "overlap by segment (aggregation)": (
        "agency",
        "SELECT c.segment, c.ltv_tier, COUNT(DISTINCT c.email_sha256) AS overlap "
        "FROM advertiser_customers c JOIN publisher_audience p "
        "ON c.email_sha256 = p.email_sha256 OR c.phone_sha256 = p.phone_sha256 "
        "GROUP BY c.segment, c.ltv_tier ORDER BY overlap DESC",
        None,
    ),
    "overlap by interest x age (aggregation)": (
        "agency",
        "SELECT p.interest, p.age_band, COUNT(DISTINCT p.email_sha256) AS overlap "
        "FROM advertiser_customers c JOIN publisher_audience p ON c.email_sha256 = p.email_sha256 "
        "WHERE c.segment = 'loyal' GROUP BY p.interest, p.age_band",
        None,
    ),
    "reach and frequency (aggregation)": (
        "agency",
        "SELECT i.campaign_id, COUNT(DISTINCT i.email_sha256) AS reach, COUNT(i.ts) AS impressions, "
        "ROUND(CAST(COUNT(i.ts) AS DOUBLE PRECISION) / COUNT(DISTINCT i.email_sha256), 2) AS frequency "
        "FROM publisher_impressions i JOIN advertiser_customers c ON i.email_sha256 = c.email_sha256 "
        "GROUP BY i.campaign_id",
        None,
    ),
    "enrichment (list)": (
        "advertiser",
        "SELECT DISTINCT c.customer_id, p.interest, p.age_band, p.region "
        "FROM advertiser_customers_list c JOIN publisher_audience_list p "
        "ON c.email_sha256 = p.email_sha256 OR c.phone_sha256 = p.phone_sha256",
        None,
    ),
    "conversions by campaign (custom, DP template)": ("agency", None, "conversions_by_campaign"),
    "exposed vs unexposed by creative (custom)": ("agency", None, "conversions_by_creative"),
}


def build_warehouse(connection: duckdb.DuckDBPyConnection, people: int, seed: int = 42) -> dict[str, int]:
    rng = np.random.default_rng(seed)
    ids = np.arange(people)
    customers = ids[: int(people * 0.6)]
    audience = ids[int(people * 0.3) :]
    frames = {
        "customers": pd.DataFrame(
            {
                "i": customers,
                "segment": rng.choice(
                    ["loyal", "lapsed", "new", "vip"], len(customers), p=[0.4, 0.3, 0.25, 0.05]
                ),
                "ltv_tier": rng.choice(["high", "mid", "low"], len(customers)),
                "region": rng.choice(["north", "south", "east", "west"], len(customers)),
            }
        ),
        "audience": pd.DataFrame(
            {
                "i": audience,
                "interest": rng.choice(["sport", "food", "tech", "travel", "fashion", "auto"], len(audience)),
                "age_band": rng.choice(["18-24", "25-34", "35-44", "45-54", "55+"], len(audience)),
                "region": rng.choice(["north", "south", "east", "west"], len(audience)),
            }
        ),
    }
    impressions = people * 5
    frames["impressions"] = pd.DataFrame(
        {
            "i": rng.choice(audience, impressions),
            "campaign_id": rng.choice([f"campaign_{k:02d}" for k in range(12)], impressions),
            "creative_id": rng.choice([f"creative_{k:02d}" for k in range(40)], impressions),
            "ts": np.datetime64("2024-03-01")
            + rng.integers(0, 60 * 86400, impressions).astype("timedelta64[s]"),
        }
    )
    conversions = people // 5
    frames["conversions"] = pd.DataFrame(
        {
            "i": rng.choice(customers, conversions),
            "conversion_ts": np.datetime64("2024-03-15")
            + rng.integers(0, 60 * 86400, conversions).astype("timedelta64[s]"),
            "creative_id": rng.choice([f"creative_{k:02d}" for k in range(40)], conversions),
            "value": rng.gamma(2.0, 40.0, conversions).round(2),
        }
    )
    for name, frame in frames.items():
        connection.register(f"frame_{name}", frame)
    # Identifiers are SHA-256 of normalized values, as the hygiene step writes them.
    email, phone = "sha256('user' || i || '@example.com')", "sha256('+1555' || lpad(i::VARCHAR, 7, '0'))"
    connection.execute(
        f"CREATE TABLE cr_advertiser_customers AS SELECT 'C' || i AS customer_id, {email} AS email_sha256, "
        f"{phone} AS phone_sha256, segment, ltv_tier, region FROM frame_customers"
    )
    connection.execute(
        f"CREATE TABLE cr_publisher_audience AS SELECT {email} AS email_sha256, {phone} AS phone_sha256, "
        f"sha256('maid-' || i) AS maid_sha256, interest, age_band, region FROM frame_audience"
    )
    connection.execute(
        f"CREATE TABLE cr_publisher_impressions AS SELECT {email} AS email_sha256, campaign_id, creative_id, ts "
        "FROM frame_impressions"
    )
    connection.execute(
        f"CREATE TABLE cr_advertiser_conversions AS SELECT {email} AS email_sha256, conversion_ts, creative_id, value "
        "FROM frame_conversions"
    )
    return {
        table: connection.execute(f"SELECT COUNT(*) FROM {table}").fetchall()[0][0]
        for table in (
            "cr_advertiser_customers",
            "cr_publisher_audience",
            "cr_publisher_impressions",
            "cr_advertiser_conversions",
        )
    }


def time_checks(room: CleanRoom, repeats: int) -> dict[str, float]:
    timings = {}
    for name, (member, sql, template) in ANALYSES.items():
        room.check(member, sql, analysis_template=template)  # warm caches
        samples = []
        for _ in range(repeats):
            started = time.perf_counter()
            check = room.check(member, sql, analysis_template=template)
            samples.append((time.perf_counter() - started) * 1000)
        assert check.allowed, check.error
        timings[name] = statistics.median(samples)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--format", default="PARQUET", choices=["CSV", "PARQUET"])
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()

    collaboration = load_collaboration(CONFIG)
    connection = duckdb.connect()
    started = time.perf_counter()
    sizes = build_warehouse(connection, args.people)
    print(f"built warehouse for {args.people:,} people in {time.perf_counter() - started:.1f} s")
    for table, rows in sizes.items():
        print(f"  {table:<28} {rows:>12,} rows")

    with (
        tempfile.TemporaryDirectory() as scratch,
        CleanRoom(collaboration, connection, state_dir=scratch) as room,
    ):
        checks = time_checks(room, args.repeats)
        print(f"\n{'analysis':<48} {'check ms':>9} {'run s':>8} {'rows':>9}  status")
        for name, (member, sql, template) in ANALYSES.items():
            started = time.perf_counter()
            record = room.start_protected_query(member, sql, args.format, scratch, analysis_template=template)
            elapsed = time.perf_counter() - started
            rows = "-"
            if record["status"] == "SUCCESS":
                location = record["result"]["output"]["s3"]["location"]
                count = connection.execute(f"SELECT COUNT(*) FROM '{location}'").fetchall()[0][0]
                rows = f"{count:,}"
            print(f"{name:<48} {checks[name]:>9.2f} {elapsed:>8.2f} {rows:>9}  {record['status']}")
        budget = room.privacy_budget()
        print(
            f"\nprivacy budget: epsilon spent {budget['epsilonSpent']:.2f} of {budget['epsilon']}, "
            f"{budget['remainingAggregations']} aggregations left"
        )


if __name__ == "__main__":
    main()
