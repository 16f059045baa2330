"""Shapley value attribution over channel coalitions."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from adplan.attribution import shapley
from adplan.attribution.shapley import restricted_shapley, shapley_values


def _credits(frame: pd.DataFrame) -> dict[str, float]:
    return dict(zip(frame["channel"], frame["conversions"], strict=True))


def test_two_channels_match_hand_computation():
    paths = pd.DataFrame(
        {
            "path": ["a", "b", "a > b", "b > a > b"],  # order and repeats do not matter: {a, b}
            "total_conversions": [10, 20, 15, 5],
            "total_null": [90, 80, 30, 15],
            "total_conversion_value": [100, 200, 150, 50],
        }
    )
    rate_a, rate_b, rate_ab = 0.1, 0.2, 20 / 65
    phi_a = (rate_a + (rate_ab - rate_b)) / 2
    phi_b = (rate_b + (rate_ab - rate_a)) / 2
    expected = {"a": 10 + 20 * phi_a / rate_ab, "b": 20 + 20 * phi_b / rate_ab}
    result = shapley(paths)
    assert _credits(result) == pytest.approx(expected)
    assert result["value"].sum() == pytest.approx(500)  # value is shared the same way


def test_three_channels_match_permutation_average():
    paths = pd.DataFrame(
        {
            "path": ["a", "b", "c", "a > b", "a > c", "b > c", "a > b > c"],
            "total_conversions": [1, 2, 3, 4, 2, 6, 8],
            "total_null": [99, 48, 97, 36, 18, 34, 12],
        }
    )
    rate = {frozenset("a"): 0.01, frozenset("b"): 0.04, frozenset("c"): 0.03, frozenset("ab"): 0.1,
            frozenset("ac"): 0.1, frozenset("bc"): 0.15, frozenset("abc"): 0.4}  # fmt: skip

    def worth(members) -> float:
        return rate.get(frozenset(members), 0.0)

    expected = dict.fromkeys("abc", 0.0)
    for coalition, conversions in zip(
        ["a", "b", "c", "ab", "ac", "bc", "abc"], paths["total_conversions"], strict=True
    ):
        # Shapley of the rate game restricted to the coalition, by averaging over all orderings
        orderings = list(itertools.permutations(coalition))
        for player in coalition:
            phi = 0.0
            for ordering in orderings:
                before = ordering[: ordering.index(player)]
                phi += worth((*before, player)) - worth(before)
            expected[player] += conversions * phi / len(orderings) / worth(coalition)
    assert _credits(shapley(paths)) == pytest.approx(expected)


def test_efficiency_credits_sum_to_total_conversions():
    rng = np.random.default_rng(1)
    channels = np.array(list("abcdefgh"))
    paths = [" > ".join(rng.choice(channels, size=rng.integers(1, 6))) for _ in range(5000)]
    frame = pd.DataFrame(
        {
            "path": paths,
            "total_conversions": rng.poisson(1.0, 5000),
            "total_null": rng.poisson(20, 5000),
            "total_conversion_value": rng.gamma(2.0, 50, 5000),
        }
    )
    frame.loc[frame["total_conversions"] == 0, "total_conversion_value"] = 0
    result = shapley(frame)
    assert result["conversions"].sum() == pytest.approx(frame["total_conversions"].sum())
    assert result["value"].sum() == pytest.approx(frame["total_conversion_value"].sum())


def test_subset_transforms_equal_brute_force_shapley():
    n = 5
    worth = np.random.default_rng(2).random(1 << n)
    brute = np.zeros(n)
    for ordering in itertools.permutations(range(n)):
        mask = 0
        for player in ordering:
            brute[player] += worth[mask | 1 << player] - worth[mask]
            mask |= 1 << player
    brute /= math.factorial(n)
    assert shapley_values(worth, n) == pytest.approx(brute)
    assert restricted_shapley(worth, n)[(1 << n) - 1] == pytest.approx(brute)


def test_too_many_channels_is_refused():
    frame = pd.DataFrame({"path": [" > ".join(f"c{i}" for i in range(5))], "total_conversions": [1]})
    with pytest.raises(ValueError, match="coalitions"):
        shapley(frame, max_channels=4)
