"""A synthetic audience world in the curated tables' shape, for tests and benchmarks.

People buy by the BG/NBD process with Gamma-Gamma spend (so the lifetime value models have a known
truth), see ads on channels drawn from a per-person Dirichlet affinity, and may be on the publisher's
audience with interests, age band and region. A hidden ``lookalike_group`` shifts interests, age, region
and click propensity, so a lookalike model trained on part of the group can be checked on the rest.

Numbers are drawn with numpy, vectorized over people and events; strings (ids, emails, hashes) are built
by DuckDB from those numbers. The identity graph is the ground truth (perfect resolution).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from adplan.audiences import clv

CHANNELS = ("search", "social", "display", "video", "ctv", "email")
INTERESTS = (
    "outdoors", "running", "travel", "fitness", "cooking", "tech",
    "fashion", "gaming", "finance", "parenting", "music", "home_garden",
)  # fmt: skip
GROUP_INTERESTS = ("outdoors", "running", "travel", "fitness")
AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55+")
REGIONS = ("northeast", "south", "midwest", "west")
STATES = ("NY", "CA", "TX", "IL", "WA", "FL", "CO", "MA")
TRUE_BGNBD = clv.BgNbdParams(r=0.9, alpha=60.0, a=0.8, b=2.5)
TRUE_GAMMA_GAMMA = clv.GammaGammaParams(p=6.0, q=4.0, gamma=40.0)
TABLES = (
    "identity_graph",
    "curated_crm_customers",
    "curated_orders",
    "curated_publisher_audience",
    "curated_ad_impressions",
    "curated_ad_clicks",
)


@dataclass(frozen=True)
class WorldTruth:
    """Ground truth by person index i (person_id = person_id_of(i))."""

    lookalike_group: np.ndarray
    is_buyer: np.ndarray
    on_publisher: np.ndarray
    has_crm: np.ndarray


def person_id_of(index: int) -> str:
    return f"P{index:08d}"


def build_world(
    con: duckdb.DuckDBPyConnection,
    people: int,
    ds: str,
    *,
    seed: int = 7,
    history_days: int = 730,
    exposure_days: int = 90,
    mean_impressions: float = 4.0,
) -> WorldTruth:
    """Create the curated tables (and identity_graph) for ``people`` people on ``con``, partition ``ds``."""
    rng = np.random.default_rng(seed)
    end = dt.date.fromisoformat(ds) + dt.timedelta(days=1)
    group = rng.random(people) < 0.12
    is_buyer = rng.random(people) < np.where(group, 0.7, 0.5)
    has_crm = rng.random(people) < np.where(is_buyer, 0.9, 0.25)
    on_publisher = rng.random(people) < np.where(group, 0.6, 0.5)
    has_device = rng.random(people) < 0.7
    has_cookie = rng.random(people) < 0.6

    _register(con, "w_people", {
        "i": np.arange(people), "grp": group, "has_crm": has_crm, "on_publisher": on_publisher,
        "has_device": has_device, "has_cookie": has_cookie,
        "duplicate_crm": has_crm & (rng.random(people) < 0.05),
        "consent_ads": rng.random(people) < 0.8, "duplicate_refuses": rng.random(people) < 0.3,
        "consent_email": rng.random(people) < 0.7,
        "birth_days": rng.integers(0, 365 * 55, people), "signup_days": rng.integers(0, history_days, people),
        "state": rng.integers(0, len(STATES), people),
    })  # fmt: skip
    _build_people_tables(con, ds, end)
    _build_orders(con, rng, ds, end, np.flatnonzero(is_buyer), history_days)
    _build_publisher(con, rng, ds, end, np.flatnonzero(on_publisher), group, history_days)
    _build_exposures(con, rng, ds, end, people, group, exposure_days, mean_impressions)
    _build_identity_graph(con, ds)
    for name in ("w_people", "w_orders", "w_interests", "w_publisher", "w_impressions"):
        con.unregister(name)
    return WorldTruth(group, is_buyer, on_publisher, has_crm)


def write_world(con: duckdb.DuckDBPyConnection, lake, ds: str) -> None:
    """Write the world's tables as curated partitions of ``lake`` (identity_graph is curated too)."""
    for table in TABLES:
        lake.write_partition("curated", table, ds, f"SELECT * EXCLUDE (dt) FROM {table}", con)


