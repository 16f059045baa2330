"""Budget planning: response curves with diminishing returns, and an allocator for the next flight.

A response curve maps a channel's daily spend to its daily (attributed or incremental) conversions.
Both forms are concave, so returns diminish from the first dollar:

* ``exp``:  ``y = a · (1 - exp(-spend / b))``     (a: saturation level, b: spend scale)
* ``hill``: ``y = a · s^k / (s^k + h^k)``, k ≤ 1 (h: half-saturation spend; k > 1 would be S-shaped)

Curves are fitted by least squares on daily points; a bootstrap over days (the same days for every
channel, which keeps their correlation) gives parameter draws for the uncertainty of any plan.

The allocator maximizes the total response under a total budget and per-channel bounds. For concave
curves the optimum equalizes marginal returns (KKT): every channel not at a bound spends where its
marginal conversions per dollar equal a common λ, so bisection on λ (and on spend per channel for a
given λ) finds the exact optimum, up to floating point.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import curve_fit, minimize_scalar


def _exp(spend, a, b):
    return a * -np.expm1(-spend / b)


def _exp_marginal(spend, a, b):
    return a / b * np.exp(-spend / b)


def _hill(spend, a, h, k):
    ratio = np.power(np.maximum(spend, 0.0) / h, k)
    return a * ratio / (1.0 + ratio)


def _hill_marginal(spend, a, h, k):
    s = np.maximum(spend, 1e-12 * h)
    ratio = np.power(s / h, k)
    return a * k * ratio / (s * (1.0 + ratio) ** 2)


def _exp_jacobian(spend, a, b):
    decay = np.exp(-spend / b)
    return np.column_stack([1.0 - decay, -a * spend / b**2 * decay])


def _hill_jacobian(spend, a, h, k):
    s = np.maximum(spend, 0.0)
    ratio = np.power(s / h, k)
    share = ratio / (1.0 + ratio)
    slope = a / (1.0 + ratio) ** 2  # d response / d ratio
    log_ratio = np.log(np.where(s > 0, s / h, 1.0))
    return np.column_stack([share, slope * -k * ratio / h, slope * ratio * log_ratio])


@dataclass(frozen=True)
class CurveForm:
    response: Callable[..., np.ndarray]
    marginal: Callable[..., np.ndarray]
    jacobian: Callable[..., np.ndarray]  # d response / d params, for the least-squares fit
    n_params: int


FORMS = {
    "exp": CurveForm(_exp, _exp_marginal, _exp_jacobian, 2),
    "hill": CurveForm(_hill, _hill_marginal, _hill_jacobian, 3),
}


@dataclass(frozen=True)
class ResponseCurve:
    """A fitted daily response curve of one channel, with bootstrap parameter draws."""

    channel: str
    form: str
    params: np.ndarray
    draws: np.ndarray  # (n_bootstrap, n_params)
    mean_daily_spend: float
    max_daily_spend: float
    n_days: int
    r2: float

    def predict(self, spend, params: np.ndarray | None = None) -> np.ndarray:
        return FORMS[self.form].response(np.asarray(spend, dtype=float), *self._params(params))

    def marginal(self, spend, params: np.ndarray | None = None) -> np.ndarray:
        """Conversions per extra unit of spend at ``spend``."""
        return FORMS[self.form].marginal(np.asarray(spend, dtype=float), *self._params(params))

    def _params(self, params: np.ndarray | None) -> np.ndarray:
        return self.params if params is None else params


@dataclass(frozen=True)
class BudgetPlan:
    """A recommended allocation of a flight's budget and its expected outcome."""

    allocation: pd.DataFrame  # one row per channel
    total_budget: float
    flight_days: int
    expected_conversions: float
    expected_conversions_lo: float
    expected_conversions_hi: float
    equal_split_conversions: float
    current_mix_conversions: float  # the same budget split in the historical mix

    def to_frame(self) -> pd.DataFrame:
        """The allocation with a ``TOTAL`` row (the ``budget_recommendation`` table)."""
        total = {
            "channel": "TOTAL",
            "recommended_spend": self.allocation["recommended_spend"].sum(),
            "recommended_daily_spend": self.allocation["recommended_daily_spend"].sum(),
            "current_daily_spend": self.allocation["current_daily_spend"].sum(),
            "expected_conversions": self.expected_conversions,
            "expected_conversions_lo": self.expected_conversions_lo,
            "expected_conversions_hi": self.expected_conversions_hi,
        }
        return pd.concat([self.allocation, pd.DataFrame([total])], ignore_index=True)


