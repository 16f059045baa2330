"""Heuristic (rule-based) attribution on aggregated paths.

The same six models as ``sql/attribution/heuristics.sql``, for paths that arrive already aggregated
(a ChannelAttribution CSV, or path counts from Athena). Aggregated paths carry neither event types
nor timestamps, so here "last non-direct click" is the last non-direct touch, and time decay halves a
touch's weight every ``half_life_touches`` steps before the conversion instead of every N days.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from adplan.attribution.paths import PathSet, as_paths, credits_frame

MODELS = ("first_touch", "last_touch", "last_non_direct_click", "linear", "position_based", "time_decay")


def heuristics(
    paths: PathSet | pd.DataFrame,
    *,
    direct_channel: str = "direct",
    first_weight: float = 0.4,
    last_weight: float = 0.4,
    half_life_touches: float = 1.0,
) -> pd.DataFrame:
    """Credits of all six heuristic models: columns model, channel, campaign_id, conversions, value."""
    paths = as_paths(paths)
    weights = touch_weights(
        paths,
        direct_channel=direct_channel,
        first_weight=first_weight,
        last_weight=last_weight,
        half_life_touches=half_life_touches,
    )
    conversions = paths.conversions[paths.path_of_touch]
    value = paths.value[paths.path_of_touch]
    frames = []
    for model, weight in weights.items():
        credited = np.bincount(paths.codes, weights=weight * conversions, minlength=paths.n_channels)
        credited_value = np.bincount(paths.codes, weights=weight * value, minlength=paths.n_channels)
        frames.append(credits_frame(model, paths.channels, credited, credited_value))
    return pd.concat(frames, ignore_index=True)


def touch_weights(
    paths: PathSet,
    *,
    direct_channel: str = "direct",
    first_weight: float = 0.4,
    last_weight: float = 0.4,
    half_life_touches: float = 1.0,
) -> dict[str, np.ndarray]:
    """Per model, the share of its path's conversion that each touch receives (shares sum to 1 per path)."""
    if first_weight < 0 or last_weight < 0 or first_weight + last_weight > 1:
        raise ValueError("position-based weights must be non-negative and sum to at most 1")
    position = paths.position
    length = paths.lengths[paths.path_of_touch]
    is_first = position == 0
    is_last = position == length - 1
    return {
        "first_touch": is_first.astype(float),
        "last_touch": is_last.astype(float),
        "last_non_direct_click": _last_non_direct(paths, direct_channel),
        "linear": 1.0 / length,
        "position_based": _position_based(position, length, first_weight, last_weight),
        "time_decay": _time_decay(paths, position, length, half_life_touches),
    }


def _last_non_direct(paths: PathSet, direct_channel: str) -> np.ndarray:
    """1 on each path's last touch that is not ``direct_channel``; on its last touch if all are direct."""
    direct = paths.channel_code(direct_channel)
    touch = np.arange(len(paths.codes))
    candidate = touch if direct is None else np.where(paths.codes != direct, touch, -1)
    chosen = np.maximum.reduceat(candidate, paths.offsets[:-1])
    chosen = np.where(chosen < 0, paths.offsets[1:] - 1, chosen)
    weight = np.zeros(len(paths.codes))
    weight[chosen] = 1.0
    return weight


def _position_based(position: np.ndarray, length: np.ndarray, first: float, last: float) -> np.ndarray:
    middle = (1.0 - first - last) / np.maximum(length - 2, 1)
    weight = np.where(position == 0, first, np.where(position == length - 1, last, middle))
    # Two touches: nothing in between, so first and last split the whole credit in their ratio.
    two = length == 2
    weight[two] = np.where(position[two] == 0, first, last) / (first + last)
    weight[length == 1] = 1.0
    return weight


def _time_decay(paths: PathSet, position: np.ndarray, length: np.ndarray, half_life: float) -> np.ndarray:
    if half_life <= 0:
        raise ValueError("half_life_touches must be positive")
    steps_before_conversion = length - 1 - position
    decay = np.exp2(-steps_before_conversion / half_life)
    per_path = np.add.reduceat(decay, paths.offsets[:-1])
    return decay / per_path[paths.path_of_touch]