# --- tables -----------------------------------------------------------------------------------------


def _build_people_tables(con: duckdb.DuckDBPyConnection, ds: str, end: dt.date) -> None:
    states = _sql_list(STATES)
    con.execute(
        f"""
        CREATE OR REPLACE TABLE curated_crm_customers AS
        WITH records AS (
            SELECT *, 0 AS copy FROM w_people WHERE has_crm
            UNION ALL
            SELECT *, 1 AS copy FROM w_people WHERE duplicate_crm
        ),
        shaped AS (
            SELECT
                'C' || lpad(CAST(i * 2 + copy AS VARCHAR), 8, '0') AS customer_id,
                'First' || CAST(i % 997 AS VARCHAR) AS first_name,
                'Last' || CAST(i % 991 AS VARCHAR) AS last_name,
                'person' || CAST(i AS VARCHAR) || '@example.com' AS email,
                '+1555' || lpad(CAST(i % 10000000 AS VARCHAR), 7, '0') AS phone,
                CAST(i % 900 + 1 AS VARCHAR) || ' main st' AS address_line1,
                'springfield' AS city,
                ({states})[state + 1] AS state,
                lpad(CAST(10000 + i % 89999 AS VARCHAR), 5, '0') AS postal_code,
                'US' AS country,
                DATE '1950-01-01' + CAST(birth_days AS INTEGER) AS date_of_birth,
                DATE '{end.isoformat()}' - CAST(signup_days AS INTEGER) - 1 - copy AS signup_date,
                consent_email,
                -- a duplicate record sometimes refuses what the first granted (withdrawal wins)
                CASE WHEN copy = 1 AND duplicate_refuses THEN false ELSE consent_ads END AS consent_ads
            FROM records
        )
        SELECT customer_id, first_name, last_name, email, sha256(email) AS email_sha256, true AS email_valid,
               phone, sha256(phone) AS phone_sha256, address_line1, city, state, postal_code, country,
               date_of_birth, signup_date, consent_email, consent_ads, '{ds}' AS dt
        FROM shaped
        """
    )


def _build_orders(
    con: duckdb.DuckDBPyConnection,
    rng: np.random.Generator,
    ds: str,
    end: dt.date,
    buyers: np.ndarray,
    days: int,
) -> None:
    first_day = rng.integers(0, days, len(buyers))  # days after the history start
    tenure = (days - first_day).astype(float)
    repeat_buyer, repeat_time = clv.simulate_bgnbd(TRUE_BGNBD, tenure, rng)
    customer = np.concatenate([np.arange(len(buyers)), repeat_buyer])
    day = np.concatenate([first_day, first_day[repeat_buyer] + np.floor(repeat_time).astype(np.int64)])
    day = np.minimum(day, days - 1)
    nu = rng.gamma(TRUE_GAMMA_GAMMA.q, 1.0 / TRUE_GAMMA_GAMMA.gamma, len(buyers))
    value = rng.gamma(TRUE_GAMMA_GAMMA.p, 1.0 / nu[customer])
    _register(con, "w_orders", {
        "order_no": np.arange(len(customer)), "i": buyers[customer], "day": day,
        "second": rng.integers(0, 86400, len(customer)), "value": np.round(value, 2),
        "guest": rng.random(len(customer)) < 0.2, "sales_channel": rng.integers(0, 3, len(customer)),
    })  # fmt: skip
    start = end - dt.timedelta(days=days)
    con.execute(
        f"""
        CREATE OR REPLACE TABLE curated_orders AS
        SELECT
            'O' || lpad(CAST(o.order_no AS VARCHAR), 9, '0') AS order_id,
            CASE WHEN p.has_crm AND NOT o.guest THEN 'C' || lpad(CAST(o.i * 2 AS VARCHAR), 8, '0') END AS customer_id,
            sha256('person' || CAST(o.i AS VARCHAR) || '@example.com') AS email_sha256,
            sha256('+1555' || lpad(CAST(o.i % 10000000 AS VARCHAR), 7, '0')) AS phone_sha256,
            TIMESTAMP '{start.isoformat()} 00:00:00' + to_days(CAST(o.day AS INTEGER))
                + to_seconds(o.second) AS order_ts,
            o.value AS order_value,
            'USD' AS currency,
            (['web', 'store', 'app'])[o.sales_channel + 1] AS sales_channel,
            '{ds}' AS dt
        FROM w_orders AS o JOIN w_people AS p USING (i)
        """
    )


