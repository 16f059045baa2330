"""Media attribution and budget planning.

Journeys and heuristic models run as SQL (``sql/attribution/*.sql``: Athena SQL, DuckDB locally);
Markov chains, Shapley values, the incrementality model, response curves and the budget allocator
run in numpy/scipy on aggregated paths or per-journey exposures. No Airflow, no boto3.

Typical local flow::

    paths = journeys_from_touchpoints(con, "touchpoints", "conversions", ds)   # also leaves journeys
    credits = pd.concat([heuristic_credits(con, ds), path_models(paths)])
    lift = incrementality(exposures_from_journeys(con, ds))
    curves = fit_response_curves(daily_response_data(con, ds, "spend", history_days=90))
    plan = allocate_budget(curves, total_budget=100_000, flight_days=14)
"""

from __future__ import annotations

import pandas as pd

from adplan.attribution.budget import BudgetPlan, ResponseCurve, allocate_budget, fit_response_curves
from adplan.attribution.heuristics import heuristics
from adplan.attribution.incrementality import incrementality
from adplan.attribution.journeys import (
    build_journeys,
    channel_roas,
    daily_response_data,
    exposures_from_journeys,
    heuristic_credits,
    journeys_from_touchpoints,
    paths_from_journeys,
    roas_cpa,
)
from adplan.attribution.markov import markov
from adplan.attribution.paths import CREDIT_COLUMNS, PathSet, as_paths, paths_from_csv, paths_from_frame
from adplan.attribution.shapley import shapley


def path_models(
    paths: PathSet | pd.DataFrame, *, orders: tuple[int, ...] = (1, 2, 3), with_shapley: bool = True
) -> pd.DataFrame:
    """Markov chains of each order and Shapley values on the same paths, in the credit shape."""
    paths = as_paths(paths)
    frames = [markov(paths, order)[CREDIT_COLUMNS] for order in orders]
    if with_shapley:
        frames.append(shapley(paths))
    return pd.concat(frames, ignore_index=True)


__all__ = [
    "CREDIT_COLUMNS",
    "BudgetPlan",
    "PathSet",
    "ResponseCurve",
    "allocate_budget",
    "build_journeys",
    "channel_roas",
    "daily_response_data",
    "exposures_from_journeys",
    "fit_response_curves",
    "heuristic_credits",
    "heuristics",
    "incrementality",
    "journeys_from_touchpoints",
    "markov",
    "path_models",
    "paths_from_csv",
    "paths_from_frame",
    "paths_from_journeys",
    "roas_cpa",
    "shapley",
]
