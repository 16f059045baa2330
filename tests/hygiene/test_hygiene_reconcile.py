"""The nightly reconcile step and the hygiene jobs the DAG runs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hygiene_fixtures import CRM_CONTRACT, CRM_HEADER, DT, ORDERS_CONTRACT, ORDERS_HEADER, crm_row, read_table

from adplan import jobs
from adplan.hygiene import (
    Contract,
    HygieneConfig,
    HygieneError,
    MissingInputError,
    ingest_source,
    reconcile_date,
)
from adplan.hygiene.jobs import is_selected, lake_at
from adplan.hygiene.storage import S3Lake
from adplan.lake import Lake
from adplan.warehouse import Warehouse

ORDERS = (
    ORDERS_HEADER + "\n1,,a@x.com,2024-05-01T00:00:00Z,1,USD,fax\n2,,b@x.com,2024-05-01T00:00:00Z,1,USD,web\n"
)
CRM = CRM_HEADER + "\n" + crm_row() + "\n" + crm_row("X") + "\n"


@pytest.fixture
def two_sources(
    lake: Lake,
    crm_contract: Contract,
    orders_contract: Contract,
    land: Callable[..., Path],
    config: HygieneConfig,
) -> Lake:
    land("crm_customers", "crm.csv.gz", CRM)
    land("orders", "orders.csv", ORDERS)
    ingest_source(lake, crm_contract, DT, config=config)
    ingest_source(lake, orders_contract, DT, config=config)
    return lake


def test_combines_every_source(two_sources: Lake, tmp_path: Path) -> None:
    result = reconcile_date(two_sources, DT, ["crm_customers", "orders", "spend"])
    assert result["missing_sources"] == ["spend"]
    assert (result["sources"], result["rows_in"], result["accepted"], result["quarantined"]) == (2, 4, 2, 2)
    assert result["by_source"]["orders"] == {"rows_in": 2, "accepted": 1, "quarantined": 1}

    quarantine = read_table(two_sources, "quarantine", "quarantine")
    assert [(row["source"], row["row_number"], row["reason"]) for row in quarantine] == [
        ("crm_customers", 3, "pattern_mismatch"),
        ("orders", 2, "not_allowed"),
    ]
    # The warehouse shows them as the tables people expect, with dt from the partition.
    con = Warehouse(two_sources, tmp_path / "warehouse.duckdb").connect()
    assert con.sql(
        "SELECT source, rows_in, accepted + quarantined, dt FROM hygiene_reconciliation"
    ).fetchall() == [
        ("crm_customers", 2, 2, DT),
        ("orders", 2, 2, DT),
    ]


def test_a_partition_that_no_longer_matches_fails(two_sources: Lake) -> None:
    two_sources.write_partition("raw", "raw_orders", DT, "SELECT 1 AS order_id WHERE false", _duckdb())
    with pytest.raises(HygieneError, match=f"raw_orders dt={DT} holds 0 rows, its reconciliation records 1"):
        reconcile_date(two_sources, DT, ["crm_customers", "orders"])


def test_nothing_ingested(lake: Lake) -> None:
    with pytest.raises(MissingInputError, match=f"no source has been ingested for dt={DT}"):
        reconcile_date(lake, DT, ["orders"])


def test_jobs_run_the_steps(lake: Lake, land: Callable[..., Path], tmp_path: Path) -> None:
    contracts = tmp_path / "job-contracts"
    contracts.mkdir()
    (contracts / "crm_customers.yaml").write_text(CRM_CONTRACT)
    (contracts / "orders.yaml").write_text(ORDERS_CONTRACT)
    config = tmp_path / "hygiene.yaml"
    config.write_text("min_rows_for_share: 1\nsources: [crm_customers, orders]\n")
    land("crm_customers", "crm.csv.gz", CRM)
    land("orders", "orders.csv", ORDERS)
    where = {"lake": str(lake.root), "contracts": str(contracts), "config": str(config)}
    for source in ("crm_customers", "orders"):
        ingested = jobs.run("hygiene.ingest", DT, {"source": source, "selected": "all", **where})
        assert ingested["rows_in"] == ingested["accepted"] + ingested["quarantined"] == 2
        curated = jobs.run("hygiene.curate", DT, {"source": source, "selected": "all", **where})
        assert curated["rows"] == 1
    skipped = jobs.run("hygiene.ingest", DT, {"source": "orders", "selected": "crm_customers", **where})
    assert skipped == {"source": "orders", "dt": DT, "skipped": True}
    reconciled = jobs.run(
        "hygiene.reconcile", DT, {"selected": "all", "lake": str(lake.root), "config": str(config)}
    )
    assert reconciled["sources"] == 2


def test_selection_and_lake_location() -> None:
    assert is_selected("orders", "all")
    assert is_selected("orders", "crm_customers, orders")
    assert not is_selected("orders", "crm_customers")
    assert is_selected("orders", "")
    assert lake_at("s3://adplan-lake") == S3Lake("s3://adplan-lake")
    assert lake_at("/tmp/lake") == Lake(Path("/tmp/lake"))
    assert isinstance(lake_at(None), Lake)  # the local target's lake from the settings


def _duckdb():
    import duckdb

    return duckdb.connect()
