"""Output constraints (aggregation thresholds): checked against an independent computation on random data.

Property: for any data, every released row aggregates at least ``minimum`` distinct values of each
constrained column, and every group that does is released (the threshold removes nothing else).
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from adplan.cleanroom import CleanRoom

from .conftest import build_warehouse


def read_result(record) -> pd.DataFrame:
    assert record["status"] == "SUCCESS", record.get("error")
    return pd.read_csv(record["result"]["output"]["s3"]["location"], keep_default_na=False)


def test_small_groups_are_dropped_without_trace(room, warehouse, tmp_path):
    # Interest "rare" has about 1% of the audience: below the publisher's threshold of 8 in the overlap.
    sql = (
        "SELECT p.interest, COUNT(DISTINCT c.email_sha256) AS overlap FROM adv_customers c "
        "JOIN pub_audience p ON c.email_sha256 = p.email_sha256 GROUP BY p.interest"
    )
    released = read_result(room.start_protected_query("advertiser", sql, "CSV", tmp_path))
    truth = warehouse.execute(
        "SELECT p.interest, COUNT(DISTINCT c.email_sha256) AS n FROM cr_advertiser_customers c "
        "JOIN cr_publisher_audience p ON c.email_sha256 = p.email_sha256 GROUP BY p.interest"
    ).df()
    kept = set(truth.loc[truth.n >= 8, "interest"])
    assert set(released.interest) == kept
    assert "rare" not in kept  # the data makes the threshold bite
    assert list(released.columns) == ["interest", "overlap"]  # no hidden or marker columns


def test_most_restrictive_threshold_wins(room, warehouse, tmp_path):
    # adv_customers requires 5 distinct emails per row, pub_audience 8: rows need 8.
    sql = (
        "SELECT c.segment, p.interest, p.age_band, COUNT(DISTINCT c.phone_sha256) AS n FROM adv_customers c "
        "JOIN pub_audience p ON c.email_sha256 = p.email_sha256 GROUP BY c.segment, p.interest, p.age_band"
    )
    released = read_result(room.start_protected_query("advertiser", sql, "CSV", tmp_path))
    truth = warehouse.execute(
        "SELECT c.segment, p.interest, p.age_band, COUNT(DISTINCT c.email_sha256) AS emails "
        "FROM cr_advertiser_customers c JOIN cr_publisher_audience p ON c.email_sha256 = p.email_sha256 "
        "GROUP BY ALL"
    ).df()
    assert ((truth.emails >= 5) & (truth.emails < 8)).any()  # groups only the stricter threshold drops
    expected = truth[truth.emails >= 8]
    assert len(released) == len(expected)
    merged = released.merge(truth, on=["segment", "interest", "age_band"])
    assert (merged.emails >= 8).all()


def test_threshold_combines_with_having(room, tmp_path):
    sql = (
        "SELECT c.segment, COUNT(DISTINCT c.email_sha256) AS n FROM adv_customers c "
        "GROUP BY c.segment HAVING COUNT(DISTINCT c.phone_sha256) > 100000"
    )
    assert read_result(room.start_protected_query("agency", sql, "CSV", tmp_path)).empty


def test_global_aggregate_below_threshold_returns_no_row(room, tmp_path):
    sql = "SELECT COUNT(DISTINCT c.email_sha256) AS n FROM adv_customers c WHERE c.segment = 'nobody'"
    assert read_result(room.start_protected_query("agency", sql, "CSV", tmp_path)).empty


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_every_released_row_meets_its_threshold_on_random_data(collaboration, tmp_path, seed):
    rng = np.random.default_rng(seed)
    connection = duckdb.connect()
    build_warehouse(connection, seed=seed, people=int(rng.integers(150, 900)))
    dimensions = [("c.segment", "c"), ("c.region", "c"), ("p.interest", "p"), ("p.age_band", "p")]
    chosen = [
        dimensions[i][0] for i in sorted(rng.choice(len(dimensions), int(rng.integers(1, 4)), replace=False))
    ]
    select = ", ".join(f"{column} AS d{i}" for i, column in enumerate(chosen))
    sql = (
        f"SELECT {select}, COUNT(DISTINCT p.maid_sha256) AS n FROM adv_customers c "
        f"JOIN pub_audience p ON c.email_sha256 = p.email_sha256 GROUP BY {', '.join(chosen)}"
    )
    with CleanRoom(collaboration, connection, state_dir=tmp_path) as room:
        released = read_result(room.start_protected_query("advertiser", sql, "CSV", tmp_path))
    truth = connection.execute(
        f"SELECT {select}, COUNT(DISTINCT c.email_sha256) AS emails FROM cr_advertiser_customers c "
        f"JOIN cr_publisher_audience p ON c.email_sha256 = p.email_sha256 GROUP BY ALL"
    ).df()
    keys = [f"d{i}" for i in range(len(chosen))]
    merged = released.merge(truth, on=keys, how="left")
    assert merged.emails.notna().all()
    assert (merged.emails >= 8).all()  # every released row meets the strictest threshold
    assert len(released) == int((truth.emails >= 8).sum())  # and nothing else was dropped
