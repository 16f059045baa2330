"""The landing layout and file shapes the world spec promises (other engineers code against it)."""

from __future__ import annotations

import gzip
from datetime import date, timedelta

import duckdb
import pytest
from conftest import AS_OF, PEOPLE

from adplan.lake import Lake

# The spec's table, copied here on purpose: the generator's own schema must not be the only witness.
SPEC_COLUMNS = {
    "advertisers": "advertiser_id, advertiser_name, industry, country",
    "campaigns": "campaign_id, advertiser_id, campaign_name, objective, start_date, end_date, budget, currency, "
    "kpi_target_cpa, kpi_target_roas",
    "media_plan": "campaign_id, channel, publisher_id, start_date, end_date, planned_budget, planned_impressions",
    "creatives": "creative_id, campaign_id, channel, format, headline, landing_url",
    "crm_customers": "customer_id, first_name, last_name, email, phone, address_line1, address_line2, city, state, "
    "postal_code, country, date_of_birth, signup_date, consent_email, consent_ads",
    "orders": "order_id, customer_id, email, phone, order_ts, order_value, currency, sales_channel",
    "publisher_audience": "publisher_id, audience_record_id, email_sha256, phone_sha256, maid, interests, age_band, "
    "region, first_seen",
    "ad_impressions": "impression_id, ts, campaign_id, creative_id, channel, publisher_id, device_id, cookie_id, "
    "cost_micros",
    "ad_clicks": "click_id, impression_id, ts, campaign_id, creative_id, channel, publisher_id, device_id, cookie_id",
    "identity_events": "event_id, ts, device_id, cookie_id, email_sha256, event_type",
    "spend": "date, campaign_id, channel, publisher_id, impressions, clicks, spend, currency",
}


def test_every_source_lands_under_its_dt_partition(world):
    lake = Lake(world.summary.out_dir / "lake")
    dt = AS_OF.isoformat()
    assert world.summary.dt == dt
    for source in SPEC_COLUMNS:
        folder = lake.landing_dir(source, dt)
        names = sorted(path.name for path in folder.iterdir())
        assert names == [f"{source}-00000.csv.gz"], (source, names)
        assert [path.name for path in world.summary.files[source]] == names
    landing = world.summary.out_dir / "lake" / "landing"
    assert sorted(path.name for path in landing.iterdir()) == sorted(SPEC_COLUMNS)
    assert not list(landing.glob("*/.tmp-*")), "temporary folders left behind"


def test_ground_truth_sits_beside_the_lake_not_in_it(world):
    names = {path.name for path in world.truth.iterdir()}
    assert {"record_person.parquet", "people.parquet", "channel_effects.json"} <= names
    assert world.truth.parent == world.summary.out_dir
    assert not list((world.summary.out_dir / "lake").rglob("*.parquet"))


@pytest.mark.parametrize("source", sorted(SPEC_COLUMNS))
def test_header_is_the_spec_and_files_are_gzip_utf8_csv(world, source):
    path = world.summary.files[source][0]
    with gzip.open(path, "rb") as handle:
        header = handle.readline()
    assert header == (",".join(name.strip() for name in SPEC_COLUMNS[source].split(",")) + "\n").encode()
    assert path.read_bytes()[:2] == b"\x1f\x8b"
    assert path.read_bytes()[4:8] == b"\x00\x00\x00\x00", "gzip mtime must be 0 (reproducible files)"


def test_events_span_the_days_before_dt(world):
    first_day = AS_OF - timedelta(days=28)
    assert world.summary.window_start == first_day
    for source, column in (("ad_impressions", "ts"), ("ad_clicks", "ts"), ("identity_events", "ts")):
        path = world.summary.files[source][0]
        low, high = duckdb.sql(
            f"""SELECT min(TRY_CAST({column} AS TIMESTAMPTZ)), max(TRY_CAST({column} AS TIMESTAMPTZ))
                FROM read_csv('{path}', all_varchar = true, ignore_errors = true, hive_partitioning = false)
                WHERE regexp_full_match({column}, '\\d{{4}}-\\d{{2}}-\\d{{2}}T\\d{{2}}:\\d{{2}}:\\d{{2}}Z')"""
        ).fetchall()[0]
        assert low.date() >= first_day, source
        assert high.date() <= AS_OF - timedelta(days=1), source
        assert high.date() >= AS_OF - timedelta(days=2), f"{source} should reach the last day"


def test_window_orders_fall_in_the_window_and_history_before_it(world):
    path = world.summary.files["orders"][0]
    rows = duckdb.sql(
        f"""SELECT TRY_CAST(order_ts AS TIMESTAMPTZ)::DATE AS day
            FROM read_csv('{path}', all_varchar = true, hive_partitioning = false, ignore_errors = true)
            WHERE regexp_full_match(order_ts, '\\d{{4}}-\\d{{2}}-\\d{{2}}T\\d{{2}}:\\d{{2}}:\\d{{2}}Z')"""
    ).fetchall()
    days = [row[0] for row in rows]
    assert max(days) < AS_OF
    assert min(days) < AS_OF - timedelta(days=28), "order history before the window"


def test_summary_counts_rows_and_events(world):
    summary = world.summary
    assert summary.people == PEOPLE
    for source, paths in summary.files.items():
        with gzip.open(paths[0], "rb") as handle:
            lines = handle.read().count(b"\n") - 1
        assert lines == summary.rows[source], source
    # ~40-50 ad events (impressions + clicks + identity events) per person over 28 days
    assert 38 <= summary.ad_events / PEOPLE <= 55
    assert summary.as_of == AS_OF and summary.window_start == date(2026, 10, 31)