def _build_publisher(
    con: duckdb.DuckDBPyConnection,
    rng: np.random.Generator,
    ds: str,
    end: dt.date,
    members: np.ndarray,
    group: np.ndarray,
    days: int,
) -> None:
    in_group = group[members]
    base = np.full(len(INTERESTS), 0.12)
    lifted = np.where(np.isin(INTERESTS, GROUP_INTERESTS), 0.55, 0.08)
    chance = np.where(in_group[:, None], lifted[None, :], base[None, :])
    member_row, interest = np.nonzero(rng.random((len(members), len(INTERESTS))) < chance)
    _register(con, "w_interests", {"i": members[member_row], "interest": interest})
    age_weights = np.where(in_group[:, None], [0.1, 0.45, 0.3, 0.1, 0.05], [0.15, 0.2, 0.2, 0.2, 0.25])
    region_weights = np.where(in_group[:, None], [0.15, 0.15, 0.15, 0.55], [0.3, 0.3, 0.25, 0.15])
    _register(con, "w_publisher", {
        "i": members, "age_band": _categorical(rng, age_weights), "region": _categorical(rng, region_weights),
        "first_seen_days": rng.integers(0, days, len(members)),
    })  # fmt: skip
    con.execute(
        f"""
        CREATE OR REPLACE TABLE curated_publisher_audience AS
        WITH interest_lists AS (
            SELECT i, string_agg(({_sql_list(INTERESTS)})[interest + 1], ';' ORDER BY interest) AS interests
            FROM w_interests GROUP BY i
        ),
        shaped AS (
            SELECT
                m.i,
                {_uuid_sql("'maid' || CAST(m.i AS VARCHAR)")} AS maid,
                ({_sql_list(AGE_BANDS)})[m.age_band + 1] AS age_band,
                ({_sql_list(REGIONS)})[m.region + 1] AS region,
                DATE '{end.isoformat()}' - CAST(m.first_seen_days AS INTEGER) - 1 AS first_seen,
                l.interests,
                p.has_crm
            FROM w_publisher AS m JOIN w_people AS p USING (i) LEFT JOIN interest_lists AS l USING (i)
        )
        SELECT
            'PUB1' AS publisher_id,
            'A' || lpad(CAST(i AS VARCHAR), 9, '0') AS audience_record_id,
            sha256('person' || CAST(i AS VARCHAR) || '@example.com') AS email_sha256,
            CASE WHEN i % 3 = 0 THEN sha256('+1555' || lpad(CAST(i % 10000000 AS VARCHAR), 7, '0')) END AS phone_sha256,
            maid,
            sha256(lower(maid)) AS maid_sha256,
            interests,
            age_band,
            region,
            first_seen,
            '{ds}' AS dt
        FROM shaped
        """
    )


