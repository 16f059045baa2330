"""The landing sources as the world spec defines them: columns in order, and the roles malformed rows use.

``SOURCES`` is the spec's table (source -> columns, in file order). ``ROLES`` says, per source, which
column is its record id and which columns a malformed row of each kind may spoil; the contracts in
``include/contracts`` reject exactly those spoilt values.
"""

from __future__ import annotations

from dataclasses import dataclass

SOURCES: dict[str, tuple[str, ...]] = {
    "advertisers": ("advertiser_id", "advertiser_name", "industry", "country"),
    "campaigns": (
        "campaign_id",
        "advertiser_id",
        "campaign_name",
        "objective",
        "start_date",
        "end_date",
        "budget",
        "currency",
        "kpi_target_cpa",
        "kpi_target_roas",
    ),
    "media_plan": (
        "campaign_id",
        "channel",
        "publisher_id",
        "start_date",
        "end_date",
        "planned_budget",
        "planned_impressions",
    ),
    "creatives": ("creative_id", "campaign_id", "channel", "format", "headline", "landing_url"),
    "crm_customers": (
        "customer_id",
        "first_name",
        "last_name",
        "email",
        "phone",
        "address_line1",
        "address_line2",
        "city",
        "state",
        "postal_code",
        "country",
        "date_of_birth",
        "signup_date",
        "consent_email",
        "consent_ads",
    ),
    "orders": (
        "order_id",
        "customer_id",
        "email",
        "phone",
        "order_ts",
        "order_value",
        "currency",
        "sales_channel",
    ),
    "publisher_audience": (
        "publisher_id",
        "audience_record_id",
        "email_sha256",
        "phone_sha256",
        "maid",
        "interests",
        "age_band",
        "region",
        "first_seen",
    ),
    "ad_impressions": (
        "impression_id",
        "ts",
        "campaign_id",
        "creative_id",
        "channel",
        "publisher_id",
        "device_id",
        "cookie_id",
        "cost_micros",
    ),
    "ad_clicks": (
        "click_id",
        "impression_id",
        "ts",
        "campaign_id",
        "creative_id",
        "channel",
        "publisher_id",
        "device_id",
        "cookie_id",
    ),
    "identity_events": ("event_id", "ts", "device_id", "cookie_id", "email_sha256", "event_type"),
    "spend": ("date", "campaign_id", "channel", "publisher_id", "impressions", "clicks", "spend", "currency"),
}

CHANNELS = ("search", "social", "display", "video", "ctv", "email")
# Small reference files: one malformed row of every kind whatever their size (their contracts allow it).
REFERENCE_SOURCES = ("advertisers", "campaigns", "media_plan", "creatives")

# Ground truth: sources whose records belong to a person (record_person.parquet), plus the ad-log
# device and cookie ids under the names the identity workflow gives them.
IDENTITY_SOURCES = ("crm_customers", "orders", "publisher_audience", "identity_events")
DEVICE_SOURCE = "ad_devices"
COOKIE_SOURCE = "ad_cookies"

# Malformed-row kinds (ground_truth/malformed_rows.parquet names them).
BAD_DATE = "bad_date"
BROKEN_EMAIL = "broken_email"
WRONG_COLUMN_COUNT = "wrong_column_count"
INVALID_UTF8 = "invalid_utf8"
NON_NUMERIC = "non_numeric"
MISSING_ID = "missing_id"
MALFORMED_KINDS = (BAD_DATE, BROKEN_EMAIL, WRONG_COLUMN_COUNT, INVALID_UTF8, NON_NUMERIC, MISSING_ID)


@dataclass(frozen=True)
class Roles:
    """Which columns of a source each kind of malformed row spoils."""

    id_column: str
    text_column: str  # where invalid UTF-8 bytes are put
    dates: tuple[str, ...] = ()  # date columns (YYYY-MM-DD)
    timestamps: tuple[str, ...] = ()  # timestamp columns (YYYY-MM-DDTHH:MM:SSZ)
    birth_dates: tuple[str, ...] = ()  # dates of birth (mixed formats)
    emails: tuple[str, ...] = ()  # plain email addresses
    email_hashes: tuple[str, ...] = ()  # hex SHA-256 of emails
    numbers: tuple[str, ...] = ()  # integer and decimal columns

    def kinds(self) -> tuple[str, ...]:
        """The malformed kinds that apply to this source, in MALFORMED_KINDS order."""
        applies = {
            BAD_DATE: bool(self.dates or self.timestamps or self.birth_dates),
            BROKEN_EMAIL: bool(self.emails or self.email_hashes),
            WRONG_COLUMN_COUNT: True,
            INVALID_UTF8: True,
            NON_NUMERIC: bool(self.numbers),
            MISSING_ID: True,
        }
        return tuple(kind for kind in MALFORMED_KINDS if applies[kind])


ROLES: dict[str, Roles] = {
    "advertisers": Roles("advertiser_id", "advertiser_name"),
    "campaigns": Roles(
        "campaign_id",
        "campaign_name",
        dates=("start_date", "end_date"),
        numbers=("budget", "kpi_target_cpa", "kpi_target_roas"),
    ),
    "media_plan": Roles(
        "campaign_id",
        "channel",
        dates=("start_date", "end_date"),
        numbers=("planned_budget", "planned_impressions"),
    ),
    "creatives": Roles("creative_id", "headline"),
    "crm_customers": Roles(
        "customer_id",
        "last_name",
        dates=("signup_date",),
        birth_dates=("date_of_birth",),
        emails=("email",),
    ),
    "orders": Roles(
        "order_id", "sales_channel", timestamps=("order_ts",), emails=("email",), numbers=("order_value",)
    ),
    "publisher_audience": Roles(
        "audience_record_id", "region", dates=("first_seen",), email_hashes=("email_sha256",)
    ),
    "ad_impressions": Roles("impression_id", "channel", timestamps=("ts",), numbers=("cost_micros",)),
    "ad_clicks": Roles("click_id", "channel", timestamps=("ts",)),
    "identity_events": Roles("event_id", "event_type", timestamps=("ts",), email_hashes=("email_sha256",)),
    "spend": Roles("campaign_id", "channel", dates=("date",), numbers=("impressions", "clicks", "spend")),
}


def part_name(source: str, part: int) -> str:
    """The landing file name of one part: ``<source>-<NNNNN>.csv.gz``."""
    return f"{source}-{part:05d}.csv.gz"
