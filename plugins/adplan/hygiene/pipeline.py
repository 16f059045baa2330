"""One call for a whole source: ingest (validate, raw, quarantine) then curate. The Glue job calls this."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from adplan.hygiene.config import HygieneConfig, load_config, parse_config_text
from adplan.hygiene.contracts import Contract, load_contract, parse_contract_text
from adplan.hygiene.curate import curate_source
from adplan.hygiene.errors import ContractError
from adplan.hygiene.ingest import ingest_source, quiet_connection
from adplan.hygiene.storage import as_storage

if TYPE_CHECKING:
    from adplan.hygiene.storage import S3Lake
    from adplan.lake import Lake


def run_source(
    lake: Lake | S3Lake,
    source: str,
    dt: str,
    *,
    contracts: str | Path | None = None,
    config: HygieneConfig | str | Path | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
) -> dict[str, Any]:
    """Ingest and curate ``source`` for ``dt``; returns counts only (JSON-safe, fit for XCom).

    ``contracts`` is the folder of contract files (a path, or an ``s3://`` prefix on AWS; default
    ``include/contracts``); ``config`` a ``HygieneConfig`` or the location of ``hygiene.yaml``.
    """
    own_connection = con is None
    con = con or quiet_connection()
    try:
        as_storage(lake).prepare(con)
        contract = read_contract(source, contracts, con)
        settings = config if isinstance(config, HygieneConfig) else read_config(config, con)
        reconciliation = ingest_source(lake, contract, dt, con=con, config=settings)
        curated = curate_source(lake, contract, dt, con=con, config=settings)
        return {"reconciliation": reconciliation.to_dict(), "curated": curated}
    finally:
        if own_connection:
            con.close()


def read_contract(source: str, contracts: str | Path | None, con: duckdb.DuckDBPyConnection) -> Contract:
    if contracts is None or not str(contracts).startswith("s3://"):
        return load_contract(source, Path(contracts) if contracts is not None else None)
    location = f"{str(contracts).rstrip('/')}/{source}.yaml"
    contract = parse_contract_text(_read_text(location, con), location)
    if contract.source != source:
        raise ContractError(f"{location}: source is {contract.source!r}, expected {source!r}")
    return contract


def read_config(location: str | Path | None, con: duckdb.DuckDBPyConnection) -> HygieneConfig:
    if location is None or not str(location).startswith("s3://"):
        return load_config(Path(location) if location is not None else None)
    return parse_config_text(_read_text(str(location), con), str(location))


def _read_text(location: str, con: duckdb.DuckDBPyConnection) -> str:
    # DuckDB reads S3 objects itself (httpfs), so the engine needs no boto3.
    try:
        return con.execute("SELECT content FROM read_text(?)", [location]).fetchall()[0][0]
    except (duckdb.Error, IndexError):
        raise ContractError(f"cannot read {location}") from None