def _build_exposures(
    con: duckdb.DuckDBPyConnection,
    rng: np.random.Generator,
    ds: str,
    end: dt.date,
    people: int,
    group: np.ndarray,
    days: int,
    mean_impressions: float,
) -> None:
    counts = rng.poisson(np.where(group, mean_impressions * 1.3, mean_impressions))
    person = np.repeat(np.arange(people), counts)
    affinity = rng.dirichlet(np.full(len(CHANNELS), 0.6), people)
    cumulative = np.cumsum(affinity, axis=1)
    channel = (rng.random(len(person))[:, None] > cumulative[person]).sum(axis=1).clip(0, len(CHANNELS) - 1)
    click_rate = np.where(group[person], 0.05, 0.02)
    _register(con, "w_impressions", {
        "impression_no": np.arange(len(person)), "i": person, "channel": channel,
        "second": rng.integers(0, days * 86400, len(person)), "clicked": rng.random(len(person)) < click_rate,
        "campaign": rng.integers(0, 4, len(person)),
    })  # fmt: skip
    start = end - dt.timedelta(days=days)
    con.execute(
        f"""
        CREATE OR REPLACE TABLE curated_ad_impressions AS
        SELECT
            'I' || lpad(CAST(e.impression_no AS VARCHAR), 10, '0') AS impression_id,
            TIMESTAMP '{start.isoformat()} 00:00:00' + to_seconds(e.second) AS ts,
            'CMP' || CAST(e.campaign AS VARCHAR) AS campaign_id,
            'CR' || CAST(e.campaign AS VARCHAR) || CAST(e.channel AS VARCHAR) AS creative_id,
            ({_sql_list(CHANNELS)})[e.channel + 1] AS channel,
            'PUB1' AS publisher_id,
            CASE WHEN p.has_device THEN {_uuid_sql("'device' || CAST(e.i AS VARCHAR)")} END AS device_id,
            -- people with neither id are seen on a cookie the graph never resolved
            CASE WHEN p.has_cookie THEN 'ck' || CAST(e.i AS VARCHAR)
                 WHEN NOT p.has_device THEN 'anon' || CAST(e.i AS VARCHAR) END AS cookie_id,
            e.clicked,
            '{ds}' AS dt
        FROM w_impressions AS e JOIN w_people AS p USING (i)
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TABLE curated_ad_clicks AS
        SELECT 'K' || substr(impression_id, 2) AS click_id, impression_id, ts + INTERVAL 5 SECOND AS ts,
               campaign_id, creative_id, channel, publisher_id, device_id, cookie_id, dt
        FROM curated_ad_impressions WHERE clicked
        """
    )
    con.execute("ALTER TABLE curated_ad_impressions DROP COLUMN clicked")


def _build_identity_graph(con: duckdb.DuckDBPyConnection, ds: str) -> None:
    person = "'P' || lpad(CAST(i AS VARCHAR), 8, '0')"
    con.execute(
        f"""
        CREATE OR REPLACE TABLE identity_graph AS
        SELECT source, record_id, person_id, 'exact_email' AS match_rule, CAST(NULL AS DOUBLE) AS confidence,
               '{ds}' AS dt
        FROM (
            SELECT 'crm_customers' AS source, customer_id AS record_id,
                   'P' || lpad(CAST(CAST(substr(customer_id, 2) AS BIGINT) // 2 AS VARCHAR), 8, '0') AS person_id
            FROM curated_crm_customers
            UNION ALL
            SELECT 'orders', 'O' || lpad(CAST(order_no AS VARCHAR), 9, '0'), {person} FROM w_orders
            UNION ALL
            SELECT 'publisher_audience', 'A' || lpad(CAST(i AS VARCHAR), 9, '0'), {person} FROM w_publisher
            UNION ALL
            SELECT 'ad_devices', {_uuid_sql("'device' || CAST(i AS VARCHAR)")}, {person}
            FROM w_people WHERE has_device
            UNION ALL
            SELECT 'ad_cookies', 'ck' || CAST(i AS VARCHAR), {person} FROM w_people WHERE has_cookie
        )
        """
    )


# --- helpers ----------------------------------------------------------------------------------------


def _register(con: duckdb.DuckDBPyConnection, name: str, columns: dict[str, np.ndarray]) -> None:
    con.register(name, pd.DataFrame(columns))


def _categorical(rng: np.random.Generator, weights: np.ndarray) -> np.ndarray:
    """One draw per row from that row's categorical weights (inverse CDF, vectorized)."""
    cumulative = np.cumsum(weights, axis=1)
    cumulative /= cumulative[:, -1:]
    return (rng.random(len(weights))[:, None] > cumulative).sum(axis=1)


def _uuid_sql(seed_expression: str) -> str:
    """A lowercase UUID-shaped id (8-4-4-4-12 hex) derived from an expression, like a mobile ad id."""
    digest = f"md5({seed_expression})"
    parts = [(1, 8), (9, 4), (13, 4), (17, 4), (21, 12)]
    return " || '-' || ".join(f"substr({digest}, {start}, {length})" for start, length in parts)


def _sql_list(values: tuple[str, ...]) -> str:
    return "[" + ", ".join(f"'{value}'" for value in values) + "]"
