"""Exposure and conversion: the causal model whose truth goes to ``channel_effects.json``.

Exposure is randomized: whether a person sees a channel depends only on the channel's reach, and how
often on a media-consumption factor drawn independently of everything else, so exposure is independent
of the baseline propensity (no confounding). Conversion in the window is additive on the probability
scale:

    P(order in window) = propensity + sum over channels c the person was exposed to of lift_c

One uniform draw per person decides both worlds (potential outcomes): below ``propensity`` the person
would have ordered anyway (a baseline conversion, with or without ads); between ``propensity`` and the
total, the order happened because of advertising, and the channel whose slice of the stacked lifts the
draw falls in gets the credit. Each channel's realized incremental conversions are therefore an unbiased
draw of ``lift_c x exposed people``, which is also each channel's exact Shapley value (the lifts add up).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from adplan.world.media import CHANNEL_MODELS
from adplan.world.people import People
from adplan.world.schema import CHANNELS

NOT_CONVERTED = -1
BASELINE = len(CHANNELS)  # the cause of a conversion that would have happened without ads
ORDER_VALUE_MEDIAN_BY_TIER = np.array([35.0, 70.0, 140.0])  # dollars, low / mid / high
ORDER_VALUE_SIGMA = 0.55
_LIFTS = np.array([model.lift for model in CHANNEL_MODELS])
_REACH = np.array([model.reach for model in CHANNEL_MODELS])
_FREQUENCY = np.array([model.frequency for model in CHANNEL_MODELS])


def draw_exposures(rng: np.random.Generator, people: People) -> np.ndarray:
    """(people, channels) impression counts: reach by coin flip, 1 + Poisson frequency scaled by heaviness."""
    exposed = rng.random((people.count, len(CHANNELS))) < _REACH
    extra = rng.poisson(people.heaviness[:, None] * (_FREQUENCY - 1.0))
    return np.where(exposed, 1 + extra, 0).astype(np.int64)


def decide_conversions(rng: np.random.Generator, people: People, counts: np.ndarray) -> np.ndarray:
    """Per person: NOT_CONVERTED, a channel index (incremental conversion) or BASELINE."""
    exposed = counts > 0
    draw = rng.random(people.count)
    stacked = people.propensity[:, None] + np.cumsum(exposed * _LIFTS, axis=1)
    channel = (draw[:, None] >= stacked).sum(axis=1)  # the first channel whose slice holds the draw
    return np.where(
        draw < people.propensity, BASELINE, np.where(channel < len(CHANNELS), channel, NOT_CONVERTED)
    )


def order_values(rng: np.random.Generator, value_tier: np.ndarray) -> np.ndarray:
    """Order values in cents, lognormal around the person's tier median."""
    dollars = ORDER_VALUE_MEDIAN_BY_TIER[value_tier] * rng.lognormal(0.0, ORDER_VALUE_SIGMA, len(value_tier))
    return np.maximum(np.round(dollars * 100), 100).astype(np.int64)


def expected_order_value(value_tier: np.ndarray) -> np.ndarray:
    return ORDER_VALUE_MEDIAN_BY_TIER[value_tier] * np.exp(ORDER_VALUE_SIGMA**2 / 2)


