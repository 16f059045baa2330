"""Unified profiles: one row per person with RFM, predictive lifetime value, exposure and consent fields.

The SQL (``sql/audiences/profile_base.sql``, Athena SQL transpiled to DuckDB) aggregates the curated inputs
per person of the identity graph; this module fits BG/NBD + Gamma-Gamma on the customers, scores RFM
quintiles and value tiers with numpy, and joins it all back (``sql/audiences/profile_scores.sql``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
from scipy import stats

from adplan import sqlfiles
from adplan.audiences import clv
from adplan.audiences.config import SegmentsConfig

BASE_TABLE = "audience_profile_base"
SCORES_TABLE = "audience_profile_scores"
PROFILES_TABLE = "audience_profiles"

# Every profile column and what it means (the fields segment rules may use; see segments.yaml).
PROFILE_COLUMNS: dict[str, str] = {
    "person_id": "the identity graph's person id (Entity Resolution MatchID)",
    "is_customer": "at least one order",
    "orders": "orders placed",
    "purchase_days": "distinct days with an order",
    "frequency": "repeat purchase days (purchase_days - 1): BG/NBD's x",
    "first_order_date": "date of the first order",
    "last_order_date": "date of the latest order",
    "recency_days": "days from the latest order to ds (NULL without orders)",
    "tenure_days": "days from the first order to ds: BG/NBD's T",
    "t_x_days": "days from the first to the latest order: BG/NBD's t_x",
    "total_revenue": "sum of order values",
    "avg_order_value": "total_revenue / orders",
    "ltv_to_date": "historical lifetime value (= total_revenue)",
    "repeat_avg_value": "mean spend of the repeat purchase days (Gamma-Gamma input)",
    "impressions": "ad impressions served to the person's devices and cookies",
    "clicks": "ad clicks",
    "exposures": "impressions + clicks",
    "ctr": "clicks / impressions",
    "last_exposure_ts": "time of the latest impression or click",
    "days_since_exposure": "days from the latest exposure to ds",
    "affinity_<channel>": "share of the person's exposures on that channel (0-1)",
    "interests": "publisher interest attributes (array)",
    "age_band": "publisher age band",
    "region": "publisher region",
    "publisher_records": "publisher audience records linked to the person",
    "has_crm": "at least one advertiser CRM record",
    "crm_records": "advertiser CRM records linked to the person",
    "consent_email": "email consent: granted on a CRM record and refused on none",
    "consent_ads": "ads consent: granted on a CRM record and refused on none",
    "has_email": "a CRM record carries an email hash",
    "has_phone": "a CRM record carries a phone hash",
    "age": "age in whole years from the CRM date of birth",
    "state": "CRM state",
    "country": "CRM country",
    "top_channel": "the channel with the largest exposure share",
    "p_alive": "BG/NBD probability that the customer is still active",
    "predicted_purchases_12m": "BG/NBD expected purchase days over the horizon (default 365 days)",
    "predicted_avg_value": "Gamma-Gamma expected spend per purchase day",
    "predicted_ltv_12m": "predicted_purchases_12m x predicted_avg_value",
    "r_score": "recency quintile among customers (5 = most recent)",
    "f_score": "frequency quintile among customers (5 = most frequent)",
    "m_score": "monetary (average order value) quintile among customers (5 = highest)",
    "rfm_cell": "r_score, f_score and m_score as a 3-digit label, e.g. '545'",
    "ltv_tier": "value tier by predicted 12-month LTV percentile (segments.yaml ltv_tiers; 'none' for prospects)",
    "lifecycle": "prospect, new, active, loyal, at_risk or lapsed (segments.yaml settings.lifecycle)",
}


@dataclass
class ProfileSummary:
    """What a profile build found and fitted (no personal data: it becomes the job's XCom)."""

    profiles: int = 0
    customers: int = 0
    repeat_buyers: int = 0
    bgnbd: dict[str, float] | None = None
    gamma_gamma: dict[str, float] | None = None
    model_notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "profiles": self.profiles,
            "customers": self.customers,
            "repeat_buyers": self.repeat_buyers,
            "bgnbd": self.bgnbd,
            "gamma_gamma": self.gamma_gamma,
            "model_notes": self.model_notes,
        }


def profile_base_sql(ds: str, config: SegmentsConfig, *, include_publisher_attributes: bool = True) -> str:
    params = {"channels": list(config.channels), "include_publisher_attributes": include_publisher_attributes}
    return sqlfiles.render_duckdb("audiences/profile_base.sql", ds, params)


def profile_scores_sql(ds: str, config: SegmentsConfig, base_table: str, scores_table: str) -> str:
    lifecycle = config.lifecycle
    params = {
        "base_table": base_table,
        "scores_table": scores_table,
        "new_max_days": lifecycle.new_max_days,
        "active_max_days": lifecycle.active_max_days,
        "lapsed_min_days": lifecycle.lapsed_min_days,
        "loyal_min_purchase_days": lifecycle.loyal_min_purchase_days,
    }
    return sqlfiles.render_duckdb("audiences/profile_scores.sql", ds, params)


