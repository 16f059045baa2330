"""The incrementality model recovers true incremental contributions on unconfounded data; path
heuristics, which only look at converting paths, cannot."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from adplan.attribution import PathSet, heuristics, incrementality
from adplan.attribution.incrementality import OutcomeDesign

CHANNELS = ["display", "email", "search", "social", "video"]
REACH = np.array([0.5, 0.3, 0.15, 0.4, 0.1])  # share of people exposed, independently
FREQUENCY = np.array([6.0, 1.0, 0.5, 2.0, 1.0])  # extra exposures of an exposed person (Poisson)
LIFT = np.array([0.0, 0.02, 0.10, 0.03, 0.08])  # added conversion probability when exposed
BASELINE = 0.02


def simulate(people: int, seed: int) -> tuple[pd.DataFrame, np.ndarray, np.random.Generator]:
    """Independent exposures; conversion probability = baseline + the lifts of the exposed channels."""
    rng = np.random.default_rng(seed)
    exposed = rng.random((people, len(CHANNELS))) < REACH
    counts = np.where(exposed, 1 + rng.poisson(FREQUENCY, (people, len(CHANNELS))), 0)
    converted = rng.random(people) < BASELINE + exposed @ LIFT
    units = pd.DataFrame(counts, columns=CHANNELS).assign(
        converted=converted, value=np.where(converted, 50.0, 0)
    )
    true_incremental = LIFT * exposed.sum(axis=0)
    return units, true_incremental / true_incremental.sum(), rng


def converting_paths(units: pd.DataFrame, rng: np.random.Generator) -> PathSet:
    """The converters' touches in random time order (timing carries no causal information here)."""
    converters = units[units["converted"] & (units[CHANNELS].sum(axis=1) > 0)]
    counts = converters[CHANNELS].to_numpy()
    lengths = counts.sum(axis=1)
    codes = np.repeat(np.tile(np.arange(len(CHANNELS)), len(counts)), counts.ravel())
    journey = np.repeat(np.arange(len(counts)), lengths)
    shuffled = np.lexsort((rng.random(len(codes)), journey))
    ones = np.ones(len(counts))
    return PathSet(
        np.array(CHANNELS, dtype=object), codes[shuffled].astype(np.int32), np.r_[0, np.cumsum(lengths)],
        ones, ones * 50, np.zeros(len(counts)),
    )  # fmt: skip


def total_variation(shares: np.ndarray, truth: np.ndarray) -> float:
    return 0.5 * float(np.abs(shares - truth).sum())


def test_incrementality_recovers_true_shares_where_last_touch_cannot():
    units, truth, rng = simulate(300_000, seed=7)
    result = incrementality(units, n_bootstrap=30, seed=3)
    assert result["channel"].tolist() == CHANNELS
    assert total_variation(result["share"].to_numpy(), truth) < 0.03

    last_touch = heuristics(converting_paths(units, rng)).query("model == 'last_touch'")
    last_touch_shares = last_touch["conversions"].to_numpy() / last_touch["conversions"].sum()
    assert total_variation(last_touch_shares, truth) > 0.2  # display, seen often, takes the credit

    # incremental conversions: the lifts times the people exposed, within sampling error
    exposed = (units[CHANNELS] > 0).sum().to_numpy()
    assert result["conversions"].sum() == pytest.approx((LIFT * exposed).sum(), rel=0.05)
    assert result.attrs["baseline_conversions"] == pytest.approx(BASELINE * len(units), rel=0.05)
    assert result["value"].to_numpy() == pytest.approx(result["conversions"].to_numpy() * 50)


def test_bootstrap_intervals_bracket_the_estimates():
    units, _, _ = simulate(100_000, seed=11)
    result = incrementality(units, n_bootstrap=40, ci=0.9, seed=1)
    assert (result["conversions_lo"] <= result["conversions"]).all()
    assert (result["conversions"] <= result["conversions_hi"]).all()
    assert (result["share_lo"] < result["share_hi"]).all()
    # the zero-lift channel's interval reaches zero; the strongest channel's stays clear of it
    display = result.set_index("channel").loc["display"]
    assert display.conversions_lo < 0 < display.conversions_hi or abs(display.share) < 0.03
    assert result.set_index("channel").loc["search", "conversions_lo"] > 0


def test_coalition_logits_equal_the_design_of_restricted_exposures():
    rng = np.random.default_rng(0)
    design = OutcomeDesign(n_channels=4, log_counts=True, interaction_order=3)
    counts = rng.poisson(1.0, (50, 4))
    x = design.matrix(counts)
    assert x.shape[1] == len(design.column_channels) == 1 + 4 + 4 + 6 + 4
    beta = rng.normal(size=x.shape[1])
    all_at_once = (x * beta) @ design.coalition_columns.T
    for coalition in range(16):
        keep = np.array([(coalition >> c) & 1 for c in range(4)])
        assert all_at_once[:, coalition] == pytest.approx(design.matrix(counts * keep) @ beta)
