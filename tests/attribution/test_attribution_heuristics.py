"""Heuristic models on aggregated paths, against hand-computed credits."""

from __future__ import annotations

import pandas as pd
import pytest

from adplan.attribution import heuristics

PATHS = pd.DataFrame(
    {
        "path": ["search > display > email > direct", "direct > direct", "video", "social"],
        "total_conversions": [2, 1, 1, 0],
        "total_conversion_value": [100, 50, 20, 0],
        "total_null": [0, 0, 0, 3],
    }
)


def _by_model(frame: pd.DataFrame) -> dict[str, dict[str, tuple[float, float]]]:
    out: dict[str, dict[str, tuple[float, float]]] = {}
    for row in frame.itertuples():
        out.setdefault(row.model, {})[row.channel] = (row.conversions, row.value)
    return out


def test_heuristics_match_hand_computation():
    credits = _by_model(heuristics(PATHS, half_life_touches=1.0))
    zero = (0.0, 0.0)
    assert credits["first_touch"] == {
        "direct": (1, 50),
        "display": zero,
        "email": zero,
        "search": (2, 100),
        "social": zero,
        "video": (1, 20),
    }
    assert credits["last_touch"]["direct"] == (3, 150)
    assert credits["last_non_direct_click"]["email"] == (2, 100)
    assert credits["last_non_direct_click"]["direct"] == (1, 50)  # an all-direct path keeps direct
    assert credits["linear"]["search"] == pytest.approx((0.5, 25))
    assert credits["linear"]["direct"] == pytest.approx((1.5, 75))
    assert credits["position_based"]["search"] == pytest.approx((0.8, 40))
    assert credits["position_based"]["display"] == pytest.approx((0.2, 10))
    # time decay by steps, half-life 1 touch: weights 1/8, 1/4, 1/2, 1 over 15/8
    assert credits["time_decay"]["search"] == pytest.approx((2 * (1 / 8) / (15 / 8), 100 / 15))
    assert credits["time_decay"]["direct"] == pytest.approx((2 * 8 / 15 + 1, 100 * 8 / 15 + 50))
    for model in credits.values():
        assert sum(c for c, _ in model.values()) == pytest.approx(4)
        assert sum(v for _, v in model.values()) == pytest.approx(170)


def test_heuristics_shape_and_options():
    frame = heuristics(PATHS, first_weight=0.3, last_weight=0.5, direct_channel="nothing")
    assert list(frame.columns) == ["model", "channel", "campaign_id", "conversions", "value"]
    credits = _by_model(frame)
    assert credits["last_non_direct_click"]["direct"] == (3, 150)  # no channel named "nothing"
    assert credits["position_based"]["search"] == pytest.approx((0.6, 30))
    with pytest.raises(ValueError, match="position-based"):
        heuristics(PATHS, first_weight=0.7, last_weight=0.7)