@dataclass
class EffectTally:
    """Running totals over chunks for channel_effects.json."""

    people: int = 0
    exposed_people: np.ndarray = field(default_factory=lambda: np.zeros(len(CHANNELS), dtype=np.int64))
    any_exposure: int = 0
    impressions: np.ndarray = field(default_factory=lambda: np.zeros(len(CHANNELS), dtype=np.int64))
    expected_incremental: np.ndarray = field(default_factory=lambda: np.zeros(len(CHANNELS)))
    expected_incremental_revenue: np.ndarray = field(default_factory=lambda: np.zeros(len(CHANNELS)))
    realized_incremental: np.ndarray = field(default_factory=lambda: np.zeros(len(CHANNELS), dtype=np.int64))
    realized_incremental_revenue: np.ndarray = field(default_factory=lambda: np.zeros(len(CHANNELS)))
    expected_baseline: float = 0.0
    realized_baseline: int = 0
    baseline_revenue: float = 0.0
    no_touch_conversions: int = 0  # conversions of people with no exposure at all

    def add(self, people: People, counts: np.ndarray, cause: np.ndarray, value_cents: np.ndarray) -> None:
        exposed = counts > 0
        expected_value = expected_order_value(people.value_tier)
        dollars = value_cents / 100.0
        self.people += people.count
        self.exposed_people += exposed.sum(axis=0)
        self.any_exposure += int(exposed.any(axis=1).sum())
        self.impressions += counts.sum(axis=0)
        self.expected_incremental += exposed.sum(axis=0) * _LIFTS
        self.expected_incremental_revenue += (exposed * expected_value[:, None]).sum(axis=0) * _LIFTS
        for channel in range(len(CHANNELS)):
            caused = cause == channel
            self.realized_incremental[channel] += int(caused.sum())
            self.realized_incremental_revenue[channel] += float(dollars[caused].sum())
        self.expected_baseline += float(people.propensity.sum())
        self.realized_baseline += int((cause == BASELINE).sum())
        self.baseline_revenue += float(dollars[cause == BASELINE].sum())
        self.no_touch_conversions += int(((cause != NOT_CONVERTED) & ~exposed.any(axis=1)).sum())

    def to_json(self) -> dict:
        incremental = int(self.realized_incremental.sum())
        expected = float(self.expected_incremental.sum())
        channels = {}
        for index, model in enumerate(CHANNEL_MODELS):
            exposed = int(self.exposed_people[index])
            channels[model.name] = {
                "lift": model.lift,
                "relative_lift": round(model.lift / (self.expected_baseline / max(self.people, 1)), 6),
                "reach": model.reach,
                "exposed_people": exposed,
                "impressions": int(self.impressions[index]),
                "expected_incremental_conversions": round(float(self.expected_incremental[index]), 3),
                "incremental_conversions": int(self.realized_incremental[index]),
                "share_of_incremental": round(int(self.realized_incremental[index]) / max(incremental, 1), 6),
                "expected_share_of_incremental": round(
                    float(self.expected_incremental[index]) / max(expected, 1e-12), 6
                ),
                "expected_incremental_revenue": round(float(self.expected_incremental_revenue[index]), 2),
                "incremental_revenue": round(float(self.realized_incremental_revenue[index]), 2),
            }
        return {
            "model": {
                "name": "additive_probability_lift",
                "formula": "P(order in window) = propensity + sum_c lift_c * exposed_c",
                "exposure": "randomized: reach is a coin flip per person and channel, frequency depends on a "
                "media-consumption factor drawn independently of propensity (no confounding)",
                "unit": "person; a conversion is a person's order in the event window (at most one per person); "
                "orders before the window are history and not conversions",
                "exposed_c": "at least one impression of channel c in the window",
                "attribution_of_incremental": "one uniform draw per person; the channel whose slice of the "
                "stacked lifts holds it gets the conversion (realized counts are unbiased for lift_c * exposed)",
                "timing": "an incremental conversion happens after the person's first impression of its channel; "
                "a baseline conversion at a uniform time in the window",
            },
            "people": self.people,
            "exposed_people": self.any_exposure,
            "baseline": {
                "expected_conversions": round(self.expected_baseline, 3),
                "conversions": self.realized_baseline,
                "revenue": round(self.baseline_revenue, 2),
                "no_touch_conversions": self.no_touch_conversions,
                "mean_propensity": round(self.expected_baseline / max(self.people, 1), 6),
            },
            "incremental": {
                "expected_conversions": round(expected, 3),
                "conversions": incremental,
                "revenue": round(float(self.realized_incremental_revenue.sum()), 2),
            },
            "total_conversions": incremental + self.realized_baseline,
            "channels": channels,
        }
