"""The hygiene steps as jobs (``adplan.jobs``): ``fn(ds, **params) -> dict`` of counts, fit for XCom.

The ``ingest_and_hygiene`` DAG runs ``hygiene.ingest`` and ``hygiene.curate`` per source and then
``hygiene.reconcile``; on the aws target the same functions run in a Glue job. Parameters:

- ``source``: the landing source (ingest, curate);
- ``selected``: "all" or a comma-separated list of sources; a source not in it is skipped, so a manual
  run can redo some sources for a date;
- ``lake``: optional lake location (``s3://bucket`` or a folder); default: the settings' lake for the
  target (``$ADPLAN_HOME/lake`` locally, ``s3://<bucket>`` on aws);
- ``contracts``, ``config``: optional locations of the contract folder and of ``hygiene.yaml``
  (local paths or ``s3://``); default: ``include/contracts`` and ``include/config/hygiene.yaml``.
"""

from __future__ import annotations

from typing import Any

from adplan.hygiene.curate import curate_source
from adplan.hygiene.ingest import ingest_source, quiet_connection
from adplan.hygiene.pipeline import read_config, read_contract
from adplan.hygiene.reconcile import reconcile_date
from adplan.hygiene.storage import as_storage
from adplan.lake import lake_at


def ingest(
    ds: str,
    source: str,
    selected: str = "all",
    lake: str | None = None,
    contracts: str | None = None,
    config: str | None = None,
) -> dict[str, Any]:
    return _run_step("ingest", ds, source, selected, lake, contracts, config)


def curate(
    ds: str,
    source: str,
    selected: str = "all",
    lake: str | None = None,
    contracts: str | None = None,
    config: str | None = None,
) -> dict[str, Any]:
    return _run_step("curate", ds, source, selected, lake, contracts, config)


def _run_step(
    step: str,
    ds: str,
    source: str,
    selected: str,
    lake: str | None,
    contracts: str | None,
    config: str | None,
) -> dict[str, Any]:
    """One source's ingest or curate step, on the lake at ``lake`` (local folder or s3://)."""
    if not is_selected(source, selected):
        return {"source": source, "dt": ds, "skipped": True}
    lake_object = lake_at(lake)
    con = quiet_connection()
    try:
        as_storage(lake_object).prepare(con)
        contract = read_contract(source, contracts, con)
        hygiene_config = read_config(config, con)
        if step == "ingest":
            return ingest_source(lake_object, contract, ds, con=con, config=hygiene_config).to_dict()
        return curate_source(lake_object, contract, ds, con=con, config=hygiene_config)
    finally:
        con.close()


def reconcile(
    ds: str, selected: str = "all", lake: str | None = None, config: str | None = None
) -> dict[str, Any]:
    """Check and combine every source ingested for the date (``selected`` only says which ran)."""
    lake_object = lake_at(lake)
    con = quiet_connection()
    try:
        as_storage(lake_object).prepare(con)
        sources = read_config(config, con).sources
        return reconcile_date(lake_object, ds, sources, con=con)
    finally:
        con.close()


def is_selected(source: str, selected: str) -> bool:
    chosen = {name.strip() for name in selected.split(",") if name.strip()}
    return not chosen or "all" in chosen or source in chosen


__all__ = ["curate", "ingest", "is_selected", "lake_at", "reconcile"]