def fit_response_curves(
    daily: pd.DataFrame,
    *,
    form: str = "exp",
    date_col: str = "date",
    channel_col: str = "channel",
    spend_col: str = "spend",
    outcome_col: str = "conversions",
    n_bootstrap: int = 200,
    seed: int = 0,
) -> dict[str, ResponseCurve]:
    """Fit one curve per channel on daily (spend, outcome) points.

    ``daily``: one row per date and channel (missing pairs count as zero spend and zero outcome).
    Channels that never spent are skipped: there is nothing to plan for them.
    """
    if form not in FORMS:
        raise ValueError(f"form must be one of {sorted(FORMS)}")
    spend = daily.pivot_table(
        index=date_col, columns=channel_col, values=spend_col, aggfunc="sum", fill_value=0
    )
    outcome = daily.pivot_table(
        index=date_col, columns=channel_col, values=outcome_col, aggfunc="sum", fill_value=0
    )
    outcome = outcome.reindex(index=spend.index, columns=spend.columns, fill_value=0)
    rng = np.random.default_rng(seed)
    resampled_days = rng.integers(0, len(spend), size=(n_bootstrap, len(spend)))
    curves = {}
    for channel in spend.columns:
        x, y = spend[channel].to_numpy(float), outcome[channel].to_numpy(float)
        if not (x > 0).any():
            continue
        params = _fit(form, x, y)
        draws = np.array([_fit(form, x[days], y[days], start=params) for days in resampled_days])
        curves[str(channel)] = ResponseCurve(
            channel=str(channel),
            form=form,
            params=params,
            draws=draws.reshape(n_bootstrap, FORMS[form].n_params),
            mean_daily_spend=float(x.mean()),
            max_daily_spend=float(x.max()),
            n_days=len(x),
            r2=_r2(y, FORMS[form].response(x, *params)),
        )
    return curves


def allocate_budget(
    curves: Mapping[str, ResponseCurve],
    total_budget: float,
    *,
    flight_days: int = 1,
    min_spend: Mapping[str, float] | None = None,
    max_spend: Mapping[str, float] | None = None,
    ci: float = 0.9,
) -> BudgetPlan:
    """Split ``total_budget`` (for a flight of ``flight_days``) across the channels of ``curves``.

    ``min_spend`` / ``max_spend`` bound a channel's spend over the whole flight. The expected outcome
    is the curves' response times the days; its interval comes from the curves' bootstrap draws.
    """
    channels = list(curves)
    daily_budget = total_budget / flight_days
    lo = np.array([(min_spend or {}).get(c, 0.0) for c in channels], dtype=float) / flight_days
    hi = np.array([(max_spend or {}).get(c, np.inf) for c in channels], dtype=float) / flight_days
    if lo.sum() > daily_budget * (1 + 1e-12) or hi.sum() < daily_budget * (1 - 1e-12) or (lo > hi).any():
        raise ValueError(
            "infeasible bounds: the minimums exceed the budget, or the maximums fall short of it"
        )
    daily_spend = optimal_split([curves[c] for c in channels], daily_budget, lo, hi)
    return _plan(curves, channels, daily_spend, lo, hi, total_budget, flight_days, ci)


