"""Lookalike audiences: a model of a seed segment against everyone else, on features a publisher has.

Features are only those that exist for any publisher audience member, so the same model can score the
publisher's audience (here, or on the publisher's side of a clean room):

* interests (multi-hot over the training vocabulary), age band and region (one-hot; unseen values fall to
  the baseline), and
* exposure behaviour: log impressions, log clicks, click-through rate, exposed in the last 30 days, never
  exposed (standardized with the training means).

The model is an L2 logistic regression (scikit-learn) fitted on the seed (1) against the rest (0); its
quality is the AUC on a stratified holdout, after which it is refitted on all rows. Scoring is plain numpy
(``LookalikeModel.score``), and the model travels as JSON (``to_dict`` / ``from_dict``), so the scoring side
needs neither scikit-learn nor the training data. Scores are the probability of resembling the seed; the
ranked output carries, at every cut, the reach and the expected share of look-alikes (mean score so far).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse, special
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

# The columns a features frame must have (one row per audience record); interests are a list of strings
# or a ';'-separated string; days_since_exposure may be missing (never exposed).
FEATURE_COLUMNS = ("interests", "age_band", "region", "impressions", "clicks", "days_since_exposure")
NUMERIC_FEATURES = ("log_impressions", "log_clicks", "ctr", "recently_exposed", "never_exposed")
RECENT_EXPOSURE_DAYS = 30


@dataclass
class LookalikeModel:
    interests: list[str]
    age_bands: list[str]
    regions: list[str]
    numeric_mean: list[float]
    numeric_std: list[float]
    coefficients: list[float]
    intercept: float
    training_rows: int = 0
    seeds: int = 0
    holdout_auc: float | None = None
    holdout_top_decile_lift: float | None = None
    feature_names: list[str] = field(default_factory=list)

    # --- scoring (numpy only) ---------------------------------------------------------------------------

    def design_matrix(self, features: pd.DataFrame) -> sparse.csr_matrix:
        _require_columns(features)
        numeric = (numeric_features(features) - np.asarray(self.numeric_mean)) / np.asarray(self.numeric_std)
        blocks = [
            _multi_hot(features["interests"], self.interests),
            _one_hot(features["age_band"], self.age_bands),
            _one_hot(features["region"], self.regions),
            sparse.csr_matrix(numeric),
        ]
        return sparse.hstack(blocks, format="csr")

    def score(self, features: pd.DataFrame) -> np.ndarray:
        """P(resembles the seed) for each row of a features frame (FEATURE_COLUMNS)."""
        logits = self.design_matrix(features) @ np.asarray(self.coefficients) + self.intercept
        return special.expit(logits)

    def top_weights(self, n: int = 10) -> list[dict[str, float]]:
        """The features that raise the score most (for reports; no personal data)."""
        order = np.argsort(-np.asarray(self.coefficients))[:n]
        return [
            {"feature": self.feature_names[i], "weight": round(float(self.coefficients[i]), 4)} for i in order
        ]

    # --- transport ------------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> LookalikeModel:
        return cls(**document)


def train_lookalike(
    features: pd.DataFrame,
    is_seed: np.ndarray,
    *,
    holdout_share: float = 0.25,
    max_interests: int = 200,
    regularization: float = 1.0,
    seed: int = 7,
) -> LookalikeModel:
    """Fit seed (True) against rest (False) on a features frame; report AUC on a stratified holdout."""
    is_seed = np.asarray(is_seed, dtype=bool)
    if is_seed.sum() < 10 or (~is_seed).sum() < 10:
        raise ValueError(
            f"a lookalike model needs at least 10 seed and 10 other rows, got {int(is_seed.sum())} seeds "
            f"of {len(is_seed)} rows"
        )
    model = _vocabulary(features, max_interests)
    rng = np.random.default_rng(seed)
    holdout = _stratified_holdout(is_seed, holdout_share, rng)
    if holdout.any():
        _fit(model, features[~holdout], is_seed[~holdout], regularization)
        holdout_scores = model.score(features[holdout])
        model.holdout_auc = round(float(roc_auc_score(is_seed[holdout], holdout_scores)), 4)
        model.holdout_top_decile_lift = round(_top_decile_lift(is_seed[holdout], holdout_scores), 3)
    _fit(model, features, is_seed, regularization)
    model.training_rows, model.seeds = len(is_seed), int(is_seed.sum())
    return model


def rank_scores(ids: pd.DataFrame, scores: np.ndarray) -> pd.DataFrame:
    """Rows of ``ids`` ranked by score, with reach and expected precision at each cut.

    rank 1 is the best; cumulative_reach = rows at or above the cut; expected_lookalikes = the sum of scores
    so far (the expected number of seed-like people); expected_precision_at_cut = expected_lookalikes /
    cumulative_reach. Ties are broken by the first id column so reruns rank identically.
    """
    scores = np.asarray(scores, dtype=float)
    tie_breaker = ids.iloc[:, 0].astype(str).to_numpy() if len(ids.columns) else np.arange(len(ids))
    order = np.lexsort((tie_breaker, -scores))
    ranked = ids.iloc[order].reset_index(drop=True)
    ranked_scores = scores[order]
    reach = np.arange(1, len(order) + 1)
    expected = np.cumsum(ranked_scores)
    ranked["score"] = np.round(ranked_scores, 6)
    ranked["rank"] = reach
    ranked["percentile"] = np.round(reach / max(len(order), 1), 6)
    ranked["cumulative_reach"] = reach
    ranked["expected_lookalikes"] = np.round(expected, 3)
    ranked["expected_precision_at_cut"] = np.round(expected / reach, 6)
    return ranked


def numeric_features(features: pd.DataFrame) -> np.ndarray:
    impressions = pd.to_numeric(features["impressions"], errors="coerce").fillna(0).to_numpy(dtype=float)
    clicks = pd.to_numeric(features["clicks"], errors="coerce").fillna(0).to_numpy(dtype=float)
    days = pd.to_numeric(features["days_since_exposure"], errors="coerce").to_numpy(dtype=float)
    return np.column_stack(
        [
            np.log1p(impressions),
            np.log1p(clicks),
            clicks / np.maximum(impressions, 1.0),
            (days <= RECENT_EXPOSURE_DAYS).astype(float),  # NaN (never exposed) compares False
            ((impressions + clicks) == 0).astype(float),
        ]
    )


# --- fitting ----------------------------------------------------------------------------------------


def _vocabulary(features: pd.DataFrame, max_interests: int) -> LookalikeModel:
    _require_columns(features)
    interest_counts = _exploded_interests(features["interests"]).value_counts()
    interests = sorted(interest_counts.head(max_interests).index.tolist())
    age_bands = sorted(features["age_band"].dropna().astype(str).unique().tolist())
    regions = sorted(features["region"].dropna().astype(str).unique().tolist())
    numeric = numeric_features(features)
    std = numeric.std(axis=0)
    std[std == 0] = 1.0
    names = (
        [f"interest={name}" for name in interests]
        + [f"age_band={name}" for name in age_bands]
        + [f"region={name}" for name in regions]
        + list(NUMERIC_FEATURES)
    )
    width = len(names)
    return LookalikeModel(
        interests=interests,
        age_bands=age_bands,
        regions=regions,
        numeric_mean=numeric.mean(axis=0).tolist(),
        numeric_std=std.tolist(),
        coefficients=[0.0] * width,
        intercept=0.0,
        feature_names=names,
    )


def _fit(model: LookalikeModel, features: pd.DataFrame, is_seed: np.ndarray, regularization: float) -> None:
    estimator = LogisticRegression(C=regularization, max_iter=2000)
    estimator.fit(model.design_matrix(features), is_seed)
    model.coefficients = estimator.coef_[0].tolist()
    model.intercept = float(estimator.intercept_[0])


def _stratified_holdout(is_seed: np.ndarray, share: float, rng: np.random.Generator) -> np.ndarray:
    holdout = np.zeros(len(is_seed), dtype=bool)
    if share <= 0:
        return holdout
    for label in (True, False):
        rows = np.flatnonzero(is_seed == label)
        take = round(len(rows) * share)
        holdout[rng.choice(rows, take, replace=False)] = True
    return holdout


def _top_decile_lift(truth: np.ndarray, scores: np.ndarray) -> float:
    cut = max(1, len(scores) // 10)
    top = np.argsort(-scores)[:cut]
    base = truth.mean()
    return float(truth[top].mean() / base) if base > 0 else float("nan")


# --- encoding ---------------------------------------------------------------------------------------


def _exploded_interests(column: pd.Series) -> pd.Series:
    """One row per (record position, interest), lowercased and trimmed; the index is the record position."""
    values = column.reset_index(drop=True)
    present = values.dropna()
    if len(present) and isinstance(present.iloc[0], str):  # ';'-separated text, as delivered
        values = values.str.split(";")
    exploded = values.explode().dropna().astype(str).str.strip().str.lower()
    return exploded[exploded != ""]


def _multi_hot(column: pd.Series, vocabulary: list[str]) -> sparse.csr_matrix:
    exploded = _exploded_interests(column)
    codes = pd.Categorical(exploded, categories=vocabulary).codes
    known = codes >= 0
    matrix = sparse.csr_matrix(
        (np.ones(known.sum()), (exploded.index.to_numpy()[known], codes[known])),
        shape=(len(column), len(vocabulary)),
    )
    matrix.sum_duplicates()
    matrix.data[:] = 1.0  # an interest listed twice is still one interest
    return matrix


def _one_hot(column: pd.Series, categories: list[str]) -> sparse.csr_matrix:
    codes = pd.Categorical(column.astype("string").to_numpy(na_value=None), categories=categories).codes
    known = codes >= 0
    return sparse.csr_matrix(
        (np.ones(known.sum()), (np.flatnonzero(known), codes[known])), shape=(len(column), len(categories))
    )


def _require_columns(features: pd.DataFrame) -> None:
    missing = [name for name in FEATURE_COLUMNS if name not in features.columns]
    if missing:
        raise ValueError(
            f"a lookalike features frame needs columns {list(FEATURE_COLUMNS)}; missing {missing}"
        )
