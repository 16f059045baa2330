"""Incrementality: conversions that would not have happened without a channel.

Path heuristics and Markov chains only see converting paths (or paths as sequences); a channel that
reaches people who would convert anyway collects credit there. This model uses everyone, converters
and non-converters, and asks a counterfactual question of an outcome model:

1. Fit a logistic regression of conversion on each unit's exposures: per channel an exposed
   indicator and, optionally, log(1 + exposures); plus joint-exposure indicators of every 2 and 3
   channels (``interaction_order``; 1 turns them off, n saturates the model). Without them the logit
   scale imposes one fixed way for channels to combine: when lifts really add up on the probability
   scale, a main-effects-only model overstated the baseline by 40% in simulation, order 2 by 7%,
   order 3 by 1%.
   Units are journeys (or people); identical exposure profiles are grouped, so the fit is a grouped
   binomial Newton solve over a few thousand profiles, whatever the number of people.
2. The worth of a coalition S of channels is the predicted number of conversions when every unit
   keeps only its exposures to channels in S: ``v(S) = Σ_units P(convert | exposures ∩ S)``.
   ``v(∅)`` is the baseline (conversions with no advertising), ``v(all) - v(∅)`` the incremental total.
3. Each channel's incremental conversions are its exact Shapley value in that game.
4. Intervals: a Poisson bootstrap over units (refit and recompute on resampled profile counts).

On data where exposure is not confounded with the propensity to convert (randomized or as-good-as),
these are causal incremental conversions; on observational data they are as good as the adjustment
the exposures themselves provide, so treat them as a model-based estimate, best calibrated by tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from itertools import combinations

import numpy as np
import pandas as pd
from scipy.special import expit
from threadpoolctl import threadpool_limits  # comes with scikit-learn

from adplan.attribution.shapley import coalition_members, shapley_values

UNIT_COLUMNS = ("person_id", "journey_no", "converted", "value", "exposures", "clicks")
MAX_CHANNELS = 14  # predictions for every profile x 2^n coalitions


@dataclass(frozen=True)
class ExposureProfiles:
    """Units grouped by identical (capped) exposure counts."""

    counts: np.ndarray  # (profiles, channels) exposures
    units: np.ndarray  # units with the profile
    conversions: np.ndarray  # converting units with the profile


@dataclass(frozen=True)
class OutcomeDesign:
    """The columns of the logistic design and, per column, the channels it needs exposed.

    Columns: intercept, per channel an exposed indicator, per channel log(1 + exposures) (optional),
    then an indicator of joint exposure for every set of 2..interaction_order channels.
    """

    n_channels: int
    log_counts: bool = True
    interaction_order: int = 3

    @cached_property
    def column_channels(self) -> list[tuple[int, ...]]:
        singles = [(c,) for c in range(self.n_channels)]
        sizes = range(2, min(self.interaction_order, self.n_channels) + 1)
        joint = [subset for size in sizes for subset in combinations(range(self.n_channels), size)]
        return [(), *singles, *(singles if self.log_counts else []), *joint]

    def matrix(self, counts: np.ndarray) -> np.ndarray:
        exposed = (counts > 0).astype(float)
        columns = [np.ones((len(counts), 1)), exposed]
        if self.log_counts:
            columns.append(np.log1p(counts))
        joint = self.column_channels[1 + self.n_channels * (2 if self.log_counts else 1) :]
        columns.append(_all_of(exposed, joint))
        return np.hstack(columns)

    @cached_property
    def coalition_columns(self) -> np.ndarray:
        """(2^n, columns): 1 where all of a column's channels are in the coalition.

        Restricting a unit's exposures to coalition S zeroes exactly the other columns, so its logit
        under S is ``(x * beta) @ coalition_columns[S]``: every coalition in one matrix product.
        """
        return _all_of(coalition_members(self.n_channels).astype(float), self.column_channels)


def incrementality(
    exposures: pd.DataFrame,
    channels: list[str] | None = None,
    *,
    converted_col: str = "converted",
    value_col: str | None = "value",
    log_counts: bool = True,
    interaction_order: int = 3,
    n_bootstrap: int = 200,
    ci: float = 0.9,
    l2: float = 1.0,
    max_count: int = 20,
    seed: int = 0,
) -> pd.DataFrame:
    """Incremental conversions per channel with bootstrap intervals.

    ``exposures``: one row per unit (journey or person), a column of exposure counts per channel
    (``channels``; by default every column but person_id, journey_no, exposures, clicks, converted
    and value: the shape of ``sql/attribution/exposures.sql``) and ``converted`` (0/1 or bool).
    ``max_count`` caps exposure counts; ``l2`` is a ridge penalty on the coefficients (not the
    intercept) that keeps rare profiles from separating.

    Returns model (``incrementality``), channel, campaign_id, conversions, value (incremental
    conversions times the mean conversion value), share, and the ``ci`` intervals conversions_lo/hi
    and share_lo/hi. ``.attrs`` holds baseline_conversions, observed_conversions, units, coefficients.
    """
    channels = channels or [c for c in exposures.columns if c not in {*UNIT_COLUMNS, converted_col}]
    if len(channels) > MAX_CHANNELS:
        raise ValueError(f"{len(channels)} channels: at most {MAX_CHANNELS} for exact coalitions")
    counts = exposures[channels].fillna(0).to_numpy(dtype=np.int64)
    converted = exposures[converted_col].fillna(0).to_numpy(dtype=float) > 0
    profiles = group_profiles(counts, converted, max_count)
    design = OutcomeDesign(len(channels), log_counts, interaction_order)
    x = design.matrix(profiles.counts)
    # The matrices are small (profiles x ~100 columns): threaded BLAS only adds contention there,
    # 10-20x slower on a busy 2-core machine.
    with threadpool_limits(limits=1, user_api="blas"):
        coefficients = fit_logistic(x, profiles.conversions, profiles.units, l2)
        contributions, baseline = incremental_shapley(design, coefficients, x, profiles.units)
        draws = _bootstrap(design, x, profiles, coefficients, n_bootstrap, l2, seed)
    mean_value = _mean_conversion_value(exposures, converted, value_col)
    result = _result_frame(channels, contributions, draws, ci, mean_value)
    result.attrs.update(
        baseline_conversions=baseline,
        observed_conversions=float(converted.sum()),
        units=len(exposures),
        coefficients=coefficients.tolist(),
    )
    return result


def group_profiles(counts: np.ndarray, converted: np.ndarray, max_count: int = 20) -> ExposureProfiles:
    """Group units with the same exposure counts (capped at ``max_count``: beyond that, frequency
    adds nothing the log term can tell apart, and the cap bounds the number of profiles)."""
    capped = np.clip(counts, 0, max_count)
    base = max_count + 1
    key = capped @ (base ** np.arange(capped.shape[1], dtype=np.int64))
    unique_keys, first, profile = np.unique(key, return_index=True, return_inverse=True)
    return ExposureProfiles(
        counts=capped[first],
        units=np.bincount(profile, minlength=len(unique_keys)).astype(float),
        conversions=np.bincount(profile, weights=converted.astype(float), minlength=len(unique_keys)),
    )


def incremental_shapley(
    design: OutcomeDesign, coefficients: np.ndarray, x: np.ndarray, units: np.ndarray
) -> tuple[np.ndarray, float]:
    """Shapley values of the coalition game ``v(S) = Σ units · P(convert | exposures ∩ S)``, and v(∅)."""
    coalitions = design.coalition_columns.T
    worth = np.zeros(coalitions.shape[1])
    chunk = max(1, 4_000_000 // len(worth))  # bound the (profiles x coalitions) block in memory
    for lo in range(0, len(x), chunk):
        logits = (x[lo : lo + chunk] * coefficients) @ coalitions
        worth += units[lo : lo + chunk] @ expit(logits)
    return shapley_values(worth, design.n_channels), float(worth[0])


def fit_logistic(
    x: np.ndarray,
    successes: np.ndarray,
    trials: np.ndarray,
    l2: float = 1.0,
    start: np.ndarray | None = None,
    max_iter: int = 100,
    tol: float = 1e-9,
) -> np.ndarray:
    """Newton's method for a ridge-penalized logistic regression on grouped binomial rows."""
    penalty = np.full(x.shape[1], l2)
    penalty[0] = 0.0  # the intercept is not shrunk: predicted conversions then match observed ones
    beta = np.zeros(x.shape[1]) if start is None else start.copy()
    if start is None:
        rate = np.clip(successes.sum() / trials.sum(), 1e-9, 1 - 1e-9)
        beta[0] = np.log(rate / (1 - rate))
    for _ in range(max_iter):
        mu = expit(x @ beta)
        gradient = x.T @ (successes - trials * mu) - penalty * beta
        hessian = (x.T * (trials * mu * (1 - mu))) @ x + np.diag(penalty + 1e-10)
        step = np.linalg.solve(hessian, gradient)
        # Damped steps keep Newton stable when a rare profile all but separates.
        step *= min(1.0, 5.0 / max(np.abs(step).max(), 1e-300))
        beta += step
        if np.abs(step).max() < tol:
            break
    return beta