def optimal_split(curves: list[ResponseCurve], budget: float, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Maximize Σ curve_i(x_i) with Σ x_i = budget and lo ≤ x ≤ hi, for concave curves."""
    hi = np.minimum(hi, budget)
    marginal_at_lo = np.array([float(c.marginal(x)) for c, x in zip(curves, lo, strict=True)])
    lam_lo, lam_hi = 1e-300, max(float(marginal_at_lo.max()), 1e-300)
    # Σ spend(λ) falls as λ rises; bisect λ on a log scale (marginals span many magnitudes).
    for _ in range(200):
        lam = np.sqrt(lam_lo * lam_hi)
        if _spend_at_marginal(curves, lam, lo, hi).sum() > budget:
            lam_lo = lam
        else:
            lam_hi = lam
        if lam_hi / lam_lo - 1 < 1e-15:
            break
    spend = _spend_at_marginal(curves, lam_hi, lo, hi)
    # Absorb the last rounding residue in the channel with the most room, so Σ spend == budget.
    residue = budget - spend.sum()
    room = hi - spend if residue > 0 else spend - lo
    spend[int(np.argmax(room))] += residue
    return spend


def _spend_at_marginal(curves: list[ResponseCurve], lam: float, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Per channel, the spend in [lo, hi] where the marginal return equals ``lam`` (by bisection)."""
    spend = np.empty(len(curves))
    for i, curve in enumerate(curves):
        a, b = lo[i], hi[i]
        if curve.marginal(a) <= lam:
            spend[i] = a
            continue
        if curve.marginal(b) >= lam:
            spend[i] = b
            continue
        for _ in range(100):
            mid = 0.5 * (a + b)
            if curve.marginal(mid) > lam:
                a = mid
            else:
                b = mid
            if b - a <= 1e-12 * max(1.0, b):
                break
        spend[i] = 0.5 * (a + b)
    return spend


def _plan(curves, channels, daily_spend, lo, hi, total_budget, flight_days, ci) -> BudgetPlan:
    tails = [(1 - ci) / 2 * 100, (1 + ci) / 2 * 100]
    per_channel = np.array([float(curves[c].predict(x)) for c, x in zip(channels, daily_spend, strict=True)])
    per_draw = np.array(
        [curves[c].predict(x, curves[c].draws.T) for c, x in zip(channels, daily_spend, strict=True)]
    )  # channels x draws
    marginal = np.array([float(curves[c].marginal(x)) for c, x in zip(channels, daily_spend, strict=True)])
    current = np.array([curves[c].mean_daily_spend for c in channels])
    daily_budget = total_budget / flight_days
    current_mix = current / current.sum() * daily_budget if current.sum() > 0 else np.full(len(channels), 0.0)
    equal = np.full(len(channels), daily_budget / len(channels))
    allocation = pd.DataFrame(
        {
            "channel": channels,
            "current_daily_spend": current,
            "recommended_daily_spend": daily_spend,
            "recommended_spend": daily_spend * flight_days,
            "min_spend": lo * flight_days,
            "max_spend": hi * flight_days,
            "expected_conversions": per_channel * flight_days,
            "expected_conversions_lo": np.percentile(per_draw, tails[0], axis=1) * flight_days,
            "expected_conversions_hi": np.percentile(per_draw, tails[1], axis=1) * flight_days,
            "marginal_cpa": np.divide(1.0, marginal, out=np.full(len(channels), np.inf), where=marginal > 0),
            "beyond_observed_spend": daily_spend > np.array([curves[c].max_daily_spend for c in channels]),
        }
    )
    totals = per_draw.sum(axis=0) * flight_days
    return BudgetPlan(
        allocation=allocation,
        total_budget=float(total_budget),
        flight_days=flight_days,
        expected_conversions=float(per_channel.sum() * flight_days),
        expected_conversions_lo=float(np.percentile(totals, tails[0])) if len(totals) else np.nan,
        expected_conversions_hi=float(np.percentile(totals, tails[1])) if len(totals) else np.nan,
        equal_split_conversions=_total(curves, channels, equal) * flight_days,
        current_mix_conversions=_total(curves, channels, current_mix) * flight_days,
    )


def _total(curves, channels, daily_spend) -> float:
    return float(sum(curves[c].predict(x) for c, x in zip(channels, daily_spend, strict=True)))


def _fit(form: str, x: np.ndarray, y: np.ndarray, start: np.ndarray | None = None) -> np.ndarray:
    """Least squares, bounded so that a flat or noisy channel cannot run off to infinity."""
    x_scale = max(float(x.max()), 1e-9)
    y_scale = max(float(np.abs(y).max()), 1e-9)
    if form == "exp":
        return _fit_exp(x, y, x_scale, y_scale)
    p0 = start if start is not None else [2.0 * y_scale, float(np.median(x[x > 0])), 0.8]
    bounds = ([0.0, 1e-6 * x_scale, 0.05], [1e3 * y_scale, 1e3 * x_scale, 1.0])
    p0 = np.clip(p0, np.array(bounds[0]) + 1e-12, np.array(bounds[1]) - 1e-12)
    try:
        params, _ = curve_fit(
            FORMS[form].response, x, y, p0=p0, bounds=bounds, jac=FORMS[form].jacobian, max_nfev=5000
        )
    except (RuntimeError, ValueError):  # no convergence on a degenerate resample: keep the start
        params = np.asarray(p0, dtype=float)
    return np.asarray(params, dtype=float)


def _fit_exp(x: np.ndarray, y: np.ndarray, x_scale: float, y_scale: float) -> np.ndarray:
    """``y = a (1 - exp(-x / b))`` by variable projection: for a given b the best a is linear least
    squares, so only b is searched: a log grid for the global basin, then Brent inside it.
    (Ten times faster than a general bounded solver, which matters across bootstrap refits.)"""
    a_max = 1e3 * y_scale

    def best_a_and_error(log_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        shape = -np.expm1(-x[None, :] / np.exp(np.atleast_1d(log_b))[:, None])
        a = np.clip((shape @ y) / np.maximum((shape**2).sum(axis=1), 1e-300), 0.0, a_max)
        return a, ((y[None, :] - a[:, None] * shape) ** 2).sum(axis=1)

    grid = np.linspace(np.log(1e-6 * x_scale), np.log(1e3 * x_scale), 60)
    _, errors = best_a_and_error(grid)
    best = int(np.argmin(errors))
    lo, hi = grid[max(best - 1, 0)], grid[min(best + 1, len(grid) - 1)]
    found = minimize_scalar(lambda u: float(best_a_and_error(u)[1][0]), bounds=(lo, hi), method="bounded")
    log_b = found.x if found.fun <= errors[best] else grid[best]
    a, _ = best_a_and_error(log_b)
    return np.array([float(a[0]), float(np.exp(log_b))])


def _r2(y: np.ndarray, fitted: np.ndarray) -> float:
    total = float(((y - y.mean()) ** 2).sum())
    return 1.0 - float(((y - fitted) ** 2).sum()) / total if total > 0 else float("nan")
