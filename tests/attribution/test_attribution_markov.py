"""Exact Markov chain attribution against closed forms and hand-solved chains."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from adplan.attribution import markov

# ChannelAttribution's small example shape: a cycle (c -> a -> b -> c) and a repeated channel.
CYCLIC = pd.DataFrame(
    {
        "path": ["a > b > c", "a > a > b", "b", "c > a", "a > b > c > c", "b > c"],
        "total_conversions": [3, 1, 2, 0, 1, 0],
        "total_conversion_value": [30, 5, 40, 0, 10, 0],
        "total_null": [1, 2, 3, 4, 0, 2],
    }
)


def _effects(frame: pd.DataFrame) -> dict[str, float]:
    return dict(zip(frame["channel"], frame["removal_effect"], strict=True))


def test_order_one_on_a_chain_without_cycles_equals_the_closed_form():
    # start -> a (2/3) | b (1/3); a -> b (1/2) | null (1/2); b -> conversion (1/2) | null (1/2)
    paths = pd.DataFrame(
        {"path": ["a > b", "a", "b"], "total_conversions": [1, 0, 1], "total_null": [1, 2, 1]}
    )
    result = markov(paths, order=1)
    p_full = 2 / 3 * 1 / 2 * 1 / 2 + 1 / 3 * 1 / 2  # = 1/3
    assert result.attrs["conversion_probability"] == pytest.approx(p_full)
    p_without_a = 1 / 3 * 1 / 2
    effects = _effects(result)
    assert effects == pytest.approx({"a": 1 - p_without_a / p_full, "b": 1.0})
    shares = np.array([effects["a"], effects["b"]]) / (effects["a"] + effects["b"])
    assert result["conversions"].tolist() == pytest.approx(list(shares * 2))


def test_order_one_removal_effects_solve_the_cycle_exactly():
    result = markov(CYCLIC, order=1)
    # Hand-solved absorbing chain (self-loops dropped; conversion probability 7/19):
    # P_a = 2/3 P_b, P_b = 1/5 + 7/15 P_c, P_c = 4/11 + 4/11 P_a.
    assert result.attrs["conversion_probability"] == pytest.approx(7 / 19)
    without_a = (7 * 61 / 165 + 4 * 4 / 11) / 19
    without_b = 4 * (4 / 11) / 19  # a can only go to b: only c converts, directly
    without_c = (8 * (2 / 3) * (1 / 5) + 7 * (1 / 5)) / 19
    expected = {"a": 1 - without_a / (7 / 19), "b": 1 - without_b / (7 / 19), "c": 1 - without_c / (7 / 19)}
    assert _effects(result) == pytest.approx(expected, abs=1e-12)
    assert result["conversions"].sum() == pytest.approx(7)
    assert result["value"].sum() == pytest.approx(85)


def test_removal_effects_agree_with_channelattribution():
    # ChannelAttribution 2.2.5 markov_model(order=k, nsim_start=1e6, max_step=100) on CYCLIC, rounded.
    # Its walks are simulated (hence the tolerance); its default max_step truncates walks at the
    # longest path, which biases cyclic chains (a: 0.383 at order 1), so max_step was raised.
    channelattribution = {
        1: ({"a": 0.4238, "b": 0.7929, "c": 0.6470}, {"a": 0.4448, "b": 0.8300, "c": 0.5636}),
        2: ({"a": 0.5505, "b": 1.0, "c": 0.5727}, {"a": 0.3949, "b": 1.0, "c": 0.4716}),
    }
    for order, (conversion, value) in channelattribution.items():
        result = markov(CYCLIC, order=order)
        assert _effects(result) == pytest.approx(conversion, abs=0.005)
        assert dict(zip(result["channel"], result["removal_effect_value"], strict=True)) == pytest.approx(
            value, abs=0.005
        )


def test_higher_orders_use_sequences_of_channels():
    # At order 2 "a > b" and "b > a" are different states; at order 1 they are the same two states.
    paths = pd.DataFrame(
        {"path": ["a > b", "b > a", "a", "b"], "total_conversions": [9, 1, 1, 1], "total_null": [1, 9, 9, 9]}
    )
    first, second = markov(paths, order=1), markov(paths, order=2)
    # order 2: removing either channel removes both 2-step states; each keeps only its own 1-step path
    p_full = (9 + 1 + 1 + 1) / 40
    assert second.attrs["conversion_probability"] == pytest.approx(p_full)
    assert _effects(second) == pytest.approx({"a": 1 - (1 / 40) / p_full, "b": 1 - (1 / 40) / p_full})
    assert not np.allclose(first["removal_effect"], second["removal_effect"])


def test_order_three_runs_and_conserves_conversions():
    rng = np.random.default_rng(0)
    channels = np.array(list("abcdefg"))
    paths = [" > ".join(rng.choice(channels, size=rng.integers(1, 8))) for _ in range(3000)]
    frame = pd.DataFrame(
        {"path": paths, "total_conversions": rng.integers(0, 3, 3000), "total_null": rng.integers(0, 5, 3000)}
    )
    result = markov(frame, order=3)
    assert result["conversions"].sum() == pytest.approx(frame["total_conversions"].sum())
    assert (result["removal_effect"].between(0, 1)).all()