def _all_of(indicators: np.ndarray, subsets: list[tuple[int, ...]]) -> np.ndarray:
    """(rows, len(subsets)): 1 where every column of the subset is 1 (the empty subset: always)."""
    out = np.ones((len(indicators), len(subsets)))
    for j, subset in enumerate(subsets):
        for column in subset:
            out[:, j] *= indicators[:, column]
    return out


def _bootstrap(
    design: OutcomeDesign,
    x: np.ndarray,
    profiles: ExposureProfiles,
    coefficients: np.ndarray,
    n_bootstrap: int,
    l2: float,
    seed: int,
) -> np.ndarray:
    """(n_bootstrap, channels) Shapley values on Poisson-resampled units, refitting each time."""
    rng = np.random.default_rng(seed)
    draws = np.empty((n_bootstrap, design.n_channels))
    for b in range(n_bootstrap):
        converting = rng.poisson(profiles.conversions).astype(float)
        units = converting + rng.poisson(profiles.units - profiles.conversions)
        refit = fit_logistic(x, converting, units, l2, start=coefficients)
        draws[b], _ = incremental_shapley(design, refit, x, units)
    return draws


def _mean_conversion_value(exposures: pd.DataFrame, converted: np.ndarray, value_col: str | None) -> float:
    if value_col is None or value_col not in exposures.columns or not converted.any():
        return 0.0
    return float(exposures.loc[converted, value_col].fillna(0).mean())


def _result_frame(
    channels: list[str], contributions: np.ndarray, draws: np.ndarray, ci: float, mean_value: float
) -> pd.DataFrame:
    tails = [(1 - ci) / 2 * 100, (1 + ci) / 2 * 100]
    frame = pd.DataFrame(
        {
            "model": "incrementality",
            "channel": channels,
            "campaign_id": pd.Series([None] * len(channels), dtype="object"),
            "conversions": contributions,
            "value": contributions * mean_value,
            "share": _shares(contributions),
        }
    )
    if len(draws):
        frame["conversions_lo"], frame["conversions_hi"] = np.percentile(draws, tails, axis=0)
        share_draws = np.apply_along_axis(_shares, 1, draws)
        frame["share_lo"], frame["share_hi"] = np.percentile(share_draws, tails, axis=0)
    return frame


def _shares(contributions: np.ndarray) -> np.ndarray:
    total = contributions.sum()
    return contributions / total if total != 0 else np.zeros_like(contributions)
