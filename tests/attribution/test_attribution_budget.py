"""Response curves and the budget allocator."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize

from adplan.attribution import ResponseCurve, allocate_budget, fit_response_curves
from adplan.attribution.budget import optimal_split

# Daily saturating-exponential truths: y = a (1 - exp(-spend / b))
TRUTH = {
    "search": (120.0, 800.0),
    "social": (60.0, 1500.0),
    "display": (40.0, 300.0),
    "video": (90.0, 4000.0),
}
TYPICAL_SPEND = {"search": 900.0, "social": 1200.0, "display": 500.0, "video": 2000.0}


def simulate_days(days: int = 120, noise: float = 0.05, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    dates = pd.date_range("2024-01-01", periods=days)
    for channel, (a, b) in TRUTH.items():
        spend = TYPICAL_SPEND[channel] * rng.uniform(0.2, 2.0, days)
        outcome = a * -np.expm1(-spend / b) * rng.lognormal(0, noise, days)
        rows.append(pd.DataFrame({"date": dates, "channel": channel, "spend": spend, "conversions": outcome}))
    return pd.concat(rows, ignore_index=True)


def true_curves() -> dict[str, ResponseCurve]:
    return {
        c: ResponseCurve(c, "exp", np.array(p), np.array([p]), TYPICAL_SPEND[c], 2 * TYPICAL_SPEND[c], 1, 1.0)
        for c, p in TRUTH.items()
    }


def test_fitted_curves_recover_the_truth_with_bootstrap_draws():
    curves = fit_response_curves(simulate_days(), n_bootstrap=50)
    assert set(curves) == set(TRUTH)
    for channel, (a, b) in TRUTH.items():
        curve = curves[channel]
        assert curve.params == pytest.approx([a, b], rel=0.15), channel
        assert curve.draws.shape == (50, 2)
        assert curve.r2 > 0.8
        lo, hi = np.percentile(curve.predict(TYPICAL_SPEND[channel], curve.draws.T), [5, 95])
        assert lo <= curve.predict(TYPICAL_SPEND[channel]) <= hi


def test_allocation_is_the_constrained_optimum_and_beats_equal_split():
    curves = true_curves()
    budget = 5000.0
    plan = allocate_budget(curves, budget, min_spend={"video": 1500.0}, max_spend={"search": 1000.0})
    spend = plan.allocation.set_index("channel")["recommended_spend"]
    assert spend.sum() == pytest.approx(budget, rel=1e-12)
    assert spend["video"] >= 1500.0 - 1e-9
    assert spend["search"] <= 1000.0 + 1e-9
    assert (spend >= 0).all()
    assert plan.expected_conversions > plan.equal_split_conversions

    # the same problem by a general-purpose constrained optimizer
    channels = list(curves)
    bounds = [(1500.0 if c == "video" else 0.0, 1000.0 if c == "search" else budget) for c in channels]

    def negative_total(x):
        return -sum(curves[c].predict(v) for c, v in zip(channels, x, strict=True))

    reference = minimize(
        negative_total,
        x0=np.full(len(channels), budget / len(channels)),
        bounds=bounds,
        constraints=[{"type": "eq", "fun": lambda x: x.sum() - budget}],
        method="SLSQP",
        options={"ftol": 1e-12, "maxiter": 500},
    )
    assert plan.expected_conversions >= -reference.fun - 1e-6
    assert spend[channels].to_numpy() == pytest.approx(reference.x, abs=0.5)


def test_free_channels_end_with_equal_marginal_returns():
    curves = true_curves()
    plan = allocate_budget(curves, 4000.0)
    allocation = plan.allocation.set_index("channel")
    free = allocation[(allocation["recommended_spend"] > 1e-6)]
    assert free["marginal_cpa"].to_numpy() == pytest.approx(free["marginal_cpa"].iloc[0], rel=1e-6)


def test_flight_days_scale_budget_bounds_and_outcome():
    curves = true_curves()
    daily = allocate_budget(curves, 3000.0)
    flight = allocate_budget(curves, 3000.0 * 14, flight_days=14)
    assert flight.expected_conversions == pytest.approx(14 * daily.expected_conversions)
    assert flight.allocation["recommended_daily_spend"].to_numpy() == pytest.approx(
        daily.allocation["recommended_daily_spend"].to_numpy()
    )
    frame = flight.to_frame()
    assert frame["channel"].iloc[-1] == "TOTAL"
    assert frame["recommended_spend"].iloc[-1] == pytest.approx(3000.0 * 14)


def test_plan_from_fitted_curves_has_an_interval_around_its_expectation():
    curves = fit_response_curves(simulate_days(noise=0.2, seed=3), n_bootstrap=40, seed=1)
    plan = allocate_budget(curves, 4500.0, flight_days=7)
    assert plan.expected_conversions_lo <= plan.expected_conversions <= plan.expected_conversions_hi
    allocation = plan.allocation
    assert (allocation["expected_conversions_lo"] <= allocation["expected_conversions_hi"]).all()


def test_hill_curves_fit_and_allocate():
    daily = simulate_days(seed=5)
    curves = fit_response_curves(daily, form="hill", n_bootstrap=10)
    for curve in curves.values():
        assert 0.05 <= curve.params[2] <= 1.0  # concave shapes only
        assert curve.r2 > 0.8
    plan = allocate_budget(curves, 5000.0)
    assert plan.allocation["recommended_spend"].sum() == pytest.approx(5000.0)
    assert plan.expected_conversions > plan.equal_split_conversions


def test_infeasible_bounds_are_refused():
    curves = true_curves()
    with pytest.raises(ValueError, match="infeasible"):
        allocate_budget(curves, 1000.0, min_spend={"search": 600.0, "video": 600.0})
    with pytest.raises(ValueError, match="infeasible"):
        allocate_budget(curves, 1000.0, max_spend=dict.fromkeys(TRUTH, 200.0))


def test_optimal_split_puts_everything_on_bounds_when_forced():
    curves = list(true_curves().values())
    spend = optimal_split(curves, 400.0, lo=np.array([100.0, 100.0, 100.0, 100.0]), hi=np.full(4, np.inf))
    assert spend == pytest.approx([100.0] * 4)
