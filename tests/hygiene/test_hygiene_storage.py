"""S3 storage, checked without S3: the locations it computes and the SQL it hands DuckDB."""

from __future__ import annotations

from typing import Any

import pytest

from adplan.hygiene import ContractError, S3Lake
from adplan.hygiene.pipeline import read_config, read_contract
from adplan.hygiene.storage import LocalStorage, as_storage
from adplan.lake import Lake


class RecordingConnection:
    """Stands in for DuckDB: records statements, answers queries from a dict of canned rows."""

    def __init__(self, answers: dict[str, list[tuple[Any, ...]]] | None = None) -> None:
        self.statements: list[tuple[str, list[Any] | None]] = []
        self.answers = answers or {}

    def execute(self, sql: str, parameters: list[Any] | None = None) -> RecordingConnection:
        self.statements.append((sql, parameters))
        self._rows = next((rows for key, rows in self.answers.items() if key in sql), [])
        return self

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self._rows


def test_locations() -> None:
    lake = S3Lake("s3://adplan-lake/prod/")
    assert lake.root == "s3://adplan-lake/prod"
    assert (
        lake.partition_location("raw", "raw_orders", "2024-05-01")
        == "s3://adplan-lake/prod/raw/raw_orders/dt=2024-05-01/data.parquet"
    )
    assert (
        lake.relative("s3://adplan-lake/prod/landing/orders/dt=2024-05-01/orders-00000.csv.gz")
        == "landing/orders/dt=2024-05-01/orders-00000.csv.gz"
    )
    with pytest.raises(ValueError, match="starts with s3://"):
        S3Lake("/local/path")


def test_writes_one_parquet_object_per_partition() -> None:
    con = RecordingConnection()
    location = S3Lake("s3://adplan-lake").write_partition(
        "curated", "curated_orders", "2024-05-01", "SELECT 1", con
    )  # type: ignore[arg-type]
    assert location == "s3://adplan-lake/curated/curated_orders/dt=2024-05-01/data.parquet"
    ((sql, _),) = con.statements
    assert sql.startswith(
        "COPY (SELECT 1) TO 's3://adplan-lake/curated/curated_orders/dt=2024-05-01/data.parquet' (FORMAT parquet"
    )


def test_lists_landing_files_with_duckdb_glob() -> None:
    con = RecordingConnection(
        {
            "glob": [
                ("s3://b/landing/orders/dt=2024-05-01/a.csv.gz",),
                ("s3://b/landing/orders/dt=2024-05-01/.tmp",),
            ]
        }
    )
    files = S3Lake("s3://b").landing_files("orders", "2024-05-01", con)  # type: ignore[arg-type]
    assert files == ["s3://b/landing/orders/dt=2024-05-01/a.csv.gz"]
    assert con.statements[0][1] == ["s3://b/landing/orders/dt=2024-05-01/*"]


def test_prepare_loads_httpfs_and_the_credential_chain() -> None:
    con = RecordingConnection()
    S3Lake("s3://b").prepare(con)  # type: ignore[arg-type]
    sql = " ".join(statement for statement, _ in con.statements)
    assert "LOAD httpfs" in sql
    assert "PROVIDER credential_chain" in sql


def test_contracts_and_config_are_read_from_s3_with_duckdb() -> None:
    contract_text = "source: orders\ncolumns:\n  - {name: order_id, type: integer}\n"
    con = RecordingConnection({"read_text": [(contract_text,)]})
    contract = read_contract("orders", "s3://b/config/contracts/", con)  # type: ignore[arg-type]
    assert contract.origin == "s3://b/config/contracts/orders.yaml"
    assert con.statements[-1][1] == ["s3://b/config/contracts/orders.yaml"]
    con = RecordingConnection({"read_text": [("default_region: GB\n",)]})
    assert read_config("s3://b/config/hygiene.yaml", con).default_region == "GB"  # type: ignore[arg-type]
    with pytest.raises(ContractError, match=r"cannot read s3://b/none\.yaml"):
        read_config("s3://b/none.yaml", RecordingConnection())  # type: ignore[arg-type]


def test_as_storage(tmp_path: Any) -> None:
    assert isinstance(as_storage(Lake(tmp_path)), LocalStorage)
    s3 = S3Lake("s3://b")
    assert as_storage(s3) is s3
    with pytest.raises(TypeError, match="expected a Lake or an S3Lake"):
        as_storage("s3://b")  # type: ignore[arg-type]
