"""The agency's business setup: advertisers, publishers, channels, campaigns, the media plan, creatives.

Only the first advertiser (the agency's client whose CRM and orders the world delivers) runs campaigns
inside the event window; the other advertisers' campaigns are flighted before or after it, so every
impression in the ad logs is the client's and every order can respond to it. Plans are sized from the
number of people and the channel models, so spend paces close to plan at any world size.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pyarrow as pa

from adplan.world.schema import CHANNELS


@dataclass(frozen=True)
class ChannelModel:
    """How one channel reaches people, what it costs and what it does (the known truth)."""

    name: str
    reach: float  # share of people exposed at least once in the window (randomized)
    frequency: float  # mean impressions per exposed person
    ctr: float  # clicks per impression
    cpm: float  # dollars per thousand impressions
    lift: float  # absolute increase of a person's conversion probability when exposed


CHANNEL_MODELS = (
    ChannelModel("search", reach=0.30, frequency=5.0, ctr=0.035, cpm=14.0, lift=0.012),
    ChannelModel("social", reach=0.55, frequency=22.0, ctr=0.009, cpm=8.0, lift=0.006),
    ChannelModel("display", reach=0.70, frequency=30.0, ctr=0.0015, cpm=3.0, lift=0.002),
    ChannelModel("video", reach=0.35, frequency=12.0, ctr=0.004, cpm=16.0, lift=0.004),
    ChannelModel("ctv", reach=0.20, frequency=9.0, ctr=0.0, cpm=32.0, lift=0.005),
    ChannelModel("email", reach=0.25, frequency=7.0, ctr=0.025, cpm=6.0, lift=0.008),
)
assert tuple(model.name for model in CHANNEL_MODELS) == CHANNELS

ADVERTISERS = (
    ("ADV001", "Northwind Outfitters", "retail", "US", "northwind-outfitters.example"),
    ("ADV002", "Bluebird Travel", "travel", "US", "bluebird-travel.example"),
    ("ADV003", "Cobalt Financial", "financial_services", "US", "cobalt-financial.example"),
)
CLIENT_ADVERTISER = "ADV001"

# (publisher_id, name, price factor on the channel CPM)
PUBLISHERS = (
    ("PUB01", "Searchly", 1.0),
    ("PUB02", "FindIt", 0.85),
    ("PUB03", "Chirper Social", 1.1),
    ("PUB04", "Pinboard", 0.9),
    ("PUB05", "DailyPost", 1.2),
    ("PUB06", "AdGrid Network", 0.8),
    ("PUB07", "ClipStream", 1.0),
    ("PUB08", "StreamBox TV", 1.05),
    ("PUB09", "HomeScreen", 0.95),
    ("PUB10", "Inbox Weekly", 1.0),
)
# Publishers that share a logged-in audience file, with the share of people in it.
AUDIENCE_PUBLISHERS = (("PUB03", 0.45), ("PUB05", 0.20))

CREATIVE_FORMATS = {
    "search": ("text_ad",),
    "social": ("image", "carousel", "video_15s"),
    "display": ("banner_300x250", "banner_728x90", "native"),
    "video": ("video_15s", "video_30s", "video_6s"),
    "ctv": ("video_30s", "video_15s"),
    "email": ("newsletter_banner", "sponsored_text"),
}
OBJECTIVES = ("awareness", "consideration", "conversions", "retention")


@dataclass(frozen=True)
class CampaignSpec:
    campaign_id: str
    advertiser_id: str
    name: str
    objective: str
    flight: str  # "always_on", "window", "mid_window", "upcoming", "past"
    rows: tuple[tuple[str, str, float], ...]  # (channel, publisher_id, share of the channel's delivery)
    kpi_target_cpa: float | None
    kpi_target_roas: float | None
    headlines: tuple[str, ...]
    path: str


CAMPAIGNS = (
    CampaignSpec(
        "CMP0001", "ADV001", "Always-on Search", "conversions", "always_on",
        (("search", "PUB01", 0.65), ("search", "PUB02", 0.35)),
        45.0, 4.0,
        ("Northwind Outfitters | Official Site", "Outdoor Gear, Free Shipping", "Jackets, Boots & More"),
        "search",
    ),
    CampaignSpec(
        "CMP0002", "ADV001", "Prospecting - Social & Display", "consideration", "window",
        (("social", "PUB03", 0.40), ("social", "PUB04", 0.30), ("display", "PUB06", 0.35),
         ("display", "PUB05", 0.25)),
        60.0, 2.5,
        ("Gear up for the season", "New arrivals, built to last", 'Meet the "Trailblazer" jacket'),
        "new-arrivals",
    ),
    CampaignSpec(
        "CMP0003", "ADV001", "Retargeting", "conversions", "window",
        (("social", "PUB03", 0.30), ("display", "PUB05", 0.20), ("display", "PUB06", 0.20)),
        30.0, 5.0,
        ("Still thinking it over?", "Your cart misses you: 10% off", "Back in stock, in your size"),
        "cart",
    ),
    CampaignSpec(
        "CMP0004", "ADV001", "Brand Video", "awareness", "mid_window",
        (("video", "PUB07", 0.60), ("video", "PUB03", 0.40), ("ctv", "PUB08", 0.55), ("ctv", "PUB09", 0.45)),
        None, 1.5,
        ("Made for the outdoors", "Where the trail begins", "Northwind: 50 years outside"),
        "brand",
    ),
    CampaignSpec(
        "CMP0005", "ADV001", "Newsletter Sponsorships", "consideration", "window",
        (("email", "PUB10", 0.60), ("email", "PUB05", 0.40)),
        50.0, 3.0,
        ("This week's picks from Northwind", "Members save 15%, this week only"),
        "newsletter",
    ),
    CampaignSpec(
        "CMP0006", "ADV002", "Summer Getaways", "conversions", "upcoming",
        (("search", "PUB01", 0.5), ("social", "PUB04", 0.3), ("video", "PUB07", 0.2)),
        120.0, 6.0,
        ("Summer, sorted", "Beach breaks from $299"),
        "summer",
    ),
    CampaignSpec(
        "CMP0007", "ADV002", "Loyalty Reactivation", "retention", "past",
        (("email", "PUB10", 0.6), ("display", "PUB06", 0.4)),
        80.0, 4.5,
        ("We saved you a seat", "Your points are waiting"),
        "loyalty",
    ),
    CampaignSpec(
        "CMP0008", "ADV003", "Card Launch", "conversions", "upcoming",
        (("search", "PUB02", 0.4), ("ctv", "PUB09", 0.3), ("display", "PUB06", 0.3)),
        150.0, None,
        ("0% intro APR for 18 months", "The card that pays you back"),
        "card",
    ),
    CampaignSpec(
        "CMP0009", "ADV003", "Brand Trust", "awareness", "past",
        (("social", "PUB03", 0.5), ("video", "PUB07", 0.5)),
        None, None,
        ("Banking, minus the fine print", "Trusted for 100 years"),
        "brand",
    ),
)  # fmt: skip


@dataclass(frozen=True)
class MediaSetup:
    """The setup, with the plan as arrays over plan rows (one per campaign x channel x publisher)."""

    as_of: date
    days: int
    window_start_day: int  # days since 1970-01-01 of the window's first day
    plan_campaign: np.ndarray  # index into CAMPAIGNS
    plan_channel: np.ndarray  # index into CHANNELS
    plan_publisher: tuple[str, ...]
    plan_start_day: np.ndarray  # flight, days since epoch (inclusive)
    plan_end_day: np.ndarray  # flight end (inclusive)
    plan_active_from: np.ndarray  # first window day (0-based) the row delivers on
    plan_active_to: np.ndarray  # one past the last window day it delivers on (0 when it never does)
    plan_weight: np.ndarray  # share of its channel's window delivery
    plan_cpm: np.ndarray  # dollars per thousand impressions
    plan_impressions: np.ndarray
    plan_budget: np.ndarray  # dollars
    creative_campaign: np.ndarray
    creative_channel: np.ndarray
    creative_format: tuple[str, ...]
    creative_headline: tuple[str, ...]
    creative_ctr_factor: np.ndarray
    plan_creative_first: np.ndarray  # the plan row's creatives are creative_first .. + creative_count
    plan_creative_count: np.ndarray

    @property
    def plan_rows(self) -> int:
        return len(self.plan_campaign)

    def delivering_rows(self, channel: int) -> np.ndarray:
        """The plan rows that deliver the channel inside the window."""
        return np.flatnonzero((self.plan_channel == channel) & (self.plan_active_to > self.plan_active_from))

    def creative_ids(self) -> list[str]:
        return [f"CR{index + 1:05d}" for index in range(len(self.creative_campaign))]


def build_media(as_of: date, days: int, people: int, rng: np.random.Generator) -> MediaSetup:
    window_start = as_of - timedelta(days=days)
    window_start_day = (window_start - date(1970, 1, 1)).days
    rows = [
        (campaign_index, CHANNELS.index(channel), publisher, weight)
        for campaign_index, spec in enumerate(CAMPAIGNS)
        for channel, publisher, weight in spec.rows
    ]
    plan_campaign = np.array([row[0] for row in rows])
    plan_channel = np.array([row[1] for row in rows])
    plan_publisher = tuple(row[2] for row in rows)
    plan_weight = np.array([row[3] for row in rows])
    start, end = _flights(plan_campaign, window_start_day, days)
    active_from = np.clip(start - window_start_day, 0, days)
    active_to = np.clip(end + 1 - window_start_day, 0, days)
    active_to = np.where(active_to > active_from, active_to, 0)
    active_from = np.where(active_to > 0, active_from, 0)
    factors = {publisher: factor for publisher, _, factor in PUBLISHERS}
    plan_cpm = np.array(
        [
            CHANNEL_MODELS[channel].cpm * factors[publisher]
            for channel, publisher in zip(plan_channel, plan_publisher, strict=True)
        ]
    )
    impressions = _planned_impressions(
        people, days, plan_channel, plan_weight, start, end, active_from, active_to, rng
    )
    budget = np.round(impressions / 1000 * plan_cpm)
    creatives = _creatives(plan_campaign, plan_channel, rng)
    return MediaSetup(
        as_of=as_of,
        days=days,
        window_start_day=window_start_day,
        plan_campaign=plan_campaign,
        plan_channel=plan_channel,
        plan_publisher=plan_publisher,
        plan_start_day=start,
        plan_end_day=end,
        plan_active_from=active_from,
        plan_active_to=active_to,
        plan_weight=plan_weight,
        plan_cpm=plan_cpm,
        plan_impressions=impressions,
        plan_budget=budget,
        **creatives,
    )


def _flights(plan_campaign: np.ndarray, window_start_day: int, days: int) -> tuple[np.ndarray, np.ndarray]:
    """Flight start and end (inclusive, days since epoch) of each plan row's campaign."""
    as_of_day = window_start_day + days
    flights = {
        "always_on": (window_start_day - 180, as_of_day + 185),
        "window": (window_start_day - 14, as_of_day + 30),
        "mid_window": (window_start_day + days // 4, as_of_day + 30),
        "upcoming": (as_of_day + 14, as_of_day + 75),
        "past": (window_start_day - 120, window_start_day - 31),
    }
    pairs = np.array([flights[CAMPAIGNS[index].flight] for index in plan_campaign])
    return pairs[:, 0], pairs[:, 1]


def _planned_impressions(
    people: int,
    days: int,
    plan_channel: np.ndarray,
    plan_weight: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    active_from: np.ndarray,
    active_to: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Impressions planned per row over its flight: the expected daily delivery, paced +/-10%.

    Rows that deliver in the window plan what the channel model will deliver per active day; rows of
    other flights plan a quarter of the channel's daily volume.
    """
    reach = np.array([CHANNEL_MODELS[c].reach * CHANNEL_MODELS[c].frequency for c in plan_channel])
    expected_in_window = people * reach * plan_weight
    active_days = active_to - active_from
    per_day = np.where(
        active_days > 0, expected_in_window / np.maximum(active_days, 1), 0.25 * people * reach / days
    )
    pacing = rng.uniform(0.9, 1.1, len(plan_channel))
    return np.round(per_day * (end - start + 1) * pacing).astype(np.int64)


def _creatives(plan_campaign: np.ndarray, plan_channel: np.ndarray, rng: np.random.Generator) -> dict:
    """Creatives per campaign x channel (3, search 4); rows of the same campaign and channel share them."""
    campaign, channel, formats, headlines = [], [], [], []
    first_of: dict[tuple[int, int], tuple[int, int]] = {}
    for campaign_index, channel_index in zip(plan_campaign, plan_channel, strict=True):
        key = (int(campaign_index), int(channel_index))
        if key in first_of:
            continue
        spec = CAMPAIGNS[key[0]]
        channel_name = CHANNELS[key[1]]
        count = 4 if channel_name == "search" else 3
        first_of[key] = (len(campaign), count)
        for number in range(count):
            campaign.append(key[0])
            channel.append(key[1])
            channel_formats = CREATIVE_FORMATS[channel_name]
            formats.append(channel_formats[number % len(channel_formats)])
            headlines.append(spec.headlines[number % len(spec.headlines)])
    keys = list(zip(plan_campaign.tolist(), plan_channel.tolist(), strict=True))
    return {
        "creative_campaign": np.array(campaign),
        "creative_channel": np.array(channel),
        "creative_format": tuple(formats),
        "creative_headline": tuple(headlines),
        "creative_ctr_factor": rng.lognormal(0.0, 0.3, len(campaign)),
        "plan_creative_first": np.array([first_of[key][0] for key in keys]),
        "plan_creative_count": np.array([first_of[key][1] for key in keys]),
    }


# ----------------------------------------------------------------------------------- landing tables


def _day_text(day: int) -> str:
    return (date(1970, 1, 1) + timedelta(days=int(day))).isoformat()


def advertisers_table() -> pa.Table:
    return pa.table(
        {
            "advertiser_id": [row[0] for row in ADVERTISERS],
            "advertiser_name": [row[1] for row in ADVERTISERS],
            "industry": [row[2] for row in ADVERTISERS],
            "country": [row[3] for row in ADVERTISERS],
        }
    )


def campaigns_table(setup: MediaSetup) -> pa.Table:
    starts, ends, budgets = [], [], []
    for index in range(len(CAMPAIGNS)):
        rows = setup.plan_campaign == index
        starts.append(_day_text(setup.plan_start_day[rows].min()))
        ends.append(_day_text(setup.plan_end_day[rows].max()))
        # The campaign budget holds the plan plus a 5% reserve, in hundreds of dollars.
        budgets.append(float(np.ceil(setup.plan_budget[rows].sum() * 1.05 / 100) * 100))
    return pa.table(
        {
            "campaign_id": [spec.campaign_id for spec in CAMPAIGNS],
            "advertiser_id": [spec.advertiser_id for spec in CAMPAIGNS],
            "campaign_name": [spec.name for spec in CAMPAIGNS],
            "objective": [spec.objective for spec in CAMPAIGNS],
            "start_date": starts,
            "end_date": ends,
            "budget": pa.array(budgets, pa.float64()),
            "currency": ["USD"] * len(CAMPAIGNS),
            "kpi_target_cpa": pa.array([spec.kpi_target_cpa for spec in CAMPAIGNS], pa.float64()),
            "kpi_target_roas": pa.array([spec.kpi_target_roas for spec in CAMPAIGNS], pa.float64()),
        }
    )


def media_plan_table(setup: MediaSetup) -> pa.Table:
    return pa.table(
        {
            "campaign_id": [CAMPAIGNS[index].campaign_id for index in setup.plan_campaign],
            "channel": [CHANNELS[index] for index in setup.plan_channel],
            "publisher_id": list(setup.plan_publisher),
            "start_date": [_day_text(day) for day in setup.plan_start_day],
            "end_date": [_day_text(day) for day in setup.plan_end_day],
            "planned_budget": pa.array(setup.plan_budget, pa.float64()),
            "planned_impressions": pa.array(setup.plan_impressions, pa.int64()),
        }
    )


def creatives_table(setup: MediaSetup) -> pa.Table:
    creative_ids = setup.creative_ids()
    urls = []
    for creative_id, campaign_index, channel_index in zip(
        creative_ids, setup.creative_campaign, setup.creative_channel, strict=True
    ):
        spec = CAMPAIGNS[campaign_index]
        domain = next(row[4] for row in ADVERTISERS if row[0] == spec.advertiser_id)
        urls.append(
            f"https://www.{domain}/{spec.path}?utm_medium={CHANNELS[channel_index]}"
            f"&utm_campaign={spec.campaign_id}&utm_content={creative_id}"
        )
    return pa.table(
        {
            "creative_id": creative_ids,
            "campaign_id": [CAMPAIGNS[index].campaign_id for index in setup.creative_campaign],
            "channel": [CHANNELS[index] for index in setup.creative_channel],
            "format": list(setup.creative_format),
            "headline": list(setup.creative_headline),
            "landing_url": urls,
        }
    )


def setup_description(setup: MediaSetup) -> dict:
    """The setup as JSON-ready data for ground_truth/world.json."""
    return {
        "client_advertiser": CLIENT_ADVERTISER,
        "advertisers": [{"advertiser_id": row[0], "name": row[1], "industry": row[2]} for row in ADVERTISERS],
        "publishers": [{"publisher_id": row[0], "name": row[1], "cpm_factor": row[2]} for row in PUBLISHERS],
        "audience_publishers": [
            {"publisher_id": pub, "share_of_people": share} for pub, share in AUDIENCE_PUBLISHERS
        ],
        "channels": [model.__dict__ for model in CHANNEL_MODELS],
        "campaigns": [
            {"campaign_id": spec.campaign_id, "advertiser_id": spec.advertiser_id, "flight": spec.flight}
            for spec in CAMPAIGNS
        ],
    }
