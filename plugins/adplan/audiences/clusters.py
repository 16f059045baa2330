"""Data-driven segments: k-means on standardized RFM and affinity features, k chosen by silhouette.

k-means is fitted on a sample for each k in [k_min, k_max]; each fit is scored by its silhouette on a
smaller sample (silhouette costs O(n^2)), the best k wins, and every member of the population is then
assigned to its nearest centre. Clusters are numbered by size, largest first, so reruns on the same data
name them the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from threadpoolctl import threadpool_limits

from adplan.audiences.config import ClusterSettings


@dataclass(frozen=True)
class ClusterResult:
    labels: np.ndarray  # 0..k-1 per row, 0 = the largest cluster
    k: int
    silhouette_by_k: dict[int, float] = field(default_factory=dict)
    features: tuple[str, ...] = ()

    def summary(self) -> dict[str, object]:
        return {
            "k": self.k,
            "silhouette_by_k": {str(k): round(score, 4) for k, score in self.silhouette_by_k.items()},
            "features": list(self.features),
            "sizes": np.bincount(self.labels, minlength=self.k).tolist(),
        }


def standardize(matrix: np.ndarray, names: list[str], log_features: tuple[str, ...]) -> np.ndarray:
    """log1p on skewed features, then z-scores; missing values become the mean (z = 0)."""
    matrix = np.array(matrix, dtype=float)
    for column, name in enumerate(names):
        if name in log_features:
            matrix[:, column] = np.log1p(np.clip(matrix[:, column], 0, None))
    mean = np.nanmean(matrix, axis=0)
    std = np.nanstd(matrix, axis=0)
    std[~np.isfinite(std) | (std == 0)] = 1.0
    standardized = (matrix - np.nan_to_num(mean)) / std
    return np.nan_to_num(standardized, nan=0.0)


def fit_clusters(features: np.ndarray, names: list[str], settings: ClusterSettings) -> ClusterResult | None:
    """Cluster the rows of ``features`` (raw values, one column per name); None when there are too few rows.

    scikit-learn's OpenMP threads are held to one: next to DuckDB's worker threads in the same process they
    contend for the cores and k-means ran 5-8x slower than single-threaded (measured on 2 cores).
    """
    with threadpool_limits(limits=1):
        return _fit_clusters(features, names, settings)


def _fit_clusters(features: np.ndarray, names: list[str], settings: ClusterSettings) -> ClusterResult | None:
    rows = len(features)
    if rows < max(20, 5 * settings.k_min):
        return None
    rng = np.random.default_rng(settings.seed)
    standardized = standardize(features, names, settings.log_features)
    fit_rows = _sample(rng, rows, settings.fit_sample)
    fit_data = standardized[fit_rows]
    silhouette_rows = _sample(rng, len(fit_rows), settings.silhouette_sample)
    k_values = range(settings.k_min, min(settings.k_max, len(fit_rows) - 1) + 1)
    scores, models = {}, {}
    for k in k_values:  # a handful of candidate k, not a loop over rows
        model = KMeans(n_clusters=k, n_init=4, random_state=settings.seed).fit(fit_data)
        labels = model.labels_[silhouette_rows]
        if len(np.unique(labels)) < 2:
            continue
        scores[k] = float(silhouette_score(fit_data[silhouette_rows], labels, random_state=settings.seed))
        models[k] = model
    if not scores:
        return None
    best_k = max(scores, key=lambda k: (scores[k], -k))
    labels = models[best_k].predict(standardized)
    return ClusterResult(_relabel_by_size(labels, best_k), best_k, scores, tuple(names))


def _relabel_by_size(labels: np.ndarray, k: int) -> np.ndarray:
    sizes = np.bincount(labels, minlength=k)
    order = np.argsort(-sizes, kind="stable")
    new_label = np.empty(k, dtype=np.int64)
    new_label[order] = np.arange(k)
    return new_label[labels]


def _sample(rng: np.random.Generator, rows: int, size: int) -> np.ndarray:
    if rows <= size:
        return np.arange(rows)
    return np.sort(rng.choice(rows, size, replace=False))
