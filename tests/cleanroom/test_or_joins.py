"""OR joins run as disjoint equi-joins: the same rows as the OR condition, incl. duplicates and NULLs."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from adplan.cleanroom import CleanRoom, load_collaboration

EXAMPLE = Path(__file__).resolve().parents[2] / "include" / "config" / "collaboration.yaml"


def small_warehouse(seed: int) -> duckdb.DuckDBPyConnection:
    rng = np.random.default_rng(seed)
    size = 4000

    def ids(prefix: str, count: int, nulls: float) -> list[str | None]:
        values = [f"{prefix}{value}" for value in rng.integers(0, 1500, count)]  # duplicates on purpose
        return [None if rng.random() < nulls else value for value in values]

    customers = pd.DataFrame(  # noqa: F841 - read by DuckDB
        {
            "customer_id": [f"c{i}" for i in range(size)],
            "email_sha256": ids("e", size, 0.1),
            "phone_sha256": ids("p", size, 0.3),
            "segment": rng.choice(["a", "b", "c"], size),
            "ltv_tier": rng.choice(["hi", "lo"], size),
            "region": rng.choice(["n", "s"], size),
        }
    )
    audience = pd.DataFrame(  # noqa: F841
        {
            "email_sha256": ids("e", size, 0.1),
            "phone_sha256": ids("p", size, 0.3),
            "maid_sha256": ids("m", size, 0.0),
            "interest": rng.choice(["x", "y"], size),
            "age_band": rng.choice(["young", "old"], size),
            "region": rng.choice(["n", "s"], size),
        }
    )
    connection = duckdb.connect()
    connection.execute("CREATE TABLE cr_advertiser_customers AS SELECT * FROM customers")
    connection.execute("CREATE TABLE cr_publisher_audience AS SELECT * FROM audience")
    return connection


@pytest.mark.parametrize("seed", [1, 2])
def test_or_join_aggregates_match_the_or_condition(tmp_path, seed):
    connection = small_warehouse(seed)
    sql = (
        "SELECT c.segment, p.interest, COUNT(DISTINCT c.email_sha256) AS emails, COUNT(DISTINCT p.phone_sha256) AS phones "
        "FROM {customers} c JOIN {audience} p ON c.email_sha256 = p.email_sha256 OR c.phone_sha256 = p.phone_sha256 "
        "WHERE c.region = 'n' GROUP BY c.segment, p.interest"
    )
    with CleanRoom(load_collaboration(EXAMPLE), connection, state_dir=tmp_path) as room:
        record = room.start_protected_query(
            "agency",
            sql.format(customers="advertiser_customers", audience="publisher_audience"),
            "CSV",
            tmp_path,
        )
    released = pd.read_csv(record["result"]["output"]["s3"]["location"]).sort_values(["segment", "interest"])
    truth = connection.execute(
        sql.format(customers="cr_advertiser_customers", audience="cr_publisher_audience")
        + " HAVING COUNT(DISTINCT c.email_sha256) >= 100 AND COUNT(DISTINCT p.email_sha256) >= 100"
    ).df()
    truth = truth.sort_values(["segment", "interest"])
    assert len(released) == len(truth) > 0
    assert released.to_numpy().tolist() == truth.to_numpy().tolist()


def test_or_join_list_matches_the_or_condition(tmp_path):
    connection = small_warehouse(3)
    sql = (
        "SELECT DISTINCT c.customer_id, p.interest FROM {customers} c JOIN {audience} p "
        "ON c.email_sha256 = p.email_sha256 OR c.phone_sha256 = p.phone_sha256"
    )
    with CleanRoom(load_collaboration(EXAMPLE), connection, state_dir=tmp_path) as room:
        record = room.start_protected_query(
            "advertiser",
            sql.format(customers="advertiser_customers_list", audience="publisher_audience_list"),
            "CSV",
            tmp_path,
        )
    released = pd.read_csv(record["result"]["output"]["s3"]["location"])
    truth = connection.execute(
        sql.format(customers="cr_advertiser_customers", audience="cr_publisher_audience")
    ).df()
    assert set(map(tuple, released.to_numpy())) == set(map(tuple, truth.to_numpy()))
    assert len(released) == len(truth)