def build_profiles_table(
    con: duckdb.DuckDBPyConnection,
    ds: str,
    config: SegmentsConfig,
    *,
    include_publisher_attributes: bool = True,
    table: str = PROFILES_TABLE,
) -> ProfileSummary:
    """Materialize the profiles of ``ds`` as temporary table ``table`` on ``con`` (which sees the curated
    tables and the identity graph); returns what was fitted."""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {BASE_TABLE} AS "
        f"{profile_base_sql(ds, config, include_publisher_attributes=include_publisher_attributes)}"
    )
    customers = con.execute(
        f"""
        SELECT person_id, frequency, t_x_days, tenure_days, repeat_avg_value, avg_order_value,
               recency_days, ltv_to_date
        FROM {BASE_TABLE} WHERE is_customer
        """
    ).fetchnumpy()
    scores, summary = score_customers(customers, config)
    con.register(SCORES_TABLE, scores)
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {table} AS "
            f"{profile_scores_sql(ds, config, BASE_TABLE, SCORES_TABLE)}"
        )
    finally:
        con.unregister(SCORES_TABLE)
    con.execute(f"DROP TABLE IF EXISTS {BASE_TABLE}")
    summary.profiles = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
    return summary


def score_customers(
    customers: dict[str, np.ndarray], config: SegmentsConfig
) -> tuple[pa.Table, ProfileSummary]:
    """Per-customer model outputs: lifetime value predictions, RFM quintiles and value tiers."""
    frequency = _floats(customers["frequency"])
    t_x = _floats(customers["t_x_days"])
    tenure = _floats(customers["tenure_days"])
    summary = ProfileSummary(customers=len(frequency), repeat_buyers=int((frequency > 0).sum()))
    predictions = predict_lifetime_value(
        frequency, t_x, tenure, _floats(customers["repeat_avg_value"]), config.ltv_horizon_days, summary
    )
    value_for_tiers = predictions["predicted_ltv_12m"]
    if np.isnan(value_for_tiers).all():
        summary.model_notes.append("value tiers use ltv_to_date: no lifetime value model was fitted")
        value_for_tiers = _floats(customers["ltv_to_date"])
    bins = config.rfm_bins
    columns = {
        "person_id": pa.array(customers["person_id"], type=pa.string()),
        **{
            name: pa.array(values, type=pa.float64(), from_pandas=True)
            for name, values in predictions.items()
        },
        "r_score": quantile_scores(-_floats(customers["recency_days"]), bins),
        "f_score": quantile_scores(frequency, bins),
        "m_score": quantile_scores(_floats(customers["avg_order_value"]), bins),
        "ltv_tier": pa.array(value_tiers(value_for_tiers, config), type=pa.string()),
    }
    columns.update(
        {name: pa.array(columns[name], type=pa.int8()) for name in ("r_score", "f_score", "m_score")}
    )
    return pa.table(columns), summary


def predict_lifetime_value(
    frequency: np.ndarray,
    t_x: np.ndarray,
    tenure: np.ndarray,
    repeat_avg_value: np.ndarray,
    horizon_days: int,
    summary: ProfileSummary,
) -> dict[str, np.ndarray]:
    """BG/NBD x Gamma-Gamma predictions per customer; NaN columns (with a note) when a model can't be fitted."""
    n = len(frequency)
    empty = np.full(n, np.nan)
    predictions = {
        "p_alive": empty,
        "predicted_purchases_12m": empty,
        "predicted_avg_value": empty,
        "predicted_ltv_12m": empty,
    }
    try:
        bgnbd = clv.fit_bgnbd(frequency, t_x, tenure)
    except clv.ModelFitError as error:
        summary.model_notes.append(f"BG/NBD not fitted: {error}")
        return predictions
    summary.bgnbd = bgnbd.as_dict()
    purchases = clv.expected_purchases(bgnbd, horizon_days, frequency, t_x, tenure)
    predictions["p_alive"] = clv.probability_alive(bgnbd, frequency, t_x, tenure)
    predictions["predicted_purchases_12m"] = purchases
    try:
        gamma_gamma = clv.fit_gamma_gamma(frequency, repeat_avg_value)
    except clv.ModelFitError as error:
        summary.model_notes.append(f"Gamma-Gamma not fitted: {error}")
        return predictions
    if gamma_gamma.q <= 1:
        summary.model_notes.append("Gamma-Gamma q <= 1: expected spend is undefined, no monetary prediction")
        return predictions
    summary.gamma_gamma = gamma_gamma.as_dict()
    average_value = clv.expected_average_value(gamma_gamma, frequency, repeat_avg_value)
    predictions["predicted_avg_value"] = average_value
    predictions["predicted_ltv_12m"] = purchases * average_value
    return predictions


def quantile_scores(values: np.ndarray, bins: int) -> np.ndarray:
    """Scores 1..bins by quantile (higher value, higher score); ties share the score of their mid-rank, so
    a mass of identical values (one-time buyers) is not split arbitrarily. NaN scores lowest."""
    values = np.where(np.isnan(values), -np.inf, values)
    if len(values) == 0:
        return np.zeros(0, dtype=np.int8)
    mid_percentile = (stats.rankdata(values, method="average") - 0.5) / len(values)
    return (np.floor(mid_percentile * bins).astype(np.int64) + 1).clip(1, bins).astype(np.int8)


def value_tiers(values: np.ndarray, config: SegmentsConfig) -> np.ndarray:
    """The ltv tier of each customer from their value percentile (segments.yaml settings.ltv_tiers)."""
    values = np.where(np.isnan(values), -np.inf, values)
    tiers = np.full(len(values), config.ltv_tiers[-1].name, dtype=object)
    if len(values) == 0:
        return tiers
    percentile = (stats.rankdata(values, method="average") - 0.5) / len(values)
    # Tiers run from the highest threshold down, so assign from the lowest up and let higher ones overwrite.
    for tier in reversed(config.ltv_tiers):
        tiers[percentile >= tier.min_percentile] = tier.name
    return tiers


def _floats(values: Any) -> np.ndarray:
    """A numpy float array from a DuckDB column (masked arrays mark NULL)."""
    if isinstance(values, np.ma.MaskedArray):
        return values.astype(float).filled(np.nan)
    return np.asarray(values, dtype=float)
